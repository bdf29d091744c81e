"""Delegation while an approver is away: `/community away <until date> @someone`.

The delegate decides what the absent approver could decide, in the communities where the
absent person is an approver, up to and including `until` (a day in TIMEZONE), and the
audit reads "approved by @someone for @absent". `/community away off` ends it early. One
delegation per absent approver: a new one replaces the old.

A delegation passes on only the absent person's own manager role, never one they hold as
someone else's delegate, so delegations do not chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.i18n import t

MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Delegation:
    absent_id: str  # the approver who is away (Slack user ID)
    delegate_id: str  # who decides in their place
    until: date  # the last day (inclusive) in TIMEZONE
    set_at: float  # when it was set (epoch seconds)

    def active_on(self, day: date) -> bool:
        """Active from when it is set up to and including `until`."""
        return day <= self.until

    def active_at(self, now: float, timezone: ZoneInfo) -> bool:
        return self.active_on(local_day(now, timezone))

    def to_json(self) -> str:
        return json.dumps(
            {
                "absent_id": self.absent_id,
                "delegate_id": self.delegate_id,
                "until": self.until.isoformat(),
                "set_at": self.set_at,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Delegation:
        data = json.loads(text)
        return cls(
            absent_id=str(data["absent_id"]),
            delegate_id=str(data["delegate_id"]),
            until=date.fromisoformat(data["until"]),
            set_at=float(data["set_at"]),
        )


class DelegationSource(Protocol):
    """Where delegations are kept (bot.storage.delegations)."""

    def all(self) -> list[Delegation]:
        """Every delegation stored, active or not."""


def local_day(now: float, timezone: ZoneInfo) -> date:
    return datetime.fromtimestamp(now, timezone).date()


def away_problem(absent_id: str, delegate_id: str, until: date, today: date) -> str | None:
    """Why this delegation cannot be set, in words for the person setting it; None if it
    can. Whether `absent_id` is an approver at all is the decision table's to say."""
    if delegate_id == absent_id:
        return t("Choose someone else: you cannot stand in for yourself.")
    if until < today:
        return t("Choose today or a later date.")
    if until > today + MAX_AHEAD:
        return t("Choose a date at most a year ahead.")
    return None


def active_for(
    delegations: list[Delegation], delegate_id: str, now: float, timezone: ZoneInfo
) -> list[Delegation]:
    """The delegations in force now that make `delegate_id` stand in for someone."""
    return [
        item
        for item in delegations
        if item.delegate_id == delegate_id and item.active_at(now, timezone)
    ]
