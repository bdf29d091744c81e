"""A request to onboard or offboard one employee, and the states it moves through.

pending → approved → executing → done | failed      (failed → approved on Retry)
pending → rejected | expired | cancelled
pending → scheduled → approved → …                   (a dated request, once it is due)
scheduled → cancelled, or → pending when a new date needs a new approval
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum

from bot.domain.mailbox import mailbox


class Operation(StrEnum):
    ADD = "add"
    REMOVE = "remove"


class Status(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    APPROVED = "approved"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Not carried out yet, and may still be decided, cancelled or moved."""
        return self in (Status.PENDING, Status.SCHEDULED)


@dataclass(frozen=True)
class Approval:
    user_id: str
    at: float


@dataclass
class MemberRequest:
    id: str
    operation: Operation
    community_id: str
    community_name: str
    email: str
    requester_id: str
    created_at: float
    expires_at: float
    approvals_required: int
    environment: str
    first_name: str = ""
    last_name: str = ""
    credit: Decimal | None = None
    external_reference: str = ""
    note: str = ""
    reason: str = ""
    status: Status = Status.PENDING
    approvals: list[Approval] = field(default_factory=list)
    decided_by: str = ""
    decided_at: float = 0.0
    decision_reason: str = ""
    updated_at: float = 0.0
    reminded: bool = False
    channel: str = ""
    message_ts: str = ""
    dm_channel: str = ""  # the requester's "filed" DM, updated in place as the request moves
    dm_ts: str = ""
    attempts: int = 0
    rounds: int = 0  # 1 once approved, +1 per Retry
    announced_round: int = 0  # the last round whose approval people were told about
    correlation_id: str = ""
    outcome: str = ""
    result_credit: Decimal | None = None
    # An attempt ended without knowing whether Coolblue applied it (timeout, dropped
    # connection, 5xx, a worker that died mid-call): the next one checks first.
    ambiguous: bool = False
    due_at: float = 0.0  # a dated request runs then (0: as soon as it is approved)
    due_reminded: bool = False  # the requester was told the day before
    ran_late: float = 0.0  # seconds between due_at and being carried out, when late
    # An offboarding whose address Coolblue did not know as a member of the community when
    # last asked (looked up after filing, or the attempt that failed on it): told before
    # anyone approves, and no Retry is offered for it, since a retry cannot succeed.
    not_a_member: bool = False
    # When the sweep escalated it to the community's escalate_to (0: never); once per
    # request, claimed atomically by bot.storage.escalations.
    escalated_at: float = 0.0
    changed_by: str = ""  # who last changed it (a date change): may not decide it then

    @property
    def mailbox(self) -> str:
        """The address as a mailbox, for "is this the same person" comparisons."""
        return mailbox(self.email)

    @property
    def employee_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def approver_ids(self) -> list[str]:
        return [approval.user_id for approval in self.approvals]

    # Redis hash <-> object. Every value is a string in Redis.

    def to_hash(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "approvals":
                out[item.name] = json.dumps([{"user_id": a.user_id, "at": a.at} for a in value])
            elif isinstance(value, bool):
                out[item.name] = "1" if value else "0"
            elif value is None:
                out[item.name] = ""
            else:
                out[item.name] = str(value)
        return out

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> MemberRequest:
        approvals = [
            Approval(a["user_id"], float(a["at"]))
            for a in json.loads(data.get("approvals") or "[]")
        ]
        return cls(
            id=data["id"],
            operation=Operation(data["operation"]),
            community_id=data["community_id"],
            community_name=data.get("community_name", ""),
            email=data["email"],
            requester_id=data["requester_id"],
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
            approvals_required=int(data["approvals_required"]),
            environment=data.get("environment", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            credit=_decimal(data.get("credit")),
            external_reference=data.get("external_reference", ""),
            note=data.get("note", ""),
            reason=data.get("reason", ""),
            status=Status(data["status"]),
            approvals=approvals,
            decided_by=data.get("decided_by", ""),
            decided_at=float(data.get("decided_at") or 0),
            decision_reason=data.get("decision_reason", ""),
            updated_at=float(data.get("updated_at") or 0),
            reminded=data.get("reminded") == "1",
            channel=data.get("channel", ""),
            message_ts=data.get("message_ts", ""),
            dm_channel=data.get("dm_channel", ""),
            dm_ts=data.get("dm_ts", ""),
            attempts=int(data.get("attempts") or 0),
            rounds=int(data.get("rounds") or 0),
            announced_round=int(data.get("announced_round") or 0),
            correlation_id=data.get("correlation_id", ""),
            outcome=data.get("outcome", ""),
            result_credit=_decimal(data.get("result_credit")),
            ambiguous=data.get("ambiguous") == "1",
            due_at=float(data.get("due_at") or 0),
            due_reminded=data.get("due_reminded") == "1",
            ran_late=float(data.get("ran_late") or 0),
            not_a_member=data.get("not_a_member") == "1",
            escalated_at=float(data.get("escalated_at") or 0),
            changed_by=data.get("changed_by", ""),
        )


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text else None
