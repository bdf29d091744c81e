"""When dated requests run: local hours across daylight-saving changes, and which dates
the modals refuse. Pure: no Redis, no Slack."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.requests import Operation
from bot.domain.schedule import Schedule

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SCHEDULE = Schedule(AMSTERDAM, onboard_at=time(0, 0), offboard_at=time(23, 59))


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2027, 1, 15), datetime(2027, 1, 14, 23, 0, tzinfo=UTC)),  # CET, UTC+1
        (date(2027, 7, 1), datetime(2027, 6, 30, 22, 0, tzinfo=UTC)),  # CEST, UTC+2
        (date(2027, 3, 28), datetime(2027, 3, 27, 23, 0, tzinfo=UTC)),  # spring forward day
        (date(2027, 10, 31), datetime(2027, 10, 30, 22, 0, tzinfo=UTC)),  # fall back day
    ],
)
def test_onboarding_runs_at_the_local_start_of_the_day(day: date, expected_utc: datetime):
    assert utc(SCHEDULE.due_at(Operation.ADD, day)) == expected_utc


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2027, 3, 28), datetime(2027, 3, 28, 21, 59, tzinfo=UTC)),  # after the change
        (date(2027, 3, 27), datetime(2027, 3, 27, 22, 59, tzinfo=UTC)),  # before it
        (date(2027, 10, 31), datetime(2027, 10, 31, 22, 59, tzinfo=UTC)),
        (date(2027, 10, 30), datetime(2027, 10, 30, 21, 59, tzinfo=UTC)),
    ],
)
def test_offboarding_runs_after_the_local_end_of_the_day(day: date, expected_utc: datetime):
    assert utc(SCHEDULE.due_at(Operation.REMOVE, day)) == expected_utc


def test_a_local_hour_in_the_spring_gap_runs_just_after_it():
    at_half_past_two = Schedule(AMSTERDAM, onboard_at=time(2, 30))
    due = at_half_past_two.local(at_half_past_two.due_at(Operation.ADD, date(2027, 3, 28)))
    assert (due.hour, due.minute) == (3, 30)


def test_a_local_hour_that_happens_twice_runs_at_its_first_occurrence():
    at_half_past_two = Schedule(AMSTERDAM, onboard_at=time(2, 30))
    due = utc(at_half_past_two.due_at(Operation.ADD, date(2027, 10, 31)))
    assert due == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST, not CET


NOW = datetime(2027, 6, 10, 12, 0, tzinfo=AMSTERDAM).timestamp()


@pytest.mark.parametrize(
    ("operation", "day", "problem"),
    [
        (Operation.ADD, date(2027, 6, 9), "today or a later date"),
        (Operation.REMOVE, date(2027, 6, 9), "today or a later date"),
        (Operation.ADD, date(2028, 6, 12), "at most a year ahead"),
        (Operation.ADD, date(2027, 6, 10), None),  # today: runs as soon as approved
        (Operation.REMOVE, date(2027, 6, 10), None),  # today, before 23:59
        (Operation.ADD, date(2028, 6, 10), None),
    ],
)
def test_which_dates_are_refused(operation: Operation, day: date, problem: str | None):
    found = SCHEDULE.problem(operation, day, NOW)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_an_offboarding_today_is_refused_once_the_end_of_the_day_has_passed():
    late = datetime(2027, 6, 10, 23, 59, 30, tzinfo=AMSTERDAM).timestamp()
    assert "has passed" in (SCHEDULE.problem(Operation.REMOVE, date(2027, 6, 10), late) or "")
    assert SCHEDULE.problem(Operation.ADD, date(2027, 6, 10), late) is None
