"""Bulk onboarding and offboarding: a whole CSV file as one request, an *import*.

    pending → approved → executing → done | stopped
    pending → rejected | expired | cancelled (by its requester)

The approver decides the file as a whole (the add or remove policy, at least
IMPORT_APPROVALS_REQUIRED approvals); neither the requester nor anyone the file names may
decide it. Each valid row is then a durable unit of its own, a MemberRequest stored beside
the single requests (so it holds the open-request claim of its address, keys.open_request,
exactly as a single request does) and carried out with the single request's rules
(bot.domain.execution.perform): one attempt counted per execution, a row cut off mid-call
is checked before anything is created again, a 429 puts the row back rather than failing
it. Invalid rows are never carried out.

The store (bot.storage.imports) makes every change atomic; the runner
(bot.runtime.import_runner) spreads the rows over the workers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Protocol

from bot.domain import audit
from bot.domain.access import Action, Actor, Refusal, Target, about, may
from bot.domain.execution import perform
from bot.domain.forms import AddEmployeeForm, RemoveEmployeeForm
from bot.domain.imports import ImportFile, InvalidRow, ValidRow, whole_number
from bot.domain.mailbox import mailbox
from bot.domain.members import (
    AlreadyAMember,
    CreateOutcomeUnknown,
    MembersApi,
    MembersApiError,
    NewMember,
    NotAMember,
    RemainingCredit,
    RevokedCredit,
)
from bot.domain.money import format_euros
from bot.domain.policy import Policy
from bot.domain.requests import Approval, MemberRequest, Operation, Status
from bot.domain.roles import Role
from bot.i18n import N_, t

log = logging.getLogger("bot.imports")

SYSTEM = "system"
RATE_LIMITED = 429
PEOPLE_INLINE = 5  # accepted rows named in the approval message itself
MAX_ROW_ATTEMPTS = 20  # a row Coolblue keeps rate-limiting fails after this many tries


class ImportStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # rows queued, none started yet
    EXECUTING = "executing"
    DONE = "done"
    STOPPED = "stopped"  # no new row starts; rows already started finish
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_running(self) -> bool:
        return self in (ImportStatus.APPROVED, ImportStatus.EXECUTING)


class RowResult(StrEnum):
    """A row's outcome, as the result file says it."""

    CREATED = "created"
    REMOVED = "removed"
    ALREADY_MEMBER = "already a member"
    NOT_A_MEMBER = "not a member"
    FAILED = "failed"
    # never sent, or Coolblue said 429 (not processed):
    STOPPED = "not carried out (stopped)"  # i18n: recorded
    # sent, its answer lost, and stopped before it was checked:
    UNKNOWN = "outcome unknown"  # i18n: recorded
    REFUSED = "refused"
    DEFERRED = "deferred"  # 429: back in the queue after the pause (never final)

    @property
    def counter(self) -> str:
        """The ImportRequest counter this outcome adds to."""
        if self in (RowResult.CREATED, RowResult.REMOVED):
            return "done"
        if self in (RowResult.ALREADY_MEMBER, RowResult.NOT_A_MEMBER):
            return "skipped"
        if self is RowResult.UNKNOWN:
            return "unknown"
        if self is RowResult.STOPPED:
            return "stopped_rows"
        return "failed"

    @property
    def action(self) -> str:
        """The audit trail's action for this outcome."""
        return "import_" + self.name.lower()

    @property
    def words(self) -> str:
        """The outcome in the reader's language, for a result file (the value is what
        is stored, and what an English file shows)."""
        return t(_RESULT_WORDS[self])


_RESULT_WORDS = {
    RowResult.CREATED: N_("created"),
    RowResult.REMOVED: N_("removed"),
    RowResult.ALREADY_MEMBER: N_("already a member"),
    RowResult.NOT_A_MEMBER: N_("not a member"),
    RowResult.FAILED: N_("failed"),
    RowResult.STOPPED: N_("not carried out (stopped)"),
    RowResult.UNKNOWN: N_("outcome unknown"),
    RowResult.REFUSED: N_("refused"),
    RowResult.DEFERRED: N_("deferred"),
}


def new_import_id() -> str:
    return "I" + secrets.token_hex(4).upper()


def row_id(import_id: str, number: int) -> str:
    """A row's request ID: the import's ID and the row number, e.g. `I1A2B3C4D-17`."""
    return f"{import_id}-{number}"


def split_row_id(request_id: str) -> tuple[str, int] | None:
    """(import ID, row number) of a row's request ID, None for a single request's ID."""
    head, dash, tail = request_id.rpartition("-")
    if not dash or not head.startswith("I") or not tail.isdigit():
        return None
    return head, int(tail)


@dataclass
class ImportRequest:
    id: str
    operation: Operation
    community_id: str
    community_name: str
    requester_id: str
    created_at: float
    expires_at: float
    approvals_required: int
    environment: str
    file_name: str = ""
    note: str = ""
    status: ImportStatus = ImportStatus.PENDING
    approvals: list[Approval] = field(default_factory=list)
    decided_by: str = ""
    decided_at: float = 0.0
    decision_reason: str = ""
    stopped_by: str = ""
    stopped_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    updated_at: float = 0.0
    channel: str = ""
    message_ts: str = ""
    rows_in_file: int = 0  # every row under the header, valid or not
    total: int = 0  # valid rows accepted (each one is carried out)
    total_cents: int = 0  # their credit, in cents
    invalid_count: int = 0  # rows refused at filing (invalid, or open elsewhere)
    done: int = 0  # created or removed
    skipped: int = 0  # already a member / not a member: nothing to do
    failed: int = 0
    stopped_rows: int = 0  # not carried out because a manager pressed Stop
    unknown: int = 0  # stopped after a call whose answer was lost: may have been applied
    version: int = 0  # +1 on every change people should see
    shown_version: int = -1  # the version the approval message shows
    result_posted: bool = False
    reminded: bool = False  # approvers were reminded (once)
    invalid_preview: list[tuple[int, str]] = field(default_factory=list)  # first few refusals
    # The first few accepted rows (number, name, address): the approver sees who is in the
    # file; every accepted row is in the file posted in the approval message's thread.
    people_preview: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def total_credit(self) -> Decimal:
        return (Decimal(self.total_cents) / 100).quantize(Decimal("0.01"))

    @property
    def finished_rows(self) -> int:
        return self.done + self.skipped + self.failed + self.stopped_rows + self.unknown

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.finished_rows)

    @property
    def finished(self) -> bool:
        """Every row has its outcome (a stopped import's started rows included)."""
        return self.finished_at > 0

    @property
    def approver_ids(self) -> list[str]:
        return [approval.user_id for approval in self.approvals]

    @property
    def last_changer_id(self) -> str:
        """Who changed it last (an import changes only by a stop)."""
        return self.stopped_by

    @property
    def is_final(self) -> bool:
        return self.finished or self.status in (
            ImportStatus.REJECTED,
            ImportStatus.EXPIRED,
            ImportStatus.CANCELLED,
        )

    def rate(self, now: float) -> float:
        """Rows per second since the first row started."""
        elapsed = (self.finished_at or now) - self.started_at
        return self.finished_rows / elapsed if self.started_at and elapsed > 0 else 0.0

    # Redis hash <-> object. Every value is a string in Redis.

    def to_hash(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "approvals":
                out[item.name] = json.dumps([{"user_id": a.user_id, "at": a.at} for a in value])
            elif item.name in ("invalid_preview", "people_preview"):
                out[item.name] = json.dumps(value)
            elif isinstance(value, bool):
                out[item.name] = "1" if value else "0"
            else:
                out[item.name] = str(value)
        return out

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> ImportRequest:
        def number(name: str, default: int = 0) -> int:
            return int(data.get(name) or default)

        def moment(name: str) -> float:
            return float(data.get(name) or 0)

        return cls(
            id=data["id"],
            operation=Operation(data["operation"]),
            community_id=data["community_id"],
            community_name=data.get("community_name", ""),
            requester_id=data["requester_id"],
            created_at=moment("created_at"),
            expires_at=moment("expires_at"),
            approvals_required=number("approvals_required"),
            environment=data.get("environment", ""),
            file_name=data.get("file_name", ""),
            note=data.get("note", ""),
            status=ImportStatus(data["status"]),
            approvals=[
                Approval(a["user_id"], float(a["at"]))
                for a in json.loads(data.get("approvals") or "[]")
            ],
            decided_by=data.get("decided_by", ""),
            decided_at=moment("decided_at"),
            decision_reason=data.get("decision_reason", ""),
            stopped_by=data.get("stopped_by", ""),
            stopped_at=moment("stopped_at"),
            started_at=moment("started_at"),
            finished_at=moment("finished_at"),
            updated_at=moment("updated_at"),
            channel=data.get("channel", ""),
            message_ts=data.get("message_ts", ""),
            rows_in_file=number("rows_in_file"),
            total=number("total"),
            total_cents=number("total_cents"),
            invalid_count=number("invalid_count"),
            done=number("done"),
            skipped=number("skipped"),
            failed=number("failed"),
            stopped_rows=number("stopped_rows"),
            unknown=number("unknown"),
            version=number("version"),
            shown_version=number("shown_version", -1),
            result_posted=data.get("result_posted") == "1",
            reminded=data.get("reminded") == "1",
            invalid_preview=[
                (int(n), str(reason))
                for n, reason in json.loads(data.get("invalid_preview") or "[]")
            ],
            people_preview=[
                (int(n), str(name), str(email))
                for n, name, email in json.loads(data.get("people_preview") or "[]")
            ],
        )


@dataclass(frozen=True)
class RowToFile:
    """A valid row, ready to store: its request and the mailbox whose claim it takes."""

    number: int
    request: MemberRequest
    mailbox: str
    credit_cents: int


@dataclass(frozen=True)
class Filed:
    """What the store accepted: rows whose address was free, and the ones it refused with
    the request that holds the address (`refused`: row number -> (holder ID, its status))."""

    accepted: int
    total_cents: int
    refused: dict[int, tuple[str, str]]


@dataclass(frozen=True)
class RowRecord:
    """A row as the result file reports it."""

    number: int
    email: str
    result: str  # RowResult value, or "" while not finished
    outcome: str  # the message
    credit: Decimal | None
    correlation_id: str


class ImportStore(Protocol):
    """Imports and their rows; every change atomic across processes (bot.storage.imports)."""

    def file(
        self,
        request: ImportRequest,
        rows: Sequence[RowToFile],
        people: set[str],
        invalid: Sequence[InvalidRow],
        audit_entries: Sequence[list[str]],
        *,
        enqueue: bool,
    ) -> Filed: ...

    def get(self, import_id: str) -> ImportRequest | None: ...

    def names_person(self, import_id: str, person: str) -> bool:
        """Does the file name this mailbox (a valid row or not)?"""

    def approve(
        self, import_id: str, approver_id: str, audit_entry: list[str], expiry_entry: list[str]
    ) -> str:
        """approved | partial | expired | own | duplicate | conflict | missing"""

    def reject(self, import_id: str, user_id: str, reason: str, audit_entry: list[str]) -> str: ...

    def cancel(self, import_id: str, user_id: str, audit_entry: list[str]) -> str:
        """cancelled | conflict | missing (only a pending import)"""

    def expire(self, import_id: str, audit_entry: list[str]) -> bool: ...

    def stop(self, import_id: str, user_id: str, audit_entry: list[str]) -> str:
        """stopped | conflict | missing"""

    def pending_before(self, cutoff: float) -> list[str]: ...

    def set_fields(self, import_id: str, **values: str) -> None: ...


class ImportEvent(StrEnum):
    FILED = "filed"
    APPROVAL_RECORDED = "approval_recorded"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    STOPPED = "stopped"
    FINISHED = "finished"


class ImportNotifier(Protocol):
    def publish_filed(self, request: ImportRequest) -> None:
        """Post the approval message (with the file of refused rows) and DM the requester."""

    def import_changed(self, import_id: str, event: ImportEvent) -> None:
        """Show the change on the approval message (throttled) and tell the requester."""

    def remind(self, request: ImportRequest) -> None:
        """Remind the approvers, in the approval message's thread, that it still waits."""


class ImportRefused(Exception):
    """The file cannot become an import (no row left, too much credit): nothing was filed."""


@dataclass(frozen=True)
class ImportDecision:
    ok: bool
    request: ImportRequest | None
    reason: Refusal = Refusal.NONE
    outcome: str = ""
    action: Action | None = None  # what was refused, for the wording of Refusal.ROLE


# Translated (t) where they are used, at filing, in the filer's language.
OWN_ROW = N_("e-mail: this is your own address; someone else has to file a request about you")
NO_EMAIL = N_(
    "Slack did not tell me your e-mail address just now, so I cannot check that the file "
    "does not name you. Nothing was filed; try again in a moment."
)


def import_entry(request: ImportRequest, action: str, actor: str, *, detail: str = "") -> list[str]:
    """An audit entry about the import as a whole (its rows have entries of their own)."""
    return audit.fields(
        request_id=request.id,
        action=action,
        actor=actor,
        operation=request.operation.value,
        community_id=request.community_id,
        email="",
        credit=str(request.total_credit) if request.operation is Operation.ADD else "",
        correlation_id="",
        detail=detail,
    )


class ImportService:
    def __init__(
        self,
        store: ImportStore,
        policy: Policy,
        notifier: ImportNotifier,
        environment: str,
        *,
        approvals_required: int | None = None,
        max_total_credit: Decimal | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self.notifier = notifier
        self.environment = environment
        self.min_approvals = approvals_required
        self.max_total_credit = max_total_credit
        self.now = now
        # With POLICY_FILE: the actor's roles in an import's community (the runtime sets it,
        # from bot.domain.community_roles); None: the roles the actor carries stand.
        self.roles_in: Callable[[str, str], frozenset[Role]] | None = None
        self.standing_in_for: Callable[[str, str], list[str]] | None = None  # delegates
        # With POLICY_FILE: each community's numbers (approvals, expiry), as for one request.
        self.policy_of: Callable[[str], Policy] | None = None

    def scoped(self, actor: Actor, community_id: str) -> Actor:
        """The actor with their roles in `community_id` (POLICY_FILE)."""
        if self.roles_in is None:
            return actor
        absent = self.standing_in_for(actor.user_id, community_id) if self.standing_in_for else []
        return dataclasses.replace(
            actor, roles=self.roles_in(actor.user_id, community_id), for_ids=tuple(absent)
        )

    def approvals_for(self, operation: Operation, community_id: str = "") -> int:
        """The policy for one such request (in the import's community, with POLICY_FILE), or
        IMPORT_APPROVALS_REQUIRED when larger."""
        policy = self.community_policy(community_id)
        return max(policy.approvals_required(operation), self.min_approvals or 0)

    def community_policy(self, community_id: str) -> Policy:
        if self.policy_of is None or not community_id:
            return self.policy
        return self.policy_of(community_id)

    # Filing ------------------------------------------------------------------

    def file(
        self,
        read: ImportFile,
        *,
        community_id: str,
        community_name: str,
        actor: Actor,
        note: str = "",
        file_name: str = "",
    ) -> ImportRequest:
        """Store the file as one import. Raises ImportRefused when no row can be carried out
        (invalid, its address open in another request, or one the filer may not file: their
        own) or when the total credit is over the maximum per import; nothing is stored
        then."""
        read = self._may_file(read, self.scoped(actor, community_id))
        requester_id = actor.user_id
        if not read.rows:
            raise ImportRefused(_none_left(read.invalid, read.row_count))
        total = read.total_credit
        if self.max_total_credit is not None and total > self.max_total_credit:
            raise ImportRefused(
                t(
                    "The rows add up to {total} of credit; one import may give at most "
                    "{maximum}. Split the file.",
                    total=format_euros(total),
                    maximum=format_euros(self.max_total_credit),
                )
            )
        now = self.now()
        required = self.approvals_for(read.operation, community_id)
        request = ImportRequest(
            id=new_import_id(),
            operation=read.operation,
            community_id=community_id,
            community_name=community_name,
            requester_id=requester_id,
            created_at=now,
            updated_at=now,
            expires_at=now + self.community_policy(community_id).expiry_seconds,
            approvals_required=required,
            environment=self.environment,
            file_name=file_name,
            note=note,
            rows_in_file=read.row_count,
            status=ImportStatus.PENDING if required else ImportStatus.APPROVED,
            decided_by="" if required else SYSTEM,
            decided_at=0.0 if required else now,
        )
        rows = [_row_to_file(request, row.number, row.form) for row in read.rows]
        entries = [
            import_entry(request, "filed", requester_id, detail=_filed_detail(read)),
            *(_refused_entry(request, row) for row in read.invalid),
        ]
        filed = self.store.file(
            request, rows, read.mailboxes(), read.invalid, entries, enqueue=not required
        )
        if not filed.accepted:
            refused = [
                InvalidRow(number, "", open_elsewhere(holder, status))
                for number, (holder, status) in sorted(filed.refused.items())
            ]
            raise ImportRefused(_none_left([*read.invalid, *refused], read.row_count))
        preview = [
            (row.number, _person_name(row.form), row.email)
            for row in read.rows
            if row.number not in filed.refused
        ][:PEOPLE_INLINE]
        self.store.set_fields(request.id, people_preview=json.dumps(preview))
        stored = self.store.get(request.id)
        assert stored is not None
        log.info("import %s filed (%s, %d rows)", request.id, request.operation, filed.accepted)
        return stored

    @staticmethod
    def _may_file(read: ImportFile, actor: Actor) -> ImportFile:
        """Each row is filed as a request of its own would be: a row the table refuses (the
        filer's own address) joins the refused rows, with the reason."""
        kept: list[ValidRow] = []
        refused: list[InvalidRow] = []
        for row in read.rows:
            verdict = may(Action.FILE, actor, Target(actor.user_id, about(row.email)))
            if verdict.reason is Refusal.EMPLOYEE:
                refused.append(InvalidRow(row.number, row.email, t(OWN_ROW), row.mailbox))
            elif verdict.reason is Refusal.EMAIL_UNKNOWN:
                raise ImportRefused(t(NO_EMAIL))
            elif not verdict.allowed:
                raise ImportRefused(t("Only HR may import employees."))
            else:
                kept.append(row)
        if not refused:
            return read
        invalid = sorted([*read.invalid, *refused], key=lambda row: row.number)
        return ImportFile(read.operation, kept, invalid, read.delimiter, read.columns)

    def publish_filed(self, request: ImportRequest) -> None:
        self._safely(lambda: self.notifier.publish_filed(request), request.id)

    # Decisions ---------------------------------------------------------------

    def target_of(self, request: ImportRequest) -> Target:
        """An import as the decision (bot.domain.access) sees it: its subjects are everyone
        the file names, valid row or not."""
        return Target(
            requester_id=request.requester_id,
            names=lambda address: self.store.names_person(request.id, mailbox(address)),
            last_changer_id=request.last_changer_id,
            approver_ids=tuple(request.approver_ids),
        )

    def offered(self, request: ImportRequest, actor: Actor) -> list[Action]:
        """What the actor may do to this import now: the table's verdict and the state
        (for the buttons a list shows; each click asks again)."""
        if request.status is ImportStatus.PENDING:
            candidates = [Action.APPROVE, Action.REJECT]
            if actor.user_id == request.requester_id:
                candidates = [Action.CANCEL]
        elif request.status.is_running:
            candidates = [Action.STOP]
        else:
            return []
        target = self.target_of(request)
        actor = self.scoped(actor, request.community_id)
        return [action for action in candidates if may(action, actor, target).allowed]

    def open_imports(self) -> list[ImportRequest]:
        """Imports still waiting for approval, oldest first."""
        found = (self.store.get(i) for i in self.store.pending_before(float("inf")))
        return [r for r in found if r is not None and r.status is ImportStatus.PENDING]

    def check(self, action: Action, import_id: str, actor: Actor) -> ImportDecision:
        """The table's verdict on this actor for this import (refused or not)."""
        request = self.store.get(import_id)
        if request is None:
            return ImportDecision(False, None, Refusal.MISSING, action=action)
        verdict = may(action, self.scoped(actor, request.community_id), self.target_of(request))
        return ImportDecision(verdict.allowed, request, verdict.reason, action=action)

    def approve(self, import_id: str, actor: Actor) -> ImportDecision:
        checked = self.check(Action.APPROVE, import_id, actor)
        if not checked.ok or checked.request is None:
            return checked
        request, user_id = checked.request, actor.user_id
        outcome = self.store.approve(
            import_id,
            user_id,
            import_entry(request, "approved", user_id),
            import_entry(request, "expired", SYSTEM),
        )
        after = self.store.get(import_id)
        if outcome == "expired":
            self.tell(import_id, ImportEvent.EXPIRED)
            return ImportDecision(False, after, Refusal.CONFLICT, outcome)
        if outcome not in ("approved", "partial"):
            return ImportDecision(False, after, Refusal(outcome), outcome)
        event = ImportEvent.APPROVED if outcome == "approved" else ImportEvent.APPROVAL_RECORDED
        self.tell(import_id, event)
        return ImportDecision(True, after, outcome=outcome)

    def reject(
        self, import_id: str, actor: Actor, reason: str, *, announce: bool = True
    ) -> ImportDecision:
        """`announce=False` for a caller that tells people itself, later (`tell`)."""
        checked = self.check(Action.REJECT, import_id, actor)
        if not checked.ok or checked.request is None:
            return checked
        request, user_id = checked.request, actor.user_id
        outcome = self.store.reject(
            import_id, user_id, reason, import_entry(request, "rejected", user_id, detail=reason)
        )
        after = self.store.get(import_id)
        if outcome != "rejected":
            return ImportDecision(False, after, Refusal(outcome), outcome)
        if announce:
            self.tell(import_id, ImportEvent.REJECTED)
        return ImportDecision(True, after, outcome=outcome)

    def stop(self, import_id: str, actor: Actor) -> ImportDecision:
        """A manager's brake: rows not started are not carried out; started ones finish.
        Nobody the file names may pull it (bot.domain.access)."""
        checked = self.check(Action.STOP, import_id, actor)
        if not checked.ok or checked.request is None:
            return checked
        request, user_id = checked.request, actor.user_id
        outcome = self.store.stop(import_id, user_id, import_entry(request, "stopped", user_id))
        after = self.store.get(import_id)
        if outcome != "stopped":
            return ImportDecision(False, after, Refusal(outcome), outcome)
        self.tell(import_id, ImportEvent.STOPPED)
        return ImportDecision(True, after, outcome=outcome)

    def cancel(self, import_id: str, actor: Actor) -> ImportDecision:
        """The requester withdraws a pending import (bot.domain.access says who); a
        manager rejects or stops one instead."""
        checked = self.check(Action.CANCEL, import_id, actor)
        if not checked.ok or checked.request is None:
            return checked
        request, user_id = checked.request, actor.user_id
        if user_id != request.requester_id:
            return ImportDecision(False, request, Refusal.CONFLICT, action=Action.CANCEL)
        outcome = self.store.cancel(import_id, user_id, import_entry(request, "cancelled", user_id))
        after = self.store.get(import_id)
        if outcome != "cancelled":
            return ImportDecision(False, after, Refusal(outcome), outcome, Action.CANCEL)
        self.tell(import_id, ImportEvent.CANCELLED)
        return ImportDecision(True, after, outcome=outcome, action=Action.CANCEL)

    def sweep(self, now: float | None = None) -> int:
        """Expire imports nobody decided in time, and remind the approvers once, as for a
        single request (Policy.reminder_seconds after filing); returns how many expired."""
        now = self.now() if now is None else now
        expired = 0
        # Pending imports are kept by expiry time, and every one expires expiry_seconds
        # after it was filed: those filed reminder_seconds ago expire before this.
        remind_from = now + self.policy.expiry_seconds - self.policy.reminder_seconds
        for import_id in self.store.pending_before(max(now, remind_from)):
            request = self.store.get(import_id)
            if request is None or request.status is not ImportStatus.PENDING:
                continue
            if now >= request.expires_at:
                if self.store.expire(import_id, import_entry(request, "expired", SYSTEM)):
                    expired += 1
                    self.tell(import_id, ImportEvent.EXPIRED)
            elif not request.reminded and now >= request.created_at + self.policy.reminder_seconds:
                self.store.set_fields(import_id, reminded="1")
                self._safely(partial(self.notifier.remind, request), import_id)
        return expired

    def tell(self, import_id: str, event: ImportEvent) -> None:
        """Tell people about a change already made (never raises)."""
        self._safely(lambda: self.notifier.import_changed(import_id, event), import_id)

    @staticmethod
    def _safely(call: Callable[[], None], import_id: str) -> None:
        # The change is made and durable; a failed notification must not undo it.
        try:
            call()
        except Exception:
            log.exception("notification failed for import %s", import_id)


def open_elsewhere(holder: str, status: str) -> str:
    """Why a row was refused at filing: its address is in a request still open. In the
    language in force where it is read (the filer's, or the approval message's)."""
    found = split_row_id(holder)
    if found is not None:
        import_id, number = found
        return t(
            "e-mail: already in import {import_id} (row {number}), which is still {state}",
            import_id=import_id,
            number=number,
            state=_open_words(status),
        )
    return t(
        "e-mail: request {request_id} for this address is still {state}",
        request_id=holder,
        state=_open_words(status),
    )


_OPEN_WORDS = {
    "pending": N_("waiting for approval"),
    "scheduled": N_("scheduled"),
    "approved": N_("being carried out"),
    "executing": N_("being carried out"),
    "failed": N_("open (it failed; a manager can retry it)"),
}


_STILL_OPEN = N_("open")


def _open_words(status: str) -> str:
    return t(_OPEN_WORDS.get(status, _STILL_OPEN))


def _none_left(invalid: Sequence[InvalidRow], row_count: int) -> str:
    first = "; ".join(
        t("row {number}: {reason}", number=row.number, reason=row.reason) for row in invalid[:3]
    )
    more = t(" (and {count} more)", count=len(invalid) - 3) if len(invalid) > 3 else ""
    if row_count == 1:
        return t("Nothing to import: I can't carry out the row. {first}{more}.", first=first,
                 more=more)  # fmt: skip
    return t(
        "Nothing to import: I can't carry out any of the {count} rows. {first}{more}.",
        count=whole_number(row_count),
        first=first,
        more=more,
    )


def _filed_detail(read: ImportFile) -> str:
    amount = f", {format_euros(read.total_credit)}" if read.operation is Operation.ADD else ""
    return f"{len(read.rows)} rows{amount}; {len(read.invalid)} refused"


def _row_to_file(
    request: ImportRequest, number: int, form: AddEmployeeForm | RemoveEmployeeForm
) -> RowToFile:
    row = MemberRequest(
        id=row_id(request.id, number),
        operation=request.operation,
        community_id=request.community_id,
        community_name=request.community_name,
        email=form.email,
        requester_id=request.requester_id,
        created_at=request.created_at,
        updated_at=request.created_at,
        expires_at=request.expires_at,
        approvals_required=request.approvals_required,
        environment=request.environment,
        note=request.note,
        status=Status.PENDING,
    )
    cents = 0
    if isinstance(form, AddEmployeeForm):
        row.first_name, row.last_name = form.first_name, form.last_name
        row.credit, row.external_reference = form.credit, form.external_reference
        cents = int(form.credit * 100)
    else:
        row.reason = form.reason
    return RowToFile(number, row, mailbox(form.email), cents)


def _person_name(form: AddEmployeeForm | RemoveEmployeeForm) -> str:
    if isinstance(form, AddEmployeeForm):
        return f"{form.first_name} {form.last_name}".strip()
    return ""  # an offboarding file names addresses only


def _refused_entry(request: ImportRequest, row: InvalidRow) -> list[str]:
    entry = import_entry(request, RowResult.REFUSED.action, request.requester_id, detail=row.reason)
    entry[entry.index("request_id") + 1] = row_id(request.id, row.number)
    entry[entry.index("email") + 1] = row.email
    entry[entry.index("credit") + 1] = ""
    return entry


# Carrying out one row --------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    result: RowResult
    message: str
    correlation_id: str = ""
    credit: Decimal | None = None
    ambiguous: bool = False  # Coolblue may have applied it: the next attempt checks first


class _Watched:
    """The members API, remembering which refusals it saw: perform() words them as
    failures, a row tells 'already a member' and 'wait (429)' apart from one."""

    def __init__(self, api: MembersApi) -> None:
        self.api = api
        self.already_member = False
        self.not_a_member = False
        self.rate_limited = False
        self.ambiguous = False

    def get_remaining_credit(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RemainingCredit:
        try:
            return self.api.get_remaining_credit(community_id, email, correlation_id=correlation_id)
        except MembersApiError as exc:
            self._saw(exc)
            raise

    def create_member(
        self, community_id: str, member: NewMember, *, correlation_id: str | None = None
    ) -> RemainingCredit:
        try:
            return self.api.create_member(community_id, member, correlation_id=correlation_id)
        except MembersApiError as exc:
            self.already_member = self.already_member or isinstance(exc, AlreadyAMember)
            self.ambiguous = self.ambiguous or isinstance(exc, CreateOutcomeUnknown)
            self._saw(exc)
            raise

    def delete_member(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RevokedCredit:
        try:
            return self.api.delete_member(community_id, email, correlation_id=correlation_id)
        except MembersApiError as exc:
            self.not_a_member = self.not_a_member or isinstance(exc, NotAMember)
            self._saw(exc)
            raise

    def _saw(self, exc: MembersApiError) -> None:
        self.rate_limited = self.rate_limited or exc.status == RATE_LIMITED


def carry_out_row(request: MemberRequest, api: MembersApi, *, interrupted: bool) -> RowOutcome:
    """The API call(s) for one row, with a single request's guarantees: after an attempt
    that was cut off (`interrupted`) or ended ambiguously, check before creating again.
    An address that is already a member (or, offboarding, is not one) is not a failure:
    nothing was needed. A 429 that outlasted the client's retries defers the row."""
    watched = _Watched(api)
    outcome = perform(request, watched, check_first=interrupted or request.ambiguous)
    ambiguous = outcome.ambiguous or watched.ambiguous
    if outcome.done:
        result = RowResult.CREATED if request.operation is Operation.ADD else RowResult.REMOVED
        return RowOutcome(result, outcome.message, outcome.correlation_id, outcome.credit)
    if watched.already_member:
        credit = _remaining_credit(api, request)
        return RowOutcome(
            RowResult.ALREADY_MEMBER,
            N_("Already a member; not created again and no credit added."),
            outcome.correlation_id,
            credit,
        )
    if watched.not_a_member:
        return RowOutcome(
            RowResult.NOT_A_MEMBER,
            N_("Not a member of this community; nothing to revoke."),
            outcome.correlation_id,
        )
    if watched.rate_limited and request.attempts < MAX_ROW_ATTEMPTS:
        return RowOutcome(
            RowResult.DEFERRED,
            N_("Coolblue asked us to slow down (429); the row waits for the pause."),
            outcome.correlation_id,
            ambiguous=ambiguous or request.ambiguous,
        )
    return RowOutcome(
        RowResult.FAILED,
        outcome.message,
        outcome.correlation_id,
        ambiguous=ambiguous or request.ambiguous,
    )


# Row outcomes are recorded (the row's hash, the audit trail) in English, as the worker and
# the stop script write them; N_ marks them so whoever shows one translates it with `t`.
# A row Stop found waiting after a call whose answer was lost (never "not carried out").
UNKNOWN_OUTCOME = N_(
    "Outcome unknown: Coolblue may have carried this row out (its answer was lost) and the "
    "import was stopped before we could check. Check whether the member exists before "
    "filing this row again."
)
STOPPED_OUTCOME = N_("Not carried out: a manager stopped the import before this row started.")
STOPPED_WAITING = N_(
    "Not carried out: Coolblue asked us to wait (429, so nothing was applied) and a manager "
    "stopped the import meanwhile."
)


def if_stopped_meanwhile(request: MemberRequest, outcome: RowOutcome) -> RowOutcome | None:
    """What a deferred row (`outcome`, a 429) ends as when its import was stopped while it
    ran: outcome unknown when a call may have been applied, else not carried out. None for
    an outcome that is not deferred (it is recorded as it is)."""
    if outcome.result is not RowResult.DEFERRED:
        return None
    if outcome.ambiguous or request.ambiguous:
        return RowOutcome(RowResult.UNKNOWN, UNKNOWN_OUTCOME, outcome.correlation_id,
                          ambiguous=True)  # fmt: skip
    return RowOutcome(RowResult.STOPPED, STOPPED_WAITING, outcome.correlation_id)


def _remaining_credit(api: MembersApi, request: MemberRequest) -> Decimal | None:
    try:
        return api.get_remaining_credit(request.community_id, request.email).remaining_credit
    except MembersApiError:
        return None  # the result file leaves it blank


def row_entry(request: MemberRequest, outcome: RowOutcome, actor: str) -> list[str]:
    """The audit entry of a row's outcome."""
    return audit.entry(
        request,
        outcome.result.action,
        actor,
        detail=outcome.message,
        correlation_id=outcome.correlation_id,
    )


def gave_up(request: MemberRequest, deliveries: int) -> RowOutcome:
    """A row whose carrying out kept crashing before it could record an outcome."""
    return RowOutcome(
        RowResult.FAILED,
        f"This row could not be carried out (it crashed {deliveries} times); check whether "
        "the member exists before filing it again.",  # i18n: recorded
        request.correlation_id,
        ambiguous=True,
    )
