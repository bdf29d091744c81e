"""Issue 17, items 1 to 4: the subject and the last changer may not act on a request,
whatever surface they use. Each step is a signed request to the bot over real HTTP, with
the Slack stand-in, the sandbox and a real Redis."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.domain.requests import Status
from tests.conftest import ALICE, BOB, COMMUNITY, GRACE
from tests.flows import JANE, approval_message, click, ephemeral_after, file_request, wait_status
from tests.test_scheduled_e2e import blocks_text, today

BOB_EMAIL = "bob@acme.nl"  # Bob's Slack address (tests.conftest.team)


def scheduled_offboarding_of_bob(stack, last_day: date):
    """Alice (HR) files Bob's offboarding on a date; Grace approves it: scheduled."""
    stack.sandbox.state.add_member(COMMUNITY, BOB_EMAIL, "Bob", "Manager", Decimal("500.00"))
    values = {"email": BOB_EMAIL, "reason": "Leaves", "last_day": last_day.isoformat()}
    request = file_request(stack, ALICE, values, subcommand="remove")
    click(stack, GRACE, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    stack.standin.wait_for(
        lambda: "Cancel" in blocks_text(approval_message(stack, request)),
        description="Cancel and Change date on the scheduled message",
    )
    return request


def audit(stack, request_id: str) -> list[tuple[str, str]]:
    return [(e["action"], e["actor"]) for e in stack.services.audit_log.entries(request_id)]


def open_view_after(stack, user: str, before) -> dict | None:
    view = stack.standin.open_view(user)
    return view if view != before else None


def test_the_employee_cannot_cancel_their_own_scheduled_offboarding(make_stack):
    """Item 1: Bob, a manager being offboarded, presses Cancel: refused, still scheduled."""
    stack = make_stack()
    request = scheduled_offboarding_of_bob(stack, today(stack) + timedelta(days=10))
    seen = len(stack.standin.ephemerals(BOB))
    assert click(stack, BOB, "Cancel", request).status_code == 200
    assert "about you" in ephemeral_after(stack, BOB, seen)
    assert stack.services.store.get(request.id).status is Status.SCHEDULED
    assert "cancelled" not in [action for action, _ in audit(stack, request.id)]


def test_the_employee_cannot_move_their_own_last_day(make_stack):
    """Item 2: Bob presses Change date: no modal opens, the date and the approval stay."""
    stack = make_stack()
    request = scheduled_offboarding_of_bob(stack, today(stack) + timedelta(days=10))
    before_view = stack.standin.open_view(BOB)
    seen = len(stack.standin.ephemerals(BOB))
    assert click(stack, BOB, "Change date", request).status_code == 200
    assert "about you" in ephemeral_after(stack, BOB, seen)
    assert open_view_after(stack, BOB, before_view) is None
    kept = stack.services.store.get(request.id)
    assert kept.status is Status.SCHEDULED and kept.due_at == request.due_at
    assert kept.approver_ids == [GRACE]


def test_a_manager_who_moved_a_date_cannot_approve_it_himself(make_stack):
    """Item 4: Bob moves a scheduled onboarding earlier (back to pending), then presses
    Approve: refused; Grace's approval carries it."""
    stack = make_stack()
    start = today(stack) + timedelta(days=10)
    request = file_request(stack, ALICE, {**JANE, "start_date": start.isoformat()})
    click(stack, GRACE, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
    stack.standin.wait_for(
        lambda: "Change date" in blocks_text(approval_message(stack, request)),
        description="a Change date button",
    )
    before_view = stack.standin.open_view(BOB)
    click(stack, BOB, "Change date", request)
    view = stack.standin.wait_for(
        lambda: open_view_after(stack, BOB, before_view), description="the change-date modal"
    )
    earlier = start - timedelta(days=5)
    result = stack.driver.fill_and_submit(BOB, view["id"], {"day": earlier.isoformat()})
    assert result.errors is None, result.errors
    wait_status(stack, request.id, Status.PENDING)
    stack.standin.wait_for(
        lambda: approval_message(stack, request).metadata["event_payload"]["status"] == "pending",
        description="the message asks for approval again",
    )

    seen = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    assert "changed this request last" in ephemeral_after(stack, BOB, seen)
    assert stack.services.store.get(request.id).status is Status.PENDING
    actions = audit(stack, request.id)
    assert ("date_changed", BOB) in actions and ("approved", BOB) not in actions

    assert stack.services.store.get(request.id).changed_by == BOB  # recorded
    click(stack, GRACE, "Approve", request)
    wait_status(stack, request.id, Status.SCHEDULED)
