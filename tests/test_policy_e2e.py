"""POLICY_FILE wired end to end (issue 18), over signed HTTP and Socket Mode: two
communities, each with its own requesters, approvers and channel; auto-approval; the
sweep's escalation under several workers; delegation (/community away)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.access import Action, Actor
from bot.domain.requests import MemberRequest, Status
from bot.storage.audit_log import RedisAuditLog
from tests.conftest import ALICE, BOB, BOTH_MODES, CAROL, DAVE, ERIN, FRANK, GRACE
from tests.flows import ephemeral_after, eventually, open_modal, wait_status

pytestmark = BOTH_MODES

NL, BE = "cc-acme-nl", "cc-acme-be"
NL_CHANNEL, BE_CHANNEL, ESCALATE_CHANNEL = "C0APPROVNL", "C0APPROVBE", "C0ESCALATE"

# Alice files and Bob decides in NL; Frank files and Grace decides in BE; Erin is asked
# when an NL request waits 8 hours; Carol may look up credit in NL only. No ROLES_*.
POLICY = f"""
[defaults]
approvals = {{ add = 1, remove = 1 }}

[communities.{NL}]
channel = "{NL_CHANNEL}"
requesters = ["{ALICE}"]
approvers = ["{BOB}"]
support = ["{CAROL}"]
auto_approve_add_up_to_eur = "250.00"
escalate_after_hours = 8
escalate_to = ["{ERIN}"]
escalate_channel = "{ESCALATE_CHANNEL}"

[communities.{BE}]
channel = "{BE_CHANNEL}"
requesters = ["{FRANK}"]
approvers = ["{GRACE}"]
reminder_hours = 2
"""


@pytest.fixture
def policy_stack(make_stack, tmp_path: Path):
    def make(**overrides: object):
        path = tmp_path / "policy.toml"
        path.write_text(POLICY, encoding="utf-8")
        return make_stack(
            policy_file=str(path),
            roles_hr="",
            roles_manager="",
            roles_support="",
            roles_admin=DAVE,
            sandbox_communities=f"{NL}:Acme NL,{BE}:Acme BE",
            **overrides,
        )

    return make


def options_of(view: dict) -> list[str]:
    for block in view["blocks"]:
        element = block.get("element") or {}
        if block.get("block_id") == "community_id" or element.get("action_id") == "community_id":
            return [o["value"] for o in element.get("options", [])]
    raise AssertionError("no community select in the modal")


def file(stack, user: str, community: str, email: str, credit: str = "750.00") -> MemberRequest:
    known = set(stack.services.store.recent_ids(500))
    view = open_modal(stack, user, "add")
    values = {
        "community_id": community,
        "first_name": "Jane",
        "last_name": "Doe",
        "email": email,
        "credit": credit,
    }
    result = stack.driver.fill_and_submit(user, view["id"], values)
    assert result.errors is None, result.errors
    (request_id,) = eventually(
        lambda: set(stack.services.store.recent_ids(500)) - known, what="request stored"
    )
    return eventually(
        lambda: (r := stack.services.store.get(request_id)) and r.message_ts and r,
        what="approval message posted",
    )


def click(stack, user: str, label: str, request: MemberRequest):
    return stack.driver.click(user, label, channel=request.channel, ts=request.message_ts)


def audit_of(stack, request_id: str) -> list[dict[str, str]]:
    return list(RedisAuditLog(stack.redis).entries(request_id))


def test_each_community_has_its_channel_and_its_approvers(policy_stack) -> None:
    stack = policy_stack()
    # The Add modal offers each requester their own community only.
    assert options_of(open_modal(stack, ALICE, "add")) == [NL]
    assert options_of(open_modal(stack, FRANK, "add")) == [BE]

    nl = file(stack, ALICE, NL, "jan@example.com")
    be = file(stack, FRANK, BE, "joke@example.com")
    assert (nl.channel, be.channel) == (NL_CHANNEL, BE_CHANNEL)
    assert nl.status is Status.PENDING and be.status is Status.PENDING

    # An approver of one community cannot decide the other's request: button ...
    assert click(stack, GRACE, "Approve", nl).status_code == 200
    assert click(stack, BOB, "Approve", be).status_code == 200
    stack.standin.wait_for(
        lambda: len(stack.standin.ephemerals(GRACE)) and len(stack.standin.ephemerals(BOB)),
        description="both refused",
    )
    assert stack.services.store.get(nl.id).status is Status.PENDING
    assert stack.services.store.get(be.id).status is Status.PENDING
    # ... nor by what App Home and /community pending offer (the same verdict)
    grace = Actor(GRACE, "grace@acme.nl", frozenset())
    assert not stack.services.requests.verdict(Action.APPROVE, nl, grace).allowed
    assert stack.services.requests.verdict(Action.APPROVE, be, grace).allowed

    # ... nor from App Home: Grace's lists the BE request with its buttons, not the NL one
    assert stack.driver.open_home(GRACE).status_code == 200
    home = stack.standin.wait_for(
        lambda: (h := stack.standin.home(GRACE)) and be.id in json.dumps(h["blocks"]) and h,
        description="Grace's App Home",
    )
    assert nl.id not in json.dumps(home["blocks"])
    assert click(stack, BOB, "Approve", nl).status_code == 200
    assert click(stack, GRACE, "Approve", be).status_code == 200
    assert wait_status(stack, nl.id, Status.DONE).decided_by == BOB
    assert wait_status(stack, be.id, Status.DONE).decided_by == GRACE


def test_auto_approval_at_the_threshold_and_not_one_cent_over(policy_stack) -> None:
    stack = policy_stack()
    at = file(stack, ALICE, NL, "at@example.com", credit="250.00")
    over = file(stack, ALICE, NL, "over@example.com", credit="250.01")
    done = wait_status(stack, at.id, Status.DONE)
    assert done.decided_by == "system"
    filed = [e for e in audit_of(stack, at.id) if e["action"] == "filed"]
    assert filed and filed[0]["detail"].startswith("approved by policy (rule ")
    assert "auto_approve_add_up_to_eur = €250.00" in filed[0]["detail"]
    message = stack.standin.message(NL_CHANNEL, done.message_ts)
    assert "policy (rule" in str(message.blocks)
    assert stack.services.store.get(over.id).status is Status.PENDING


def test_escalation_once_under_several_workers(policy_stack) -> None:
    stack = policy_stack(workers=3, sweep_every=0.2)
    request = file(stack, ALICE, NL, "late@example.com")
    # Before it is escalated Erin may not decide it.
    assert click(stack, ERIN, "Approve", request).status_code == 200
    stack.standin.wait_for(lambda: stack.standin.ephemerals(ERIN), description="refused")
    assert stack.services.store.get(request.id).status is Status.PENDING

    stack.clock.advance(9 * 3600)
    eventually(lambda: stack.services.store.get(request.id).escalated_at, what="escalated")
    # Several sweeps later, still one reply in the thread and one post in the channel.
    for _ in range(3):
        stack.services.requests.sweep()
    replies = [
        m
        for m in stack.standin.messages(NL_CHANNEL)
        if m.thread_ts == request.message_ts and f"<@{ERIN}>" in str(m.blocks)
    ]
    posts = [m for m in stack.standin.messages(ESCALATE_CHANNEL) if request.id in m.text]
    assert (len(replies), len(posts)) == (1, 1)
    escalated = [e for e in audit_of(stack, request.id) if e["action"] == "escalated"]
    assert [(e["actor"], e["detail"]) for e in escalated] == [("system", f"to {ERIN}")]
    # An escalation is not a change: nobody became its last changer.
    assert stack.services.store.get(request.id).changed_by == ""

    assert click(stack, ERIN, "Approve", request).status_code == 200
    assert wait_status(stack, request.id, Status.DONE).decided_by == ERIN


def today_and_midnight(stack) -> tuple[date, float]:
    """Today in TIMEZONE on the bot's clock, and the seconds until the next local midnight."""
    zone = ZoneInfo(stack.settings.timezone)
    now = datetime.fromtimestamp(stack.clock.now(), zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
    return now.date(), (midnight - now).total_seconds()


def command_reply(stack, user: str, text: str) -> str:
    before = len(stack.standin.ephemerals(user))
    assert stack.driver.command(user, text).status_code == 200
    return ephemeral_after(stack, user, before)


def test_delegation_begins_and_ends_on_the_right_day(policy_stack) -> None:
    stack = policy_stack()
    today, to_midnight = today_and_midnight(stack)
    first = file(stack, ALICE, NL, "first@example.com")
    # Before Bob is away, Carol (support in NL) may not decide.
    assert click(stack, CAROL, "Approve", first).status_code == 200
    stack.standin.wait_for(lambda: stack.standin.ephemerals(CAROL), description="refused")
    assert stack.services.store.get(first.id).status is Status.PENDING

    # Frank is no approver: he cannot name a stand-in; Bob can, until today inclusive.
    assert "Only managers" in command_reply(stack, FRANK, f"away {today} <@{CAROL}>")
    reply = command_reply(stack, BOB, f"away {today.isoformat()} <@{CAROL}>")
    assert f"<@{CAROL}> decides what you could decide" in reply
    end = datetime.combine(
        today + timedelta(days=1), datetime.min.time(), ZoneInfo(stack.settings.timezone)
    )
    assert f"<!date^{int(end.timestamp())}^" in reply  # midnight after the last day

    assert click(stack, CAROL, "Approve", first).status_code == 200
    assert wait_status(stack, first.id, Status.DONE).decided_by == CAROL
    approved = [e for e in audit_of(stack, first.id) if e["action"] == "approved"]
    assert approved[0]["actor"] == CAROL and approved[0]["detail"] == f"for {BOB}"
    # Only for Bob's communities: not for a BE request.
    be = file(stack, FRANK, BE, "belgian@example.com")
    assert not stack.services.requests.verdict(Action.APPROVE, be, carol()).allowed

    # The last day ends at midnight in TIMEZONE: a minute before, she still may.
    second = file(stack, ALICE, NL, "second@example.com")
    stack.clock.advance(to_midnight - 60)
    assert stack.services.requests.verdict(Action.APPROVE, second, carol()).allowed
    stack.clock.advance(120)
    assert not stack.services.requests.verdict(Action.APPROVE, second, carol()).allowed
    assert click(stack, CAROL, "Approve", second).status_code == 200
    stack.standin.wait_for(
        lambda: len(stack.standin.ephemerals(CAROL)) >= 2, description="refused again"
    )
    assert stack.services.store.get(second.id).status is Status.PENDING


def carol() -> Actor:
    return Actor(CAROL, "carol@acme.nl", frozenset())


def test_away_with_a_plain_at_name_opens_a_modal_and_off_ends_it(policy_stack) -> None:
    stack = policy_stack()
    today, _ = today_and_midnight(stack)
    until = today + timedelta(days=3)
    view = open_modal(stack, BOB, f"away {until.isoformat()} @carol")
    days = [
        b["element"].get("initial_date") for b in view["blocks"] if b.get("block_id") == "until"
    ]
    assert days == [until.isoformat()]
    result = stack.driver.fill_and_submit(BOB, view["id"], {"delegate": BOB})
    assert result.errors == {"delegate": "Choose someone else: you cannot stand in for yourself."}
    result = stack.driver.fill_and_submit(BOB, view["id"], {"delegate": CAROL})
    assert result.errors is None, result.errors
    stored = eventually(lambda: stack.services.delegations.get(BOB), what="delegation stored")
    assert (stored.delegate_id, stored.until) == (CAROL, until)

    assert "no longer decides for you" in command_reply(stack, BOB, "away off")
    assert stack.services.delegations.get(BOB) is None


def test_a_delegate_may_not_decide_what_the_absent_approver_could_not(policy_stack) -> None:
    stack = policy_stack()
    today, _ = today_and_midnight(stack)
    command_reply(stack, BOB, f"away {today.isoformat()} <@{ALICE}>")
    # Alice stands in for Bob, but she filed it: her own case.
    own = file(stack, ALICE, NL, "own@example.com")
    assert click(stack, ALICE, "Approve", own).status_code == 200
    stack.standin.wait_for(lambda: stack.standin.ephemerals(ALICE), description="refused")
    assert stack.services.store.get(own.id).status is Status.PENDING


def test_an_admin_sees_the_effective_policy(policy_stack) -> None:
    stack = policy_stack()
    reply = command_reply(stack, DAVE, f"policy {BE}")
    assert f"[{BE}]" in reply and BE_CHANNEL in reply and f"[{NL}]" not in reply
    assert "Only admins" in command_reply(stack, BOB, "policy")


def test_a_workflow_step_files_with_the_roles_of_its_community(policy_stack) -> None:
    from tests.test_workflow_steps_e2e import ONBOARD_JANE, filed, finished, run

    stack = policy_stack()
    # Frank is hr in BE only: a step filing for NL in his name fails like the modal's refusal.
    refused = run(stack, {**ONBOARD_JANE, "community_id": NL, "requester": FRANK}, user=FRANK)
    assert finished(stack, refused).error == (
        "Community: Only HR may file requests. Ask an admin for the role."
    )
    accepted = run(stack, {**ONBOARD_JANE, "community_id": BE, "requester": FRANK}, user=FRANK)
    request = filed(stack, accepted)
    assert (request.community_id, request.channel) == (BE, BE_CHANNEL)


def test_credit_is_looked_up_only_where_the_caller_holds_a_role(policy_stack) -> None:
    stack = policy_stack()
    be = file(stack, FRANK, BE, "joke@example.com", credit="400.00")
    assert click(stack, GRACE, "Approve", be).status_code == 200
    wait_status(stack, be.id, Status.DONE)
    # Grace (manager in BE) finds her; Carol (support in NL only) does not look in BE.
    assert "€400.00" in command_reply(stack, GRACE, "credit joke@example.com")
    assert "not a member of any community" in command_reply(stack, CAROL, "credit joke@example.com")


def test_an_import_names_one_community_and_follows_its_people(policy_stack) -> None:
    from tests.import_flows import open_import, people_csv

    stack = policy_stack()
    view = open_import(stack, ALICE)
    assert options_of_import(view) == [NL]
    values = {"csv_file": ("people.csv", people_csv(2)), "operation": "add", "community_id": NL}
    result = stack.driver.fill_and_submit(ALICE, view["id"], values)
    assert result.errors is None, result.errors
    message = stack.standin.wait_for(
        lambda: next(
            (
                m
                for m in stack.standin.messages(NL_CHANNEL)
                if (m.metadata or {}).get("event_type") == "community_import"
            ),
            None,
        ),
        description="the import's approval message in NL's channel",
    )
    import_id = message.metadata["event_payload"]["import_id"]
    assert stack.services.imports.store.get(import_id).community_id == NL
    assert not [m for m in stack.standin.messages(BE_CHANNEL)]

    # BE's approver cannot decide it; NL's can.
    before = len(stack.standin.ephemerals(GRACE))
    stack.driver.click(GRACE, "Approve", channel=NL_CHANNEL, ts=message.ts)
    stack.standin.wait_for(
        lambda: len(stack.standin.ephemerals(GRACE)) > before, description="refused"
    )
    assert stack.services.imports.store.get(import_id).approver_ids == []
    stack.driver.click(BOB, "Approve", channel=NL_CHANNEL, ts=message.ts)
    eventually(
        lambda: stack.services.imports.store.get(import_id).approver_ids == [BOB],
        what="Bob's approval",
    )


def options_of_import(view: dict) -> list[str]:
    for block in view["blocks"]:
        element = block.get("element") or {}
        if "community" in str(block.get("block_id")) and element.get("options"):
            return [o["value"] for o in element["options"]]
    raise AssertionError("no community select in the Import modal")


def test_concurrent_sweeps_escalate_once(policy_stack) -> None:
    """Eight sweeps at the same moment (as many workers would): one reply, one post, one
    audit entry."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    stack = policy_stack(workers=0)
    request = file(stack, ALICE, NL, "race@example.com")
    later = stack.clock.now() + 9 * 3600
    start = Barrier(8)

    def sweep(_: int) -> None:
        start.wait()
        stack.services.requests.sweep(later)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(sweep, range(8)))
    escalated = [e for e in audit_of(stack, request.id) if e["action"] == "escalated"]
    posts = [m for m in stack.standin.messages(ESCALATE_CHANNEL) if request.id in m.text]
    assert (len(escalated), len(posts)) == (1, 1)


def test_without_a_policy_file_a_delegate_decides_for_an_absent_manager(stack) -> None:
    """ROLES_* everywhere (no POLICY_FILE): /community away still works."""
    from tests.flows import JANE, file_request
    from tests.flows import click as click_in_channel

    today, _ = today_and_midnight(stack)
    assert "decides what you could decide" in command_reply(
        stack, BOB, f"away {today.isoformat()} <@{FRANK}>"
    )
    request = file_request(stack, ALICE, JANE)
    assert click_in_channel(stack, FRANK, "Approve", request).status_code == 200
    assert wait_status(stack, request.id, Status.DONE).decided_by == FRANK
    approved = [e for e in audit_of(stack, request.id) if e["action"] == "approved"]
    assert approved[0]["detail"] == f"for {BOB}"


def test_each_community_reminds_after_its_own_hours(policy_stack) -> None:
    stack = policy_stack(workers=0)
    nl = file(stack, ALICE, NL, "wait-nl@example.com")
    be = file(stack, FRANK, BE, "wait-be@example.com")
    stack.services.requests.sweep(stack.clock.now() + 3 * 3600)

    def reminders(request: MemberRequest) -> list[str]:
        return [
            m.text
            for m in stack.standin.messages(request.channel)
            if m.thread_ts == request.message_ts and "Still waiting" in str(m.blocks)
        ]

    assert len(reminders(be)) == 1 and f"<@{GRACE}>" in reminders(be)[0]  # BE: after 2 h
    assert reminders(nl) == []  # NL: after 24 h
