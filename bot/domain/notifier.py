"""How the domain tells people what happened, without knowing it is Slack."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from bot.domain.requests import MemberRequest


class Event(StrEnum):
    FILED = "filed"
    APPROVAL_RECORDED = "approval_recorded"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DATE_CHANGED = "date_changed"
    RETRIED = "retried"
    DONE = "done"
    FAILED = "failed"


class Notifier(Protocol):
    def publish_filed(self, request: MemberRequest) -> None:
        """Post the request for approvers and tell the requester it was filed."""

    def request_changed(self, request_id: str, event: Event) -> None:
        """Update the approval message in place and tell the requester."""

    def remind(self, request: MemberRequest) -> None:
        """Nudge the approvers of a request that has waited a while."""

    def escalate(self, request: MemberRequest, approvers: list[str], channel: str) -> None:
        """Ask the escalation approvers of an undecided request (its thread, and `channel`
        when one is set); from then on they may decide it."""

    def remind_due(self, request: MemberRequest) -> None:
        """Tell the requester a scheduled offboarding runs tomorrow (with Cancel)."""
