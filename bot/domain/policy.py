"""Approval policy: configuration, not code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.runtime.settings import Settings
from bot.domain.requests import Operation


@dataclass(frozen=True)
class Policy:
    approvals_add: int = 1
    approvals_remove: int = 1
    max_credit: Decimal = Decimal("2500.00")
    expiry_seconds: float = 72 * 3600
    reminder_seconds: float = 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            approvals_add=settings.approvals_required_add,
            approvals_remove=settings.approvals_required_remove,
            max_credit=settings.max_credit_eur,
            expiry_seconds=settings.request_expiry_hours * 3600,
            reminder_seconds=settings.reminder_after_hours * 3600,
        )

    def approvals_required(self, operation: Operation) -> int:
        return self.approvals_add if operation is Operation.ADD else self.approvals_remove
