"""Workflow Builder steps (PRODUCT.md section 11): a workflow files an ordinary request.

A step's execution arrives once (Slack's `function_executed` event); `receive` keeps it in
the step store before Slack is answered, so a process that dies after the answer loses
nothing: the sweep files what was received and never filed. `file` is the one call that
files a step's request: the same role check, validation and filing as the Add and Remove
modals (bot.domain.forms, RequestService.file_add / file_remove). A refusal fails the step
with the words the modal shows on that field.

The step completes once its request is final: `request_changed` is told of every change
(where people are told, in whichever process made it) and the sweep retries what a failed
completion left open. One completion per execution: a short claim in the store, taken
before Slack is asked and kept (as "finished") once Slack answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from bot.domain.access import Action, Actor, Refusal, Target, may
from bot.domain.approvals import SYSTEM, AlreadyOpen, Refused, RequestService
from bot.domain.clock import Clock
from bot.domain.forms import (
    AddEmployeeForm,
    DateCheck,
    FieldErrors,
    RemoveEmployeeForm,
    parse_add_form,
    parse_remove_form,
)
from bot.domain.policy import Policy
from bot.domain.ports import RequestStore
from bot.domain.requests import MemberRequest, Operation, Status
from bot.i18n import N_, t, use

log = logging.getLogger("bot.steps")

ONBOARD = "onboard_employee"
OFFBOARD = "offboard_employee"
STEPS = {ONBOARD: Operation.ADD, OFFBOARD: Operation.REMOVE}

# The statuses a step completes with (PRODUCT.md section 11). `failed` is final for the
# step: a manager's Retry later changes the request, not the workflow that already went on.
FINAL = frozenset({Status.DONE, Status.REJECTED, Status.EXPIRED, Status.CANCELLED, Status.FAILED})

# The modal's field labels, so a refusal names the field as the modal does.
LABELS = {
    "community_id": N_("Community"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "email": N_("E-mail"),
    "credit": N_("Credit in euros"),
    "note": N_("Note to the approver"),
    "start_date": N_("Credit available from"),
    "reason": N_("Reason"),
    "last_day": N_("Last working day"),
    "requester": N_("Requested by"),
}
FIELDS = {
    ONBOARD: ("community_id", "first_name", "last_name", "email", "credit", "note", "start_date"),
    OFFBOARD: ("community_id", "email", "reason", "last_day"),
}

# The modal's words (bot.slack.listeners.views.request_submission shows the same), marked
# with N_ and translated where a StepRefusal is made, in the requester's language.
NOT_HR = N_("Only HR may file requests. Ask an admin for the role.")
ROLE_UNKNOWN = N_("Couldn't check your role with Slack just now; nothing was filed. Try again.")
OWN_ADDRESS = N_("This is your own address; someone else has to file a request about you.")
EMAIL_UNKNOWN = N_(
    "Slack did not tell me your e-mail address just now, so I cannot check that this "
    "request is not about you. Nothing was filed; run it again in a moment."
)
NO_REQUESTER = N_("The step needs the person the request is filed for (a Slack user).")
NO_COMMUNITIES = N_("Couldn't load the communities from Coolblue; nothing was filed. Run it again.")

CLAIM_SECONDS = 60.0  # a completion under way; another process may try once it lapses
STALE_SECONDS = 30.0  # received this long ago and never filed: the sweep files it


@dataclass
class StepExecution:
    """One run of a step in a workflow, as the store keeps it."""

    execution_id: str
    function: str
    received_at: float
    inputs: dict[str, str] = field(default_factory=dict)  # dropped once filed
    state: str = "received"  # received | filed | finished
    request_id: str = ""
    outcome: str = ""  # finished: completed | failed | gone (Slack no longer has it)


@dataclass(frozen=True)
class StepRefusal:
    """Why a step filed nothing: the field and the modal's words for it."""

    field: str
    message: str

    @property
    def error(self) -> str:
        label = LABELS.get(self.field)
        return t(
            "{label}: {message}", label=t(label) if label else self.field, message=self.message
        )


class StepStore(Protocol):
    def receive(self, execution: StepExecution, look_at: float) -> bool:
        """Keep an execution the first time it arrives, for the sweep to look at from
        `look_at` on; False when it was already known."""

    def get(self, execution_id: str) -> StepExecution | None: ...

    def link(self, execution_id: str, request_id: str) -> None:
        """The execution filed this request (its inputs are dropped: the request has them)."""

    def execution_of(self, request_id: str) -> str | None: ...

    def claim(self, execution_id: str, seconds: float) -> bool:
        """Take the execution for one completion attempt; False while another holds it."""

    def release(self, execution_id: str) -> None: ...

    def finish(self, execution_id: str, outcome: str) -> None:
        """Slack answered: the execution is done with, for good."""

    def unfinished(self, due_before: float, limit: int = 100) -> list[str]:
        """Executions not finished whose time to look at them again has come, oldest first."""

    def postpone(self, execution_id: str, look_at: float) -> None:
        """Look at an unfinished execution again from `look_at` on (the sweep rotates)."""

    def forget(self, execution_id: str) -> None:
        """Drop an execution the store no longer has from the unfinished ones."""


class StepCompleter(Protocol):
    """functions.completeSuccess / completeError with the bot token; each returns "" or
    Slack's error code."""

    def complete(self, execution_id: str, outputs: dict[str, Any]) -> str: ...

    def fail(self, execution_id: str, error: str) -> str: ...


# Slack's answers meaning the execution can no longer be completed: stop trying.
GONE = frozenset({"execution_not_in_running_state", "function_execution_not_found"})

# The person a step files for, as bot.domain.access decides on them (their roles for the
# community, their e-mail address), or None when it cannot be told now (Slack did not answer).
ActorOf = Callable[[str, str], Actor | None]


class StepService:
    def __init__(
        self,
        steps: StepStore,
        requests: RequestService,
        completer: StepCompleter,
        *,
        actor_of: ActorOf,
        communities: Callable[[], dict[str, str]],
        policy: Policy,
        clock: Clock,
        locale_of: Callable[[str], str] = lambda _user_id: "",
    ) -> None:
        self.steps = steps
        self.locale_of = locale_of  # a Slack user's locale: a refusal is in their language
        self.requests = requests
        self.completer = completer
        self.actor_of = actor_of
        self.communities = communities
        self.policy = policy
        self.clock = clock

    @property
    def store(self) -> RequestStore:
        return self.requests.store

    # Receiving and filing -----------------------------------------------------------------

    def receive(self, execution_id: str, function: str, inputs: Mapping[str, Any]) -> bool:
        """Keep the execution (before Slack is answered); False for a redelivery."""
        text = {key: _text(value) for key, value in inputs.items() if value is not None}
        now = self.clock.now()
        execution = StepExecution(execution_id, function, now, text)
        return self.steps.receive(execution, look_at=now + STALE_SECONDS)

    def file(self, execution_id: str) -> MemberRequest | StepRefusal | None:
        """File the execution's request, or fail the step with the modal's words. None when
        there is nothing (more) to do: unknown, already filed, or another process is on it."""
        execution = self.steps.get(execution_id)
        if execution is None or execution.state != "received":
            return None
        if not self.steps.claim(execution_id, CLAIM_SECONDS):
            return None
        execution = self.steps.get(execution_id)  # as it is now that this process holds it
        if execution is None or execution.state != "received":
            self.steps.release(execution_id)
            return None
        requester = execution.inputs.get("requester", "").strip()
        try:
            with use(self.locale_of(requester) if requester else None):
                outcome = self._file(execution)
                error = outcome.error if isinstance(outcome, StepRefusal) else ""
        except Exception:
            self.steps.release(execution_id)  # Redis or Coolblue trouble: the sweep retries
            raise
        if isinstance(outcome, StepRefusal):
            self._fail(execution_id, error)
            return outcome
        self.steps.link(execution_id, outcome.id)
        self.steps.release(execution_id)
        log.info("step %s filed request %s", execution_id, outcome.id)
        self.requests.publish_filed(outcome)
        self.request_changed(outcome.id)  # filed already final (policy: no approval, done)
        return outcome

    def _file(self, execution: StepExecution) -> MemberRequest | StepRefusal:
        operation = STEPS.get(execution.function)
        if operation is None:
            return StepRefusal("function", t("Unknown step {name}.", name=repr(execution.function)))
        inputs = execution.inputs
        requester = inputs.get("requester", "").strip()
        if not requester:
            return StepRefusal("requester", t(NO_REQUESTER))
        community_id = inputs.get("community_id", "")
        actor = self.actor_of(requester, community_id)
        if actor is None:
            return StepRefusal("community_id", t(ROLE_UNKNOWN))
        # The role first, as the modal (which only opens for hr) does; the full decision,
        # with the address, when the request is filed.
        verdict = may(Action.FILE, actor, Target(requester, names=lambda _: False))
        if not verdict.allowed:
            return _refused(verdict.reason)
        try:
            communities = self.communities()
        except Exception as exc:
            log.warning("step %s: no community list: %s", execution.execution_id, type(exc))
            return StepRefusal("community_id", t(NO_COMMUNITIES))
        raw: dict[str, str | None] = {
            name: inputs.get(name, "") for name in FIELDS[execution.function]
        }
        dates = DateCheck(self.policy.schedule, self.clock.now())
        form: AddEmployeeForm | RemoveEmployeeForm | FieldErrors
        if operation is Operation.ADD:
            form = parse_add_form(
                raw, max_credit=self.policy.max_credit, communities=set(communities), dates=dates
            )
        else:
            form = parse_remove_form(raw, communities=set(communities), dates=dates)
        if isinstance(form, dict):
            name = next(n for n in (*FIELDS[execution.function], *form) if n in form)
            return StepRefusal(name, form[name])
        name = communities[form.community_id]
        try:
            if isinstance(form, AddEmployeeForm):
                return self.requests.file_add(form, name, actor)
            return self.requests.file_remove(form, name, actor)
        except Refused as exc:
            return _refused(exc.verdict.reason)
        except AlreadyOpen as exc:
            return self._adopt(execution, requester, exc) or StepRefusal("email", str(exc))

    def _adopt(
        self, execution: StepExecution, requester: str, exc: AlreadyOpen
    ) -> MemberRequest | None:
        """The open request this very execution filed before its process died (before it
        could link it): same requester, filed since the execution arrived, no step of its own."""
        holder = self.store.get(exc.request_id)
        if (
            holder is not None
            and holder.requester_id == requester
            and holder.created_at >= execution.received_at
            and self.steps.execution_of(holder.id) is None
        ):
            return holder
        return None

    # Completing -----------------------------------------------------------------------------

    def request_changed(self, request_id: str) -> None:
        """Told of every change of a request; completes its step once it is final."""
        execution_id = self.steps.execution_of(request_id)
        if execution_id is None:
            return
        request = self.store.get(request_id)
        if request is None or request.status not in FINAL:
            return
        execution = self.steps.get(execution_id)
        if execution is None or execution.state == "finished":
            return
        if not self.steps.claim(execution_id, CLAIM_SECONDS):
            return  # another process is completing it
        try:
            if (again := self.steps.get(execution_id)) is None or again.state == "finished":
                return
            error = self.completer.complete(execution_id, outputs(request))
        except Exception:
            self.steps.release(execution_id)
            raise
        self._settle(execution_id, error, "completed")

    def _fail(self, execution_id: str, message: str) -> None:
        try:
            error = self.completer.fail(execution_id, message)
        except Exception:
            self.steps.release(execution_id)
            raise
        self._settle(execution_id, error, "failed")

    def _settle(self, execution_id: str, error: str, outcome: str) -> None:
        if not error:
            self.steps.finish(execution_id, outcome)
            log.info("step %s %s", execution_id, outcome)
        elif error in GONE:
            log.warning("step %s could not be told (%s); dropped", execution_id, error)
            self.steps.finish(execution_id, "gone")
        else:  # Slack refused for now (rate limit, outage): the sweep tries again
            log.warning("step %s not completed: %s", execution_id, error)
            self.steps.release(execution_id)

    def sweep(self) -> int:
        """File what was received and never filed (its process died after answering Slack),
        and complete what a failed completion left open. Returns how many it moved on."""
        moved, now = 0, self.clock.now()
        for execution_id in self.steps.unfinished(now):
            execution = self.steps.get(execution_id)
            if execution is None or execution.state == "finished":  # nothing left to do
                self.steps.forget(execution_id)
                continue
            try:
                if execution.state == "received":
                    moved += self.file(execution_id) is not None
                elif execution.state == "filed":
                    self.request_changed(execution.request_id)
                    after = self.steps.get(execution_id)
                    moved += after is not None and after.state == "finished"
                if (after := self.steps.get(execution_id)) and after.state != "finished":
                    self.steps.postpone(execution_id, now + STALE_SECONDS)  # still waiting
            except Exception:
                log.exception("step %s: sweep failed", execution_id)
        return moved


def outputs(request: MemberRequest) -> dict[str, Any]:
    """The step's outputs for a final request (manifest.yml declares them)."""
    status = request.status
    out: dict[str, Any] = {"request_id": request.id, "status": status.value}
    decider = request.decided_by.split(",")[-1].strip()
    if decider and decider != SYSTEM:
        out["decided_by"] = decider
    if request.operation is Operation.ADD and status is Status.DONE:
        out["remaining_credit_eur"] = _euros(request.result_credit or request.credit)
    return out


def _euros(amount: Decimal | None) -> str:
    return f"{(amount or Decimal(0)).quantize(Decimal('0.01'))}"


def _text(value: Any) -> str:
    """An input as the modal would have it: text; a date as ISO; a number as typed."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _refused(reason: Refusal) -> StepRefusal:
    """A filing bot.domain.access refused, in the Add/Remove modal's words, on its field."""
    if reason is Refusal.EMPLOYEE:
        return StepRefusal("email", t(OWN_ADDRESS))
    if reason is Refusal.EMAIL_UNKNOWN:
        return StepRefusal("email", t(EMAIL_UNKNOWN))
    return StepRefusal("community_id", t(NOT_HR))
