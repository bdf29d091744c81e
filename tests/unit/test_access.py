"""The decision of who may act (bot.domain.access): the table is complete, read as
PRODUCT.md section 9 says, and the README shows it as rendered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.access import (
    TABLE,
    Action,
    Actor,
    Permit,
    Refusal,
    Relation,
    Target,
    about,
    may,
    render_table,
)
from bot.domain.roles import Role

ROOT = Path(__file__).parents[2]
HR, MANAGER = frozenset({Role.HR}), frozenset({Role.MANAGER})
DECIDERS = (Action.APPROVE, Action.REJECT, Action.RETRY, Action.CANCEL, Action.CHANGE_DATE)


def target(**overrides: object) -> Target:
    values: dict[str, object] = {
        "requester_id": "U0ALICE",
        "names": about("bob@acme.nl"),
        "last_changer_id": "U0CHANGER",
        "approver_ids": ("U0GRACE",),
    }
    values.update(overrides)
    return Target(**values)  # type: ignore[arg-type]


def test_every_action_has_a_row_and_every_row_every_relation() -> None:
    assert set(TABLE) == set(Action), "an action without its row in bot.domain.access.TABLE"
    for action, rule in TABLE.items():
        assert set(rule.relations) == set(Relation), action
        assert rule.roles, f"{action}: no role may do it"


@pytest.mark.parametrize("action", [*DECIDERS, Action.STOP])
def test_neither_subject_nor_last_changer_may_act_whatever_their_roles(action: Action) -> None:
    everything = frozenset(Role)
    subject = Actor("U0BOB", "Bob+perks@ACME.nl", everything)  # the same mailbox
    assert may(action, subject, target()).reason is Refusal.EMPLOYEE
    changer = Actor("U0CHANGER", "changer@acme.nl", everything)
    assert may(action, changer, target()).reason is Refusal.CHANGER


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (Action.APPROVE, False),
        (Action.REJECT, False),
        (Action.RETRY, False),
        (Action.STOP, False),
        (Action.CANCEL, True),
        (Action.CHANGE_DATE, True),
    ],
)
def test_the_requester_may_only_cancel_and_change_the_date(action: Action, allowed: bool) -> None:
    requester = Actor("U0ALICE", "alice@acme.nl", HR)
    verdict = may(action, requester, target())
    assert verdict.allowed is allowed
    assert allowed or verdict.reason is Refusal.OWN


def test_a_requester_who_changed_the_date_may_still_cancel_it() -> None:
    requester = Actor("U0ALICE", "alice@acme.nl", HR)
    assert may(Action.CANCEL, requester, target(last_changer_id="U0ALICE")).allowed


def test_a_prior_approver_may_not_approve_again_but_may_reject() -> None:
    grace = Actor("U0GRACE", "grace@acme.nl", MANAGER)
    assert may(Action.APPROVE, grace, target()).reason is Refusal.DUPLICATE
    assert may(Action.REJECT, grace, target()).allowed


def test_without_the_right_role_it_is_refused_and_the_verdict_names_the_roles() -> None:
    frank = Actor("U0FRANK", "frank@acme.nl", frozenset())
    verdict = may(Action.APPROVE, frank, target())
    assert verdict.reason is Refusal.ROLE and verdict.needs == MANAGER
    assert may(Action.FILE, Actor("U0BOB", "bob2@acme.nl", MANAGER), target()).reason is (
        Refusal.ROLE
    )


@pytest.mark.parametrize("action", list(Action))
def test_a_missing_email_refuses_every_action_whose_subject_is_refused(action: Action) -> None:
    blind = Actor("U0GRACE", "", frozenset(Role))
    verdict = may(action, blind, target(approver_ids=()))
    if TABLE[action].relations[Relation.SUBJECT] is Permit.REFUSE:
        assert verdict.reason is Refusal.EMAIL_UNKNOWN
    else:
        assert verdict.allowed


def test_filing_a_request_about_yourself_is_refused() -> None:
    alice = Actor("U0ALICE", "alice@acme.nl", HR)
    own = Target("U0ALICE", about("ALICE@acme.nl"))
    assert may(Action.FILE, alice, own).reason is Refusal.EMPLOYEE
    assert may(Action.FILE, alice, Target("U0ALICE", about("jane@example.com"))).allowed


def test_the_readme_shows_the_table_as_rendered() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- BEGIN who-may-do-what -->\n(.*?)<!-- END who-may-do-what -->", readme, re.S
    )
    assert found, "README.md lost its who-may-do-what markers"
    assert found.group(1) == render_table(), (
        "README.md's 'Who may do what' table differs from bot.domain.access.TABLE; paste the "
        "output of `python -m bot.domain.access` between the who-may-do-what markers"
    )


def test_a_delegate_may_not_decide_what_the_absent_approver_could_not() -> None:
    """The stand-in column: Carol decides for Bob, who filed, changed or approved it."""
    carol = Actor("U0CAROL", "carol@acme.nl", frozenset({Role.MANAGER}), for_ids=("U0BOB",))
    jane = about("jane@example.com")
    assert may(Action.APPROVE, carol, Target("U0ALICE", jane)).allowed
    for target in (
        Target("U0BOB", jane),
        Target("U0ALICE", jane, last_changer_id="U0BOB"),
        Target("U0ALICE", jane, approver_ids=("U0BOB",)),
    ):
        verdict = may(Action.APPROVE, carol, target)
        assert (verdict.allowed, verdict.reason) == (False, Refusal.STAND_IN)
    assert not may(Action.REJECT, carol, Target("U0BOB", jane)).allowed
