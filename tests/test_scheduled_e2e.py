"""Scheduled changes end to end (issue 11): approve now, carried out on the date, with the
bot's clock moved forward (LocalStack's MovableClock) instead of waiting. Real Redis, the
bot over HTTP, the sandbox and the Slack stand-in."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.domain.requests import Operation, Status
from bot.slack.actors import actor_of
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import (
    JANE,
    approval_message,
    click,
    eventually,
    file_request,
    open_modal,
    wait_status,
)

MEMBER = "leaver@example.com"


def today(stack) -> date:
    return stack.services.policy.schedule.today(stack.clock.now())


def creates(stack) -> int:
    return stack.sandbox.state.operation_counts.get("createMember", 0)


def move_clock_to(stack, epoch: float) -> None:
    stack.clock.advance(max(0.0, epoch - stack.clock.now()))


def blocks_text(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def leaver(stack, last_day: date):
    stack.sandbox.state.add_member(COMMUNITY, MEMBER, "Lea", "Ver", Decimal("300.00"))
    values = {"email": MEMBER, "reason": "Contract ends", "last_day": last_day.isoformat()}
    return file_request(stack, ALICE, values, subcommand="remove")


def test_dated_onboarding_waits_scheduled_and_runs_on_its_start_date(make_stack):
    stack = make_stack(sweep_every=0.5)
    start = today(stack) + timedelta(days=3)
    request = file_request(stack, ALICE, {**JANE, "start_date": start.isoformat()})
    click(stack, BOB, "Approve", request)
    scheduled = wait_status(stack, request.id, Status.SCHEDULED)
    due = stack.services.policy.schedule.due_at(Operation.ADD, start)
    assert scheduled.due_at == due
    message = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"]
            == "scheduled"
            and m
        ),
        description="the approval message says scheduled",
    )
    assert f"<!date^{int(due)}^" in blocks_text(message)
    assert creates(stack) == 0

    move_clock_to(stack, due - 60)
    assert stack.services.store.get(request.id).status is Status.SCHEDULED
    move_clock_to(stack, due + 1)
    done = wait_status(stack, request.id, Status.DONE, timeout=20)
    assert creates(stack) == 1
    assert "late" not in done.outcome


def test_dated_offboarding_reminds_the_day_before_and_runs_after_the_last_day(make_stack):
    stack = make_stack(sweep_every=0.5)
    last_day = today(stack) + timedelta(days=2)
    request = leaver(stack, last_day)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    due = stack.services.policy.schedule.due_at(Operation.REMOVE, last_day)

    move_clock_to(stack, due - 20 * 3600)  # the day before
    reminder = stack.standin.wait_for(
        lambda: next((m for m in stack.standin.dms(ALICE) if "tomorrow" in m.text), None),
        timeout=15,
        description="the reminder DM",
    )
    assert "Lea Ver" in reminder.text and "revoked tomorrow after 23:59" in reminder.text
    assert "Cancel" in blocks_text(reminder)
    assert stack.sandbox.state.member(COMMUNITY, MEMBER) is not None

    move_clock_to(stack, due + 1)
    wait_status(stack, request.id, Status.DONE, timeout=20)
    assert stack.sandbox.state.member(COMMUNITY, MEMBER) is None


def test_a_manager_cancels_a_scheduled_change_and_nothing_runs(make_stack):
    stack = make_stack(sweep_every=0.5)
    start = today(stack) + timedelta(days=5)
    request = file_request(stack, ALICE, {**JANE, "start_date": start.isoformat()})
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    stack.standin.wait_for(
        lambda: "Cancel" in blocks_text(approval_message(stack, request)),
        description="a Cancel button on the scheduled message",
    )
    click(stack, BOB, "Cancel", request)
    wait_status(stack, request.id, Status.CANCELLED)
    move_clock_to(stack, stack.services.policy.schedule.due_at(Operation.ADD, start) + 60)
    stack.services.store.release_due()
    assert stack.services.store.get(request.id).status is Status.CANCELLED
    assert creates(stack) == 0
    again = file_request(stack, ALICE, JANE)  # the address is free to file again
    assert again.id != request.id


def test_a_later_start_date_keeps_the_approval_an_earlier_one_asks_again(make_stack):
    stack = make_stack(sweep_every=0.5)
    start = today(stack) + timedelta(days=5)
    schedule = stack.services.policy.schedule
    request = file_request(stack, ALICE, {**JANE, "start_date": start.isoformat()})
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)

    later = start + timedelta(days=2)
    decision = stack.services.requests.change_date(
        request.id, actor_of(stack.services, ALICE), later
    )
    assert decision.ok
    moved = stack.services.store.get(request.id)
    assert moved.status is Status.SCHEDULED
    assert moved.due_at == schedule.due_at(Operation.ADD, later)

    earlier = start - timedelta(days=1)
    assert stack.services.requests.change_date(
        request.id, actor_of(stack.services, ALICE), earlier
    ).ok
    back = wait_status(stack, request.id, Status.PENDING)
    assert back.approvals == [] and back.due_at == schedule.due_at(Operation.ADD, earlier)
    stack.standin.wait_for(
        lambda: "Approve" in blocks_text(approval_message(stack, request)),
        description="the message asks for approval again",
    )


def test_the_change_date_modal_moves_a_scheduled_offboarding(make_stack):
    stack = make_stack(sweep_every=0.5)
    last_day = today(stack) + timedelta(days=4)
    request = leaver(stack, last_day)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    stack.standin.wait_for(
        lambda: "Change date" in blocks_text(approval_message(stack, request)),
        description="a Change date button",
    )
    before = stack.standin.open_view(ALICE)
    click(stack, ALICE, "Change date", request)
    view = stack.standin.wait_for(
        lambda: (v := stack.standin.open_view(ALICE)) is not None and v != before and v,
        description="the change-date modal",
    )
    earlier = last_day - timedelta(days=1)
    result = stack.driver.fill_and_submit(ALICE, view["id"], {"day": earlier.isoformat()})
    assert result.errors is None, result.errors
    moved = eventually(
        lambda: (
            (r := stack.services.store.get(request.id))
            and r.due_at == stack.services.policy.schedule.due_at(Operation.REMOVE, earlier)
            and r
        ),
        what="the new date stored",
    )
    assert moved.status is Status.SCHEDULED  # earlier offboarding: no new approval


def test_a_change_due_while_every_worker_was_down_runs_when_one_starts(make_stack):
    stack = make_stack(workers=0)
    start = today(stack) + timedelta(days=1)
    request = file_request(stack, ALICE, {**JANE, "start_date": start.isoformat()})
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    due = stack.services.policy.schedule.due_at(Operation.ADD, start)
    move_clock_to(stack, due + 2 * 3600 + 5)  # two hours after it was due, no worker up
    assert stack.services.store.get(request.id).status is Status.SCHEDULED
    stack.start_worker()
    done = wait_status(stack, request.id, Status.DONE, timeout=20)
    assert creates(stack) == 1
    assert "2 h 0 min late" in done.outcome


def test_dates_are_refused_on_the_field(make_stack):
    stack = make_stack()
    now_day = today(stack)
    cases = [
        ("add", {**JANE, "start_date": (now_day - timedelta(days=1)).isoformat()}, "start_date"),
        ("add", {**JANE, "start_date": (now_day + timedelta(days=400)).isoformat()}, "start_date"),
        (
            "remove",
            {"email": MEMBER, "reason": "x", "last_day": (now_day - timedelta(days=3)).isoformat()},
            "last_day",
        ),
    ]
    for subcommand, values, field in cases:
        view = open_modal(stack, ALICE, subcommand)
        result = stack.driver.fill_and_submit(ALICE, view["id"], values)
        assert result.errors is not None and field in result.errors, (values, result.errors)

    # Late on the last day itself: its end (23:59) has gone.
    schedule = stack.services.policy.schedule
    tz = schedule.timezone
    local = datetime.fromtimestamp(stack.clock.now(), tz)
    end_of_day = datetime(local.year, local.month, local.day, 23, 59, 30, tzinfo=tz)
    move_clock_to(stack, end_of_day.timestamp())
    view = open_modal(stack, ALICE, "remove")
    values = {"email": MEMBER, "reason": "x", "last_day": today(stack).isoformat()}
    result = stack.driver.fill_and_submit(ALICE, view["id"], values)
    assert result.errors is not None and "has passed" in result.errors["last_day"]
