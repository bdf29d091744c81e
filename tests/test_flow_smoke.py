"""Add → approve → member created, end to end over HTTP."""

from decimal import Decimal

from tests.conftest import ALICE, BOB, COMMUNITY


def test_add_approve_creates_member(stack):
    driver, standin, sandbox = stack.driver, stack.standin, stack.sandbox
    result = driver.command(ALICE, "add jane@example.com")
    assert result.status_code == 200
    view = standin.wait_for(lambda: standin.open_view(ALICE))
    submitted = driver.fill_and_submit(
        ALICE,
        view["id"],
        {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com", "credit": "750.50"},
    )
    assert submitted.errors is None, submitted.errors
    message = standin.wait_for(lambda: standin.last_message("C0APPROVALS"))
    click = driver.click(BOB, "Approve", channel="C0APPROVALS", ts=message.ts)
    assert click.status_code == 200
    member = standin.wait_for(lambda: sandbox.state.member(COMMUNITY, "jane@example.com"))
    assert member["remaining_credit"] == Decimal("750.50")
