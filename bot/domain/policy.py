"""Approval policy: configuration, not code."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain.requests import Operation
from bot.domain.schedule import Schedule


@dataclass(frozen=True)
class Policy:
    approvals_add: int = 1
    approvals_remove: int = 1
    max_credit: Decimal = Decimal("2500.00")
    expiry_seconds: float = 72 * 3600
    reminder_seconds: float = 24 * 3600
    retention_seconds: float = 365 * 86400
    schedule: Schedule = field(default_factory=lambda: Schedule(ZoneInfo("Europe/Amsterdam")))

    def approvals_required(self, operation: Operation) -> int:
        return self.approvals_add if operation is Operation.ADD else self.approvals_remove
