"""Carrying out one approved request: the API call(s) and the outcome it records.

The worker (bot.runtime.worker) takes requests from the durable work queue and calls
`carry_out`; this module holds the rules that make it safe: one attempt counted per
execution, and never a blind second create after an ambiguous one.

The outcome is recorded once, in English (the request's hash, the audit trail), whoever
reads it later: the fixed outcomes are marked with N_, so what shows one to a person shows
`t(outcome)` in the reader's language (a recorded outcome that carries values, such as
Coolblue's own words, shows as recorded).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from bot.domain import audit
from bot.domain.members import (
    CreateOutcomeUnknown,
    MembersApi,
    MembersApiError,
    NewMember,
    NotAMember,
)
from bot.domain.notifier import Event
from bot.domain.ports import RequestStore
from bot.domain.requests import MemberRequest, Operation, Status
from bot.i18n import N_

log = logging.getLogger("bot.worker")

CREATE_TRIES = 3
LATE_AFTER = 60.0  # a scheduled change carried out this much after its time says so


@dataclass(frozen=True)
class Outcome:
    done: bool
    message: str
    correlation_id: str = ""
    credit: Decimal | None = None
    ambiguous: bool = False  # Coolblue may have applied it: the next attempt checks first
    not_a_member: bool = False  # an offboarding of an address that is no member: no Retry


def perform(request: MemberRequest, api: MembersApi, *, check_first: bool) -> Outcome:
    """Make the API call(s) for one request. Never creates blindly after an ambiguity."""
    correlation_id = str(uuid.uuid4())
    try:
        if request.operation is Operation.ADD:
            return _add(request, api, check_first, correlation_id)
        return _remove(request, api, check_first, correlation_id)
    except CreateOutcomeUnknown as exc:
        return Outcome(False, exc.message, exc.correlation_id or correlation_id, ambiguous=True)
    except MembersApiError as exc:
        return Outcome(False, exc.message, exc.correlation_id or correlation_id)


def _add(
    request: MemberRequest, api: MembersApi, check_first: bool, correlation_id: str
) -> Outcome:
    member = NewMember(
        email=request.email,
        first_name=request.first_name,
        last_name=request.last_name,
        credit=request.credit or Decimal("0"),
        external_reference=request.external_reference or None,
    )
    ambiguity: CreateOutcomeUnknown | None = None
    for _ in range(CREATE_TRIES):
        if check_first:
            try:
                found = api.get_remaining_credit(
                    request.community_id, request.email, correlation_id=correlation_id
                )
                return Outcome(
                    True,
                    N_("The member already existed from an earlier attempt; not created again."),
                    found.correlation_id,
                    found.remaining_credit,
                )
            except NotAMember:
                pass
            except MembersApiError as exc:
                if ambiguity is None:
                    raise
                # The check after an ambiguous create failed too: still unknown, so the
                # next attempt (a Retry) must check first as well.
                raise CreateOutcomeUnknown(
                    f"{ambiguity.message} Checking whether the member exists failed too: "
                    f"{exc.message}",  # i18n: recorded
                    correlation_id=exc.correlation_id or ambiguity.correlation_id,
                ) from exc
        try:
            created = api.create_member(request.community_id, member, correlation_id=correlation_id)
            return Outcome(
                True, N_("Member created."), created.correlation_id, created.remaining_credit
            )
        except CreateOutcomeUnknown as exc:
            ambiguity, check_first = exc, True
    assert ambiguity is not None
    return Outcome(
        False,
        ambiguity.message + " Retry first checks whether the member exists.",  # i18n: recorded
        ambiguity.correlation_id or correlation_id,
        ambiguous=True,
    )


def _remove(
    request: MemberRequest, api: MembersApi, check_first: bool, correlation_id: str
) -> Outcome:
    try:
        removed = api.delete_member(
            request.community_id, request.email, correlation_id=correlation_id
        )
    except NotAMember as exc:
        if check_first:  # an earlier attempt may have removed the member already
            return Outcome(
                True,
                N_("The member was already removed by an earlier attempt."),
                exc.correlation_id or correlation_id,
            )
        return Outcome(
            False,
            _not_a_member(request.email, request.community_name or request.community_id),
            exc.correlation_id or correlation_id,
            not_a_member=True,
        )
    return Outcome(True, N_("Member removed."), removed.correlation_id, removed.revoked_credit)


@dataclass(frozen=True)
class Finished:
    """A request the worker is through with; `event` is what people must still be told."""

    event: Event | None


def carry_out(
    store: RequestStore,
    api: MembersApi,
    request_id: str,
    actor: str,
    still_ours: Callable[[], bool] = lambda: True,
) -> Finished:
    """Execute one request the caller holds the lease of, and record the outcome.
    `still_ours` is asked just before Coolblue is called: a worker whose lease was taken
    over (it stalled past the claim time) leaves the request to the new holder."""
    request = store.get(request_id)
    if request is None:
        return Finished(None)
    if request.status in {Status.DONE, Status.FAILED}:
        # A worker died after recording the outcome but before telling anyone.
        return Finished(Event.DONE if request.status is Status.DONE else Event.FAILED)
    if request.status not in {Status.APPROVED, Status.EXECUTING}:
        return Finished(None)
    # Only an earlier attempt whose effect is unknown makes us check before acting: one
    # that was cut off (still `executing`: its worker died or lost the lease mid-call) or
    # one that ended ambiguously. A plain refusal (409 already a member) proves nothing.
    interrupted = request.status is Status.EXECUTING
    started = store.transition(
        request_id,
        allowed={Status.APPROVED, Status.EXECUTING},
        to=Status.EXECUTING,
        count_attempt=True,
        updates={"ambiguous": "1"} if interrupted else {},
        audit_entry=audit.entry(request, "execution_started", actor),
    )
    if not started.ok or not still_ours():
        return Finished(None)
    outcome = perform(request, api, check_first=interrupted or request.ambiguous)
    return _record(store, request, outcome, actor)


def _record(store: RequestStore, request: MemberRequest, outcome: Outcome, actor: str) -> Finished:
    to = Status.DONE if outcome.done else Status.FAILED
    message = outcome.message
    if request.ran_late >= LATE_AFTER:
        late = _duration(request.ran_late)
        message += f" It ran {late} late: no worker was running when it was due."  # i18n: recorded
    updates = {
        "outcome": message,
        "correlation_id": outcome.correlation_id,
        "result_credit": str(outcome.credit) if outcome.credit is not None else "",
    }
    if outcome.ambiguous:
        updates["ambiguous"] = "1"
    updates["not_a_member"] = "1" if outcome.not_a_member else "0"
    result = store.transition(
        request.id,
        allowed={Status.EXECUTING},
        to=to,
        updates=updates,
        audit_entry=audit.entry(
            request, to.value, actor, detail=message, correlation_id=outcome.correlation_id
        ),
    )
    log.info("request %s %s (correlation %s)", request.id, to, outcome.correlation_id)
    if not result.ok:
        return Finished(None)
    return Finished(Event.DONE if outcome.done else Event.FAILED)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"


def _not_a_member(email: str, community: str) -> str:
    return (
        f"{email} is not a member of {community}: there is no credit to revoke. "  # i18n: recorded
        "If they join later, file a new offboarding."  # i18n: recorded
    )
