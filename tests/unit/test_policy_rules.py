"""Auto-approval, escalation and delegation: the pure rules of a community's policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.domain.community_policy import CommunityPolicy, auto_approve, escalation_due
from bot.domain.delegation import Delegation, active_for, away_problem, local_day
from bot.domain.requests import MemberRequest, Operation, Status

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HOUR = 3600.0
NL = CommunityPolicy(
    community_id="cc-acme-nl",
    channel="C0APPROVNL",
    auto_approve_add_up_to=Decimal("250.00"),
    escalate_after_hours=8,
    escalate_to=("U0DIRECTOR",),
    origins={"auto_approve_add_up_to_eur": "communities.cc-acme-nl"},
)
FILED = 1_800_000_000.0


def request(**changes: object) -> MemberRequest:
    values: dict[str, object] = {
        "id": "r1",
        "operation": Operation.ADD,
        "community_id": "cc-acme-nl",
        "community_name": "Acme NL",
        "email": "jane@example.com",
        "requester_id": "U0ALICE",
        "created_at": FILED,
        "expires_at": FILED + 72 * HOUR,
        "approvals_required": 1,
        "environment": "SANDBOX",
        "credit": Decimal("100.00"),
    }
    values.update(changes)
    return MemberRequest(**values)  # type: ignore[arg-type]


# Auto-approval ----------------------------------------------------------------------------


def test_auto_approval_at_the_threshold_names_the_rule() -> None:
    rule = auto_approve(NL, Operation.ADD, Decimal("250.00"))
    assert rule == "communities.cc-acme-nl.auto_approve_add_up_to_eur = €250.00"


def test_one_cent_over_the_threshold_needs_people() -> None:
    assert auto_approve(NL, Operation.ADD, Decimal("250.01")) is None


@pytest.mark.parametrize(
    ("policy", "operation", "credit"),
    [
        (NL, Operation.REMOVE, Decimal("0.01")),  # offboarding is never auto-approved
        (NL, Operation.ADD, None),  # no amount named: people decide
        (CommunityPolicy("cc-acme-be", "C0B"), Operation.ADD, Decimal("0.01")),  # no rule
    ],
)
def test_no_auto_approval(
    policy: CommunityPolicy, operation: Operation, credit: Decimal | None
) -> None:
    assert auto_approve(policy, operation, credit) is None


def test_the_rule_is_named_where_it_is_set() -> None:
    inherited = CommunityPolicy(
        "cc-acme-be",
        "C0B",
        auto_approve_add_up_to=Decimal("100.00"),
        origins={"auto_approve_add_up_to_eur": "defaults"},
    )
    rule = auto_approve(inherited, Operation.ADD, Decimal("1.00"))
    assert rule == "defaults.auto_approve_add_up_to_eur = €100.00"


# Escalation -------------------------------------------------------------------------------


def test_escalation_is_due_at_the_hour_not_before() -> None:
    assert not escalation_due(NL, request(), FILED + 8 * HOUR - 1)
    assert escalation_due(NL, request(), FILED + 8 * HOUR)


@pytest.mark.parametrize(
    "changes",
    [
        {"escalated_at": FILED + 9 * HOUR},  # once per request
        {"status": Status.APPROVED},
        {"status": Status.SCHEDULED},
        {"status": Status.REJECTED},
        {"expires_at": FILED + 8 * HOUR},  # expired: the sweep expires it instead
    ],
)
def test_no_escalation(changes: dict[str, object]) -> None:
    assert not escalation_due(NL, request(**changes), FILED + 9 * HOUR)


def test_no_escalation_without_the_rule_or_anyone_to_ask() -> None:
    plain = CommunityPolicy("cc-acme-be", "C0B")
    nobody = CommunityPolicy("cc-acme-be", "C0B", escalate_after_hours=1)
    assert not escalation_due(plain, request(), FILED + 100 * HOUR)
    assert not escalation_due(nobody, request(), FILED + 2 * HOUR)


def test_the_escalation_marker_survives_the_redis_hash() -> None:
    marked = request(escalated_at=FILED + 8 * HOUR)
    again = MemberRequest.from_hash(marked.to_hash())
    assert again.escalated_at == FILED + 8 * HOUR
    assert not escalation_due(NL, again, FILED + 10 * HOUR)
    # a request stored before the field existed reads as never escalated
    old = {k: v for k, v in request().to_hash().items() if k != "escalated_at"}
    assert MemberRequest.from_hash(old).escalated_at == 0.0


# Delegation -------------------------------------------------------------------------------


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


AWAY = Delegation("U0BOB", "U0ERIN", until=date(2027, 1, 10), set_at=at(2027, 1, 4, 9))


def test_a_delegation_is_active_until_its_last_day_inclusive_in_the_timezone() -> None:
    # 10 January, 23:30 in Amsterdam (22:30 UTC): still the last day
    assert AWAY.active_at(at(2027, 1, 10, 22, 30), AMSTERDAM)
    # 11 January, 00:30 in Amsterdam is still 10 January in UTC: over all the same
    assert not AWAY.active_at(at(2027, 1, 10, 23, 30), AMSTERDAM)
    assert AWAY.active_on(date(2027, 1, 10)) and not AWAY.active_on(date(2027, 1, 11))
    assert local_day(at(2027, 1, 10, 23, 30), AMSTERDAM) == date(2027, 1, 11)


def test_active_for_picks_the_delegates_own_delegations() -> None:
    other = Delegation("U0GRACE", "U0FRANK", until=date(2027, 1, 20), set_at=0.0)
    ended = Delegation("U0DAVE", "U0ERIN", until=date(2027, 1, 5), set_at=0.0)
    now = at(2027, 1, 8, 12)
    assert active_for([AWAY, other, ended], "U0ERIN", now, AMSTERDAM) == [AWAY]
    assert active_for([AWAY, other, ended], "U0BOB", now, AMSTERDAM) == []


@pytest.mark.parametrize(
    ("delegate", "until", "expected"),
    [
        ("U0ERIN", date(2027, 1, 4), None),  # today is fine
        ("U0ERIN", date(2028, 1, 5), None),  # a year ahead (2027 has 365 days)
        ("U0BOB", date(2027, 1, 10), "Choose someone else: you cannot stand in for yourself."),
        ("U0ERIN", date(2027, 1, 3), "Choose today or a later date."),
        ("U0ERIN", date(2028, 1, 6), "Choose a date at most a year ahead."),
    ],
)
def test_away_problem(delegate: str, until: date, expected: str | None) -> None:
    assert away_problem("U0BOB", delegate, until, today=date(2027, 1, 4)) == expected


def test_a_delegation_round_trips_as_json() -> None:
    assert Delegation.from_json(AWAY.to_json()) == AWAY
