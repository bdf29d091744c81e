"""An offboarding of an address that is not a member of the community: the approval
message says so before anyone approves (looked up after the ack, as offboarding names are),
an Approve is refused with that reason unless the member has joined meanwhile (Coolblue is
asked again at the click), and once it has failed on that, no Retry is offered, since a
retry cannot succeed."""

from __future__ import annotations

import json
from decimal import Decimal

from bot.domain.requests import Status
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import (
    approval_message,
    click,
    ephemeral_after,
    eventually,
    file_request,
    wait_status,
)

NOBODY = "nobody@example.com"
# The address itself is escaped in the message (one of the bot's date tokens around @ and .).
WARNING = "is not a member of Acme Employees (Coolblue, when this was filed)"


def _text(stack, request) -> str:
    return json.dumps(approval_message(stack, request).blocks, ensure_ascii=False)


def test_an_approve_of_a_non_member_is_refused_with_the_reason(stack):
    request = file_request(stack, ALICE, {"email": NOBODY, "reason": "Left"}, "remove")
    text = eventually(lambda: WARNING in (t := _text(stack, request)) and t, what="the warning")
    assert '"text": "Approve"' in text  # still decidable: they may join before it runs
    assert stack.services.store.get(request.id).not_a_member
    seen = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    refusal = ephemeral_after(stack, BOB, seen)
    assert "is not a member of Acme Employees (Coolblue, just now)" in refusal
    kept = stack.services.store.get(request.id)
    assert kept.status is Status.PENDING and kept.approver_ids == []


def test_a_failure_on_no_member_offers_no_retry(stack):
    # A member when filed (no warning, so Approve goes through), gone before it runs.
    stack.sandbox.state.add_member(COMMUNITY, NOBODY, "No", "Body", Decimal("5.00"))
    request = file_request(stack, ALICE, {"email": NOBODY, "reason": "Left"}, "remove")
    eventually(lambda: "No Body" in _text(stack, request), what="the name")
    stack.sandbox.state.remove_member(COMMUNITY, NOBODY)
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED)
    assert failed.not_a_member
    assert f"{NOBODY} is not a member of Acme Employees" in failed.outcome
    message = eventually(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "failed"
            and m
        ),
        what="the failed message",
    )
    buttons = [
        e["text"]["text"]
        for b in message.blocks
        if b.get("type") == "actions"
        for e in b["elements"]
    ]
    assert "Retry" not in buttons


def test_a_member_who_joins_before_the_approval_is_offboarded(stack):
    request = file_request(stack, ALICE, {"email": NOBODY, "reason": "Left"}, "remove")
    eventually(lambda: WARNING in _text(stack, request), what="the warning")
    stack.sandbox.state.add_member(COMMUNITY, NOBODY, "No", "Body", Decimal("5.00"))
    click(stack, BOB, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE)
    assert done.result_credit == Decimal("5.00")
    assert not done.not_a_member
    text = eventually(lambda: "Done" in (t := _text(stack, request)) and t, what="done")
    assert WARNING not in text  # the warning went once the member was found


def test_a_failure_that_a_retry_can_fix_still_offers_retry(stack):
    stack.sandbox.state.add_member(COMMUNITY, "leaver@example.com", "Lee", "Ver", Decimal("1"))
    request = file_request(
        stack, ALICE, {"email": "leaver@example.com", "reason": "Left"}, "remove"
    )
    stack.sandbox.faults.fail_next, stack.sandbox.faults.fail_status = 1, 400
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=30)
    assert not failed.not_a_member
    eventually(lambda: '"text": "Retry"' in _text(stack, request), what="a Retry button")
