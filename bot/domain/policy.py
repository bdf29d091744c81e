"""Approval policy: configuration, not code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.requests import Operation


@dataclass(frozen=True)
class Policy:
    approvals_add: int = 1
    approvals_remove: int = 1
    max_credit: Decimal = Decimal("2500.00")
    expiry_seconds: float = 72 * 3600
    reminder_seconds: float = 24 * 3600

    def approvals_required(self, operation: Operation) -> int:
        return self.approvals_add if operation is Operation.ADD else self.approvals_remove
