"""When a dated request runs: onboarding at the start of the start date, offboarding after
the end of the last working day, in the employer's time zone (zoneinfo, so a date across a
daylight-saving change still runs at the local hour people expect).

The hours are settings (SCHEDULE_ONBOARD_AT, SCHEDULE_OFFBOARD_AT); a date in the past,
an offboarding whose time has gone, or a date more than a year ahead is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.requests import Operation
from bot.i18n import t

MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    onboard_at: time = time(0, 0)  # credit available from the start of the start date
    offboard_at: time = time(23, 59)  # revoked after the end of the last working day

    def due_at(self, operation: Operation, day: date) -> float:
        """The moment (epoch seconds) a request dated `day` is carried out."""
        at = self.onboard_at if operation is Operation.ADD else self.offboard_at
        # A wall time in the spring-forward gap gets the offset from before the change
        # (fold=0), which lands just after the gap: 02:30 that day runs at 03:30. A time
        # that happens twice in the autumn runs at its first occurrence.
        local = datetime.combine(day, at, tzinfo=self.timezone)
        return local.astimezone(ZoneInfo("UTC")).timestamp()

    def today(self, now: float) -> date:
        return datetime.fromtimestamp(now, self.timezone).date()

    def problem(self, operation: Operation, day: date, now: float) -> str | None:
        """Why `day` can't be used, in words for the date field; None when it can."""
        today = self.today(now)
        if day < today:
            return t("Choose today or a later date.")
        if day > today + MAX_AHEAD:
            return t("Choose a date at most a year ahead.")
        if operation is Operation.REMOVE and self.due_at(operation, day) <= now:
            return t(
                "The end of that day ({time}) has passed; choose a later date.",
                time=self.offboard_at.strftime("%H:%M"),
            )
        return None

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self.timezone)
