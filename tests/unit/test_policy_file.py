"""POLICY_FILE: reading, inheritance (environment < [defaults] < [communities.<id>]), and
every bad input named by its TOML path, all in one pass. Pure: no Redis, no API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.community_policy import PolicyBase, environment_book
from bot.domain.policy_file import PolicyFileError, parse_policy, read_policy
from bot.domain.requests import Operation
from bot.domain.roles import Role

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"
BASE = PolicyBase(
    channel="C0ENVCHAN",
    approvals_add=1,
    approvals_remove=1,
    max_credit=Decimal("2500.00"),
    expiry_hours=72,
    reminder_hours=24,
    roles={Role.MANAGER: ("U0GLOBAL",)},
)

TWO_COMMUNITIES = """
[defaults]
approvals = { add = 1, remove = 1 }
max_credit_eur = "2000.00"
expiry_hours = 48
language = "en"
support = ["S0SUPPORT"]

[communities.cc-acme-nl]
channel = "C0APPROVNL"
requesters = ["S0HRNL", "U0HR1"]
approvers = ["S0MANAGERSNL"]
approvals = { remove = 2 }
max_credit_eur = "1500.00"
auto_approve_add_up_to_eur = "250.00"
escalate_after_hours = 8
escalate_to = ["U0DIRECTOR"]
language = "nl"

[communities.cc-acme-be]
approvers = ["W0MANAGERBE"]
"""


def problems_of(text: str, *, require_channel: bool = True, base: PolicyBase = BASE) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        parse_policy(text, base, require_channel=require_channel)
    return caught.value.problems


def test_each_community_inherits_defaults_then_the_environment() -> None:
    book = parse_policy(TWO_COMMUNITIES, BASE, require_channel=True)
    nl = book.for_community("cc-acme-nl")
    be = book.for_community("cc-acme-be")
    assert nl is not None and be is not None
    assert nl.channel == "C0APPROVNL"
    assert nl.requesters == ("S0HRNL", "U0HR1")
    assert nl.approvers == ("S0MANAGERSNL",)
    assert nl.support == ("S0SUPPORT",)  # from [defaults]
    assert (nl.approvals_add, nl.approvals_remove) == (1, 2)  # add from [defaults]
    assert nl.max_credit == Decimal("1500.00")
    assert nl.auto_approve_add_up_to == Decimal("250.00")
    assert nl.escalate_after_hours == 8.0 and nl.escalate_to == ("U0DIRECTOR",)
    assert nl.expiry_hours == 48 and nl.reminder_hours == 24  # [defaults], environment
    assert nl.language == "nl"
    # cc-acme-be names no channel: the environment's APPROVALS_CHANNEL
    assert be.channel == "C0ENVCHAN"
    assert be.max_credit == Decimal("2000.00") and be.language == "en"
    assert be.auto_approve_add_up_to is None and not be.escalates
    assert be.origins["channel"] == "APPROVALS_CHANNEL"
    assert be.origins["max_credit_eur"] == "defaults"
    assert nl.origins["max_credit_eur"] == "communities.cc-acme-nl"
    # ROLES_* go along, for every community; the file manages only the ones it names
    assert book.global_roles[Role.MANAGER] == ("U0GLOBAL",)
    assert book.community_ids == ("cc-acme-nl", "cc-acme-be")
    assert book.for_community("acme-employees") is None
    assert not book.manages("acme-employees")


def test_without_a_file_the_environment_is_every_communitys_policy() -> None:
    book = environment_book(BASE)
    policy = book.for_community("anything")
    assert policy is not None and policy.community_id == "anything"
    assert policy.channel == "C0ENVCHAN"
    assert policy.approvals_required(Operation.ADD) == 1
    assert policy.max_credit == Decimal("2500.00")
    assert policy.auto_approve_add_up_to is None and not policy.escalates
    assert book.community_ids is None and book.manages("anything")


def test_to_policy_keeps_the_bot_wide_retention_and_schedule() -> None:
    from bot.domain.policy import Policy

    base = Policy(retention_seconds=99.0)
    nl = parse_policy(TWO_COMMUNITIES, BASE, require_channel=True).for_community("cc-acme-nl")
    assert nl is not None
    policy = nl.to_policy(base)
    assert policy.approvals_required(Operation.REMOVE) == 2
    assert policy.max_credit == Decimal("1500.00")
    assert policy.expiry_seconds == 48 * 3600
    assert policy.retention_seconds == 99.0 and policy.schedule is base.schedule


def test_the_example_file_reads() -> None:
    book = read_policy(EXAMPLE, BASE, require_channel=True)
    assert set(book.communities) == {"cc-acme-nl", "cc-acme-be"}
    assert book.channels() == {"C0APPROVNL", "C0APPROVBE"}


def test_every_problem_is_named_by_its_path_in_one_pass() -> None:
    text = """
[defaults]
max_credit_eur = "-5.00"

[communities.cc-acme-nl]
channel = "#approvals"
aprovers = ["U0BOB"]
requesters = ["U0ALICE", "alice"]
approvals = { add = 1, remove = 3 }
auto_approve_add_up_to_eur = "250.001"
escalate_after_hours = 8
language = "de"

[communities.cc-acme-be]
escalate_channel = "D0DIRECT"
"""
    assert problems_of(text) == [
        "defaults.max_credit_eur: must not be negative",
        "communities.cc-acme-nl.channel: '#approvals' is not a channel ID (C…/G…); use the "
        "ID, not the channel's name",
        "communities.cc-acme-nl.aprovers: unknown key (did you mean approvers?)",
        "communities.cc-acme-nl.requesters[1]: 'alice' is not a Slack user ID (U…/W…) or "
        "user-group ID (S…)",
        "communities.cc-acme-nl.approvals.remove: must be at most 2",
        "communities.cc-acme-nl.auto_approve_add_up_to_eur: use at most two decimals (whole cents)",
        'communities.cc-acme-nl.language: expected "en" or "nl"',
        "communities.cc-acme-be.escalate_channel: 'D0DIRECT' is not a channel ID (C…/G…); "
        "use the ID, not the channel's name",
        # the cross-field check still ran, in the same pass
        "communities.cc-acme-nl.escalate_after_hours: an escalation needs escalate_to (who "
        "is asked when a request in cc-acme-nl stays undecided)",
    ]


def test_a_malformed_file_names_the_line() -> None:
    text = '[defaults]\nmax_credit_eur = "2500.00"\napprovers = [U0BOB]\n'
    (line,) = problems_of(text)
    assert line.startswith("POLICY_FILE: malformed TOML: line 3, column ")


def test_an_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyFileError) as caught:
        read_policy(missing, BASE, require_channel=False)
    assert caught.value.problems == [f"{missing}: cannot read the file (No such file or directory)"]


BAD_VALUES = [
    ('requesters = "U0ALICE"', 'requesters: expected a list of IDs such as ["U0123ABCD"]'),
    ('approvers = ["U0X", 7]', "approvers[1]: expected a string"),
    (
        'escalate_to = ["C0CHANNEL"]\nescalate_after_hours = 2',
        "escalate_to[0]: 'C0CHANNEL' is not a Slack user ID",
    ),
    ('support = ["u0lower"]', "support[0]: 'u0lower' is not a Slack user ID"),
    ('max_credit_eur = "lots"', 'max_credit_eur: expected an amount in euros such as "250.00"'),
    ("max_credit_eur = true", 'max_credit_eur: expected an amount in euros such as "250.00"'),
    ('auto_approve_add_up_to_eur = "-0.01"', "auto_approve_add_up_to_eur: must not be negative"),
    ('max_credit_eur = "0"', "max_credit_eur: must be more than 0.00"),
    ("expiry_hours = 0", "expiry_hours: must be more than 0"),
    ('expiry_hours = "72"', "expiry_hours: expected a number of hours"),
    ("approvals = { add = true }", "approvals.add: expected a whole number"),
    ("approvals = { add = -1 }", "approvals.add: must be at least 0"),
    ("approvals = 2", "approvals: expected a table"),
    (
        "reminder_hours = 80",
        "reminder_hours: reminder_hours (80) must be less than expiry_hours (72)",
    ),
    (
        'escalate_after_hours = 72\nescalate_to = ["U0D"]',
        "escalate_after_hours: must be less than expiry_hours (72)",
    ),
    (
        'max_credit_eur = "100"\nauto_approve_add_up_to_eur = "100.01"',
        "auto_approve_add_up_to_eur: more than max_credit_eur (100.00)",
    ),
]


@pytest.mark.parametrize(("section", "expected"), BAD_VALUES)
def test_bad_values(section: str, expected: str) -> None:
    (line,) = problems_of(f'[communities.cc-x]\nchannel = "C0OK"\n{section}\n')
    assert line.startswith(f"communities.cc-x.{expected}"), line


def test_a_bare_number_is_an_exact_amount_too() -> None:
    book = parse_policy("[communities.cc-x]\nmax_credit_eur = 1500.5\n", BASE, require_channel=True)
    policy = book.for_community("cc-x")
    assert policy is not None and policy.max_credit == Decimal("1500.50")


def test_a_problem_set_in_defaults_is_named_there() -> None:
    text = """
[defaults]
escalate_after_hours = 4

[communities.cc-x]
channel = "C0OK"
"""
    assert problems_of(text) == [
        "defaults.escalate_after_hours: an escalation needs escalate_to (who is asked when "
        "a request in cc-x stays undecided)"
    ]


def test_a_channel_is_required_only_where_slack_is_used() -> None:
    text = '[communities.cc-x]\napprovers = ["U0BOB"]\n'
    no_channel = PolicyBase()
    assert problems_of(text, base=no_channel) == [
        "communities.cc-x.channel: required (set it here or in [defaults]; "
        "APPROVALS_CHANNEL is not set either)"
    ]
    book = parse_policy(text, no_channel, require_channel=False)  # the console needs none
    policy = book.for_community("cc-x")
    assert policy is not None and policy.channel == ""


def test_unknown_top_level_keys_and_no_community() -> None:
    assert problems_of('[defualts]\nchannel = "C0OK"\n') == [
        "defualts: unknown key (did you mean defaults?)",
        "communities: no community named; add a [communities.<id>] table for each community "
        "the bot manages",
    ]


def test_a_broken_file_still_names_its_communities_for_the_api_check() -> None:
    with pytest.raises(PolicyFileError) as caught:
        parse_policy(
            "[communities.a]\naprovers = []\n[communities.b]\n", BASE, require_channel=True
        )
    assert caught.value.community_ids == ("a", "b")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_the_docs_name_every_key_and_their_example_reads() -> None:
    from bot.domain.policy_file import SECTION_KEYS

    text = DOCS.read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in table] == list(SECTION_KEYS)
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    book = parse_policy(example, BASE, require_channel=True)
    assert set(book.communities) == {"cc-acme-nl", "cc-acme-be"}
