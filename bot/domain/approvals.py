"""Filing, approving, rejecting, retrying, cancelling and expiring requests.

The rules live here; the request store makes each change atomic (bot.storage.requests
on Redis) and the notifier tells people. Notifications follow the state change and never decide it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from bot.domain import audit
from bot.domain.access import Action, Actor, Refusal, Target, Verdict, about, may
from bot.domain.clock import Clock
from bot.domain.community_policy import CommunityPolicy, auto_approve, escalation_due
from bot.domain.community_roles import CommunityRoles
from bot.domain.forms import AddEmployeeForm, RemoveEmployeeForm
from bot.domain.members import MembersApi, MembersApiError, NotAMember
from bot.domain.notifier import Event, Notifier
from bot.domain.policy import Policy
from bot.domain.ports import RequestStore, TransitionResult
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.roles import Role
from bot.i18n import t

log = logging.getLogger("bot.approvals")

SYSTEM = "system"
DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Decision:
    """What a click or command achieved; `reason` explains a refusal."""

    ok: bool
    request: MemberRequest | None
    reason: Refusal = Refusal.NONE
    action: Action | None = None  # what was refused, for the wording of Refusal.ROLE


class AlreadyOpen(Exception):
    """Another request for the same community and address is still open."""

    def __init__(self, request_id: str) -> None:
        super().__init__(t("{request_id} is already open for this address.", request_id=request_id))
        self.request_id = request_id


def target_of(request: MemberRequest) -> Target:
    """A request as the decision (bot.domain.access) sees it."""
    return Target(
        requester_id=request.requester_id,
        names=about(request.email),
        last_changer_id=request.changed_by,
        approver_ids=tuple(request.approver_ids),
    )


class Refused(Exception):
    """The decision refused to file this request; nothing was stored."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason.value)
        self.verdict = verdict


def new_request_id() -> str:
    # Short, unguessable, and readable over the phone to support.
    return "R" + secrets.token_hex(4).upper()


class EscalationClaims(Protocol):
    """The once-per-request escalation marker (bot.storage.escalations)."""

    def claim(self, request_id: str, at: float, audit_entry: list[str] | None = None) -> bool:
        """True for the one caller that escalates this request (`audit_entry` is written
        with the claim)."""


class RequestService:
    def __init__(
        self,
        store: RequestStore,
        policy: Policy,
        notifier: Notifier,
        environment: str,
        clock: Clock,
        *,
        community: CommunityRoles | None = None,
        escalations: EscalationClaims | None = None,
        members: MembersApi | None = None,
    ) -> None:
        """`community` (with POLICY_FILE): each community's policy and each person's roles
        in it; the decision then reads the actor's roles for the request's community, not
        the ones the Slack layer looked up for every community. `escalations` claims the
        sweep's escalations. `members` (Coolblue) is asked again at an Approve of an
        offboarding whose address was no member when last asked."""
        self.store = store
        self.policy = policy
        self.notifier = notifier
        self.environment = environment
        self.clock = clock
        self.community = community
        self.escalations = escalations
        self.members = members

    # Per community (POLICY_FILE) ---------------------------------------------------------

    def community_policy(self, community_id: str) -> CommunityPolicy | None:
        """The community's effective policy; None without POLICY_FILE (or outside it)."""
        if self.community is None:
            return None
        return self.community.book.for_community(community_id)

    def policy_of(self, community_id: str) -> Policy:
        """The numbers filing follows for this community (approvals, expiry, max credit)."""
        found = self.community_policy(community_id)
        return found.to_policy(self.policy) if found is not None else self.policy

    def scoped(self, actor: Actor, request: MemberRequest) -> Actor:
        """The actor as the decision sees them on `request`: their roles in its community
        (a delegate's stand-in manager role, an escalation approver's once escalated) and
        the absent approvers they decide for."""
        community = self.community
        if community is None:
            return actor
        if not community.book.from_file:
            # One policy everywhere: the roles the Slack layer looked up (ROLES_*) stand,
            # plus manager while standing in for an absent one (/community away).
            if Role.MANAGER in actor.roles:
                return actor
            absent = community.standing_in_for(actor.user_id, request.community_id)
            if not absent:
                return actor
            return replace(actor, roles=actor.roles | {Role.MANAGER}, for_ids=tuple(absent))
        return replace(
            actor,
            roles=community.roles_on(actor.user_id, request),
            for_ids=tuple(community.standing_in_for(actor.user_id, request.community_id)),
        )

    def scoped_for_filing(self, actor: Actor, community_id: str) -> Actor:
        """The filer's roles in the community they file for (POLICY_FILE)."""
        if self.community is None or not self.community.book.from_file:
            return actor
        return replace(actor, roles=self.community.roles_for(actor.user_id, community_id))

    # Filing ------------------------------------------------------------------

    def file_add(self, form: AddEmployeeForm, community_name: str, actor: Actor) -> MemberRequest:
        """Raises Refused when the table refuses the filer (e.g. a request about themself)."""
        requester_id = self._may_file(actor, form.email, form.community_id)
        request = self._new(
            Operation.ADD,
            form.community_id,
            community_name,
            form.email,
            requester_id,
            first_name=form.first_name,
            last_name=form.last_name,
            credit=form.credit,
            external_reference=form.external_reference,
            note=form.note,
            due_at=self._due(Operation.ADD, form.start_date),
        )
        return self._file(request)

    def file_remove(
        self, form: RemoveEmployeeForm, community_name: str, actor: Actor
    ) -> MemberRequest:
        requester_id = self._may_file(actor, form.email, form.community_id)
        request = self._new(
            Operation.REMOVE,
            form.community_id,
            community_name,
            form.email,
            requester_id,
            reason=form.reason,
            due_at=self._due(Operation.REMOVE, form.last_day),
        )
        return self._file(request)

    def _may_file(self, actor: Actor, email: str, community_id: str) -> str:
        actor = self.scoped_for_filing(actor, community_id)
        verdict = may(Action.FILE, actor, Target(requester_id=actor.user_id, names=about(email)))
        if not verdict.allowed:
            raise Refused(verdict)
        return actor.user_id

    def _due(self, operation: Operation, day: date | None) -> float:
        return 0.0 if day is None else self.policy.schedule.due_at(operation, day)

    def _new(
        self,
        operation: Operation,
        community_id: str,
        community_name: str,
        email: str,
        requester_id: str,
        due_at: float = 0.0,
        **details: str | Decimal,
    ) -> MemberRequest:
        now = self.clock.now()
        policy = self.policy_of(community_id)
        required = policy.approvals_required(operation)
        at_once = Status.SCHEDULED if due_at > now else Status.APPROVED
        found = self.community_policy(community_id)
        credit = details.get("credit")
        rule = (
            auto_approve(found, operation, credit if isinstance(credit, Decimal) else None)
            if found is not None
            else None
        )
        if rule is not None:  # approved by policy: recorded as such (audit, message)
            required = 0
            details = {**details, "decision_reason": f"rule {rule}"}
        return MemberRequest(
            id=new_request_id(),
            operation=operation,
            community_id=community_id,
            community_name=community_name,
            email=email,
            requester_id=requester_id,
            created_at=now,
            updated_at=now,
            expires_at=now + policy.expiry_seconds,
            approvals_required=required,
            environment=self.environment,
            status=Status.PENDING if required else at_once,
            due_at=due_at,
            decided_by=SYSTEM if not required else "",
            decided_at=now if not required else 0,
            rounds=0 if required else 1,
            **details,  # type: ignore[arg-type]
        )

    def _file(self, request: MemberRequest) -> MemberRequest:
        """Store the request (the caller acknowledges Slack only after this succeeds, so a
        failure keeps the user's input), then `publish_filed` tells people."""
        detail = "no approval required by policy"  # i18n: recorded
        if request.approvals_required:
            detail = ""
        if not request.approvals_required and request.decision_reason:
            detail = f"approved by policy ({request.decision_reason})"  # i18n: recorded
        holder = self.store.create(
            request,
            audit.entry(request, "filed", request.requester_id, detail=detail),
            enqueue=request.status is Status.APPROVED,
        )
        if holder is not None:
            raise AlreadyOpen(holder)
        log.info("request %s filed (%s)", request.id, request.operation)
        return request

    def publish_filed(self, request: MemberRequest) -> None:
        self._safely(self.notifier.publish_filed, request)

    # Decisions ---------------------------------------------------------------

    def _refused(self, action: Action, request_id: str, actor: Actor) -> Decision | None:
        """The table's refusal of this actor, or None when the actor may (the store still
        checks the state, atomically)."""
        request = self.store.get(request_id)
        if request is None:
            return Decision(False, None, Refusal.MISSING, action)
        verdict = may(action, self.scoped(actor, request), target_of(request))
        if not verdict.allowed:
            return Decision(False, request, verdict.reason, action)
        return None

    def verdict(self, action: Action, request: MemberRequest, actor: Actor) -> Verdict:
        """The table's verdict, for a list deciding which requests and buttons to show."""
        return may(action, self.scoped(actor, request), target_of(request))

    def for_whom(self, actor: Actor, request: MemberRequest) -> str:
        """The audit's detail for a delegate: "for <absent>" (empty for anyone else)."""
        absent = self.scoped(actor, request).for_ids
        return "for " + ", ".join(absent) if absent else ""

    def check(self, action: Action, request_id: str, actor: Actor) -> Decision:
        """May the actor do this now? (For a surface that asks before opening a modal; the
        submission asks again.)"""
        return self._refused(action, request_id, actor) or Decision(
            True, self.store.get(request_id), action=action
        )

    def approve(self, request_id: str, actor: Actor) -> Decision:
        refused = self._refused(Action.APPROVE, request_id, actor)
        if refused is not None:
            return refused
        request = self.store.get(request_id)
        assert request is not None
        if self._still_not_a_member(request):
            return Decision(False, request, Refusal.NOT_A_MEMBER)
        approver_id = actor.user_id
        result = self.store.approve(
            request_id,
            approver_id,
            audit.entry(request, "approved", approver_id, detail=self.for_whom(actor, request)),
            expiry_entry=audit.entry(request, "expired", SYSTEM),
        )
        if result.outcome == "expired":  # found past its lifetime at the click
            self.announce(request_id, Event.EXPIRED)
            return Decision(False, self.store.get(request_id), Refusal.CONFLICT)
        if not result.ok:
            return Decision(False, self.store.get(request_id), Refusal(result.outcome))
        recorded = result.outcome == "partial"  # more approvals needed
        event = Event.APPROVAL_RECORDED if recorded else Event.APPROVED
        return self.announce(request_id, event)

    def _still_not_a_member(self, request: MemberRequest) -> bool:
        """An offboarding of an address Coolblue knew as no member when last asked cannot
        succeed: Coolblue is asked again at the click, so one who joined meanwhile is
        offboarded. Coolblue unreachable: the approval goes on (carrying it out looks again)."""
        if (
            request.operation is not Operation.REMOVE
            or not request.not_a_member
            or request.status is not Status.PENDING
            or self.members is None
        ):
            return False
        try:
            self.members.get_remaining_credit(request.community_id, request.email)
        except NotAMember:
            return True
        except MembersApiError as exc:
            log.info("request %s: membership not checked at Approve: %s", request.id, exc)
            return False
        self.store.set_fields(request.id, not_a_member="0")  # joined meanwhile
        return False

    def reject(
        self, request_id: str, actor: Actor, reason: str, *, announce: bool = True
    ) -> Decision:
        refused = self._refused(Action.REJECT, request_id, actor)
        if refused is not None:
            return refused
        request = self.store.get(request_id)
        assert request is not None
        user_id = actor.user_id
        result = self.store.transition(
            request_id,
            allowed={Status.PENDING},
            to=Status.REJECTED,
            updates={
                "decided_by": user_id,
                "decided_at": repr(self.clock.now()),
                "decision_reason": reason,
            },
            audit_entry=audit.entry(
                request,
                "rejected",
                user_id,
                detail="; ".join(x for x in (self.for_whom(actor, request), reason) if x),
            ),
        )
        if not announce and result.ok:
            return Decision(True, self.store.get(request_id))
        return self._after(request_id, Event.REJECTED, result)

    def cancel(self, request_id: str, actor: Actor) -> Decision:
        """The requester may cancel until it runs; a manager may cancel a scheduled change
        (bot.domain.access says who; this says when)."""
        refused = self._refused(Action.CANCEL, request_id, actor)
        if refused is not None:
            return refused
        request = self.store.get(request_id)
        assert request is not None
        user_id = actor.user_id
        if user_id == request.requester_id:
            allowed = {Status.PENDING, Status.SCHEDULED}
        else:
            allowed = {Status.SCHEDULED}
        result = self.store.transition(
            request_id,
            allowed=allowed,
            to=Status.CANCELLED,
            updates={"decided_by": user_id, "decided_at": repr(self.clock.now())},
            audit_entry=audit.entry(request, "cancelled", user_id),
        )
        return self._after(request_id, Event.CANCELLED, result)

    def change_date(
        self,
        request_id: str,
        actor: Actor,
        day: date,
        *,
        announce: bool = True,
    ) -> Decision:
        """Move a scheduled change (the requester or a manager). A date that only shortens
        the time the employee holds credit (a later onboarding, an earlier offboarding)
        keeps the approval: less money is at stake than was approved. Any other move asks
        for a new approval, since it gives credit sooner or keeps it longer."""
        refused = self._refused(Action.CHANGE_DATE, request_id, actor)
        if refused is not None:
            return refused
        request = self.store.get(request_id)
        assert request is not None
        user_id = actor.user_id
        due_at = self.policy.schedule.due_at(request.operation, day)
        shorter = (
            due_at >= request.due_at
            if request.operation is Operation.ADD
            else due_at <= request.due_at
        )
        now = self.clock.now()
        detail = f"new date {day.isoformat()}"  # i18n: recorded
        if not shorter:
            detail += "; needs a new approval"  # i18n: recorded
        updates = {"due_at": repr(due_at), "due_reminded": "0", "changed_by": user_id}
        if not shorter:
            updates |= {"approvals": "[]", "decided_by": "", "decided_at": "0", "rounds": "0",
                        "expires_at": repr(now + self.policy.expiry_seconds)}  # fmt: skip
        result = self.store.transition(
            request_id,
            allowed={Status.SCHEDULED},
            to=Status.SCHEDULED if shorter else Status.PENDING,
            updates=updates,
            audit_entry=audit.entry(request, "date_changed", user_id, detail=detail),
        )
        if not announce and result.ok:
            return Decision(True, self.store.get(request_id))
        return self._after(request_id, Event.DATE_CHANGED, result)

    def retry(self, request_id: str, actor: Actor) -> Decision:
        refused = self._refused(Action.RETRY, request_id, actor)
        if refused is not None:
            return refused
        request = self.store.get(request_id)
        assert request is not None
        user_id = actor.user_id
        result = self.store.transition(
            request_id,
            allowed={Status.FAILED},
            to=Status.APPROVED,
            enqueue=True,
            updates={
                "outcome": "",
                "decided_by": request.decided_by or user_id,
                "rounds": str(request.rounds + 1),
            },
            audit_entry=audit.entry(request, "retried", user_id),
        )
        return self._after(request_id, Event.RETRIED, result)

    def _after(self, request_id: str, event: Event, result: TransitionResult) -> Decision:
        if not result.ok:
            return Decision(False, self.store.get(request_id), Refusal(result.outcome))
        return self.announce(request_id, event)

    def announce(self, request_id: str, event: Event) -> Decision:
        """Tell people about a change already made. The notifier reads the request itself,
        under its lock, so it renders the latest state."""
        self._safely(self.notifier.request_changed, request_id, event)
        return Decision(True, None)

    def announce_outcome(self, request_id: str, event: Event, *, wait: float = 3.0) -> None:
        """Done or failed: told after this round's approval (or Retry) was, so the requester
        hears the steps in order. A worker can finish before the click that approved has
        told anyone; it waits for that, at most `wait` seconds."""
        deadline = time.monotonic() + wait
        while not self.store.round_announced(request_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.announce(request_id, event)

    # Time passing ------------------------------------------------------------

    def sweep(self, now: float | None = None) -> tuple[int, int]:
        """Expire requests past their time and remind approvers once. Returns counts."""
        now = self.clock.now() if now is None else now
        expired = reminded = 0
        due = self.store.pending_created_before(now - self._soonest_reminder())
        for request in self.store.get_many(due):
            remind_at = request.created_at + self.policy_of(request.community_id).reminder_seconds
            if now < request.expires_at and now < remind_at:
                continue  # its community reminds later (POLICY_FILE's reminder_hours)
            if now >= request.expires_at:
                result = self.store.transition(
                    request.id,
                    allowed={Status.PENDING},
                    to=Status.EXPIRED,
                    updates={"decided_by": SYSTEM, "decided_at": repr(now)},
                    audit_entry=audit.entry(request, "expired", SYSTEM),
                )
                if result.ok:
                    expired += 1
                    self.announce(request.id, Event.EXPIRED)
            elif not request.reminded:
                self.store.set_fields(request.id, reminded="1")
                reminded += 1
                self._safely(self.notifier.remind, request)
        reminded += self._remind_due(now)
        escalated = self._escalate(now)
        if escalated:
            log.info("escalated %d request(s)", escalated)
        self.store.forget_before(now - self.policy.retention_seconds)
        return expired, reminded

    def _soonest_reminder(self) -> float:
        """The shortest reminder time of any community (the sweep's look-back)."""
        found = [self.policy.reminder_seconds]
        if self.community is not None and self.community.book.from_file:
            found += [p.reminder_seconds for p in self.community.book.communities.values()]
        return min(found)

    def _escalate(self, now: float) -> int:
        """Escalate each request undecided for its community's `escalate_after_hours`, once
        (the claim marks it; several sweepers escalate it exactly once). Not a change of the
        request: `changed_by` stays, so nobody is refused as its last changer."""
        if self.community is None or self.escalations is None:
            return 0
        book = self.community.book
        hours = [
            found.escalate_after_hours
            for found in book.communities.values()
            if found.escalates and found.escalate_after_hours is not None
        ]
        if not hours:
            return 0
        count = 0
        due = self.store.pending_created_before(now - min(hours) * 3600)
        for request in self.store.get_many(due):
            found = book.for_community(request.community_id)
            if found is None or not escalation_due(found, request, now):
                continue
            approvers = sorted(self.community.escalation_approvers(request.community_id))
            entry = audit.entry(request, "escalated", SYSTEM, detail="to " + ", ".join(approvers))
            if not self.escalations.claim(request.id, now, entry):
                continue  # another sweeper escalated it
            count += 1
            self._safely(self.notifier.escalate, request, approvers, found.escalate_channel)
        return count

    def _remind_due(self, now: float) -> int:
        """On the day before a scheduled offboarding's last day, tell the requester (once)."""
        count = 0
        schedule = self.policy.schedule
        today = schedule.today(now)
        soon = self.store.scheduled_ids(due_before=now + 2 * DAY_SECONDS, limit=500)
        for request in self.store.get_many(soon):
            last_day = schedule.local(request.due_at).date()
            if (
                request.operation is Operation.REMOVE
                and not request.due_reminded
                and today >= last_day - timedelta(days=1)
            ):
                self.store.set_fields(request.id, due_reminded="1")
                count += 1
                self._safely(self.notifier.remind_due, request)
        return count

    @staticmethod
    def _safely(call: Callable[..., None], subject: MemberRequest | str, *args: object) -> None:
        # The state change is done and durable; a failed notification must not undo
        # it or hide it from the caller. It is logged for the on-call engineer.
        try:
            call(subject, *args)
        except Exception:
            request_id = subject if isinstance(subject, str) else subject.id
            log.exception("notification failed for request %s", request_id)
