"""The effective policy as `python -m bot policy check` prints it (bot.runtime.policy)."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.community_policy import PolicyBase, environment_book
from bot.domain.policy_file import parse_policy
from bot.domain.roles import Role
from bot.runtime.policy import describe_book, unlisted_problems

BASE = PolicyBase(
    channel="C0ENV",
    max_credit=Decimal("900.00"),
    roles={Role.MANAGER: ("S0MANAGERS",), Role.ADMIN: ("U0DAVE",), Role.HR: ()},
)


def test_roles_star_and_inherited_values_say_where_they_come_from() -> None:
    book = parse_policy(
        '[communities.cc-x]\napprovers = ["U0BOB"]\nlanguage = "nl"\n', BASE, require_channel=True
    )
    assert describe_book(book) == [
        "Effective policy (POLICY_FILE):",
        "  in every community (ROLES_*): manager S0MANAGERS; admin U0DAVE",
        "[cc-x]",
        "  channel              C0ENV  (APPROVALS_CHANNEL)",
        "  requesters (hr)      -",
        "  approvers (manager)  U0BOB",
        "  support              -",
        "  approvals add        1  (APPROVALS_REQUIRED_ADD)",
        "  approvals remove     1  (APPROVALS_REQUIRED_REMOVE)",
        "  max credit           €900.00  (MAX_CREDIT_EUR)",
        "  auto-approve         -",
        "  escalation           -",
        "  expiry               72 h  (REQUEST_EXPIRY_HOURS)",
        "  reminder             24 h  (REMINDER_AFTER_HOURS)",
        "  language             nl",
    ]


def test_without_a_file_one_policy_for_every_community() -> None:
    lines = describe_book(environment_book(BASE))
    assert lines[0] == "Effective policy (environment):"
    assert "[every community]" in lines


def test_unlisted_communities() -> None:
    assert unlisted_problems(["a", "b"], {"b", "c"}) == [
        "communities.a: the Communities API does not list this community for this client "
        "(it lists: b, c)"
    ]
    assert unlisted_problems(["a"], set())[0].endswith("(it lists: none)")
