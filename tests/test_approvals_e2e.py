"""The approval flow end to end: signed HTTP to the bot, real Redis, the sandbox API."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from bot.storage.audit_log import RedisAuditLog
from tests.conftest import ALICE, BOB, BOTH_MODES, COMMUNITY, ERIN, FRANK, GRACE
from tests.flows import (
    JANE,
    approval_message,
    click,
    click_as_shown,
    ephemeral_after,
    eventually,
    file_request,
    wait_status,
)

pytestmark = BOTH_MODES  # every test over HTTP and over Socket Mode


def test_add_approve_sends_exact_contract_body_and_updates_message(stack):
    request = file_request(
        stack, ALICE, {**JANE, "external_reference": "HR-1", "note": "Starts Monday"}
    )
    message = approval_message(stack, request)
    assert message.metadata["event_type"] == "community_request"
    assert message.metadata["event_payload"] == {
        "request_id": request.id,
        "operation": "add",
        "status": "pending",
    }
    assert [b["text"]["text"] for b in message.blocks[-1]["elements"]] == ["Approve", "Reject"]

    assert click(stack, BOB, "Approve", request).status_code == 200
    done = wait_status(stack, request.id, Status.DONE)
    creates = [
        r
        for r in stack.sandbox.state.requests
        if r["method"] == "POST" and r["path"].endswith("/members")
    ]
    assert len(creates) == 1
    assert creates[0]["body"] == {
        "Member": {
            "EmailAddress": "jane@example.com",
            "FirstName": "Jane",
            "LastName": "Doe",
            "ExternalReference": "HR-1",
        },
        "Credits": [{"Credit": Decimal("750.00")}],
    }
    assert creates[0]["headers"].get("User-Agent", creates[0]["headers"].get("user-agent"))
    assert done.result_credit == Decimal("750.00")

    final = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "done"
            and m
        )
    )
    assert not [b for b in final.blocks if b["type"] == "actions"]  # buttons gone
    text = json.dumps(final.blocks, ensure_ascii=False)
    assert "<@U0BOB>" in text and "Done" in text and "€750.00" in text
    dms = stack.standin.wait_for(
        lambda: (
            (m := stack.standin.dms(ALICE)) and m[-1].text.startswith("Your request is done.") and m
        )
    )
    assert [m.text.split(" (")[0] for m in dms] == [
        "Your request was filed and is waiting for approval.",
        "Your request was approved.",
        "Your request is done.",
    ]


def test_remove_revokes_credit_and_member_is_gone(stack):
    sandbox = stack.sandbox
    sandbox.state.add_member(COMMUNITY, "leaver@example.com", "Lee", "Ver", Decimal("120.55"))
    request = file_request(
        stack, ALICE, {"email": "leaver@example.com", "reason": "Left the company"}, "remove"
    )
    text = json.dumps(approval_message(stack, request).blocks, ensure_ascii=False)
    assert "revoked" in text and "account remains" in text
    click(stack, BOB, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE)
    assert sandbox.state.member(COMMUNITY, "leaver@example.com") is None
    assert done.result_credit == Decimal("120.55")


def test_reject_asks_for_reason_and_tells_requester(stack):
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Reject", request)
    modal = stack.standin.wait_for(lambda: stack.standin.open_view(BOB))
    empty = stack.driver.fill_and_submit(BOB, modal["id"], {"reason": ""})
    assert empty.errors and "reason" in empty.errors
    stack.driver.fill_and_submit(BOB, modal["id"], {"reason": "Budget <!channel> frozen"})
    rejected = wait_status(stack, request.id, Status.REJECTED)
    assert rejected.decision_reason == "Budget <!channel> frozen"
    message = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"]
            == "rejected"
            and m
        )
    )
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Budget &lt;!channel&gt; frozen" in text and "<!channel>" not in text
    assert stack.sandbox.state.operation_counts.get("createMember", 0) == 0
    stack.standin.wait_for(lambda: any("rejected" in m.text for m in stack.standin.dms(ALICE)))


def test_requester_cannot_approve_own_request(stack):
    # Bob holds both roles here, so only the self-approval rule stops him.
    stack.services.roles.grants[
        next(iter(r for r in stack.services.roles.grants if r.value == "hr"))
    ] += (BOB,)
    request = file_request(stack, BOB, JANE)
    before = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    assert "someone else" in ephemeral_after(stack, BOB, before)
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_employee_cannot_approve_request_about_themselves(stack):
    request = file_request(stack, ALICE, {**JANE, "email": "grace@acme.nl"})
    before = len(stack.standin.ephemerals(GRACE))
    click(stack, GRACE, "Approve", request)
    assert "about you" in ephemeral_after(stack, GRACE, before)
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_manager_only_in_a_user_group_approves(stack):
    request = file_request(stack, ALICE, JANE)
    click(stack, ERIN, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE)
    assert done.decided_by == ERIN


def test_user_without_role_cannot_approve(stack):
    request = file_request(stack, ALICE, JANE)
    before = len(stack.standin.ephemerals(FRANK))
    click(stack, FRANK, "Approve", request)
    assert "Only managers and admins can approve" in ephemeral_after(stack, FRANK, before)
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_twenty_concurrent_approvals_make_one_api_call(make_stack):
    stack = make_stack(workers=2)
    request = file_request(stack, ALICE, JANE)
    message = approval_message(stack, request)
    managers = [BOB, GRACE, ERIN] * 7
    with ThreadPoolExecutor(20) as pool:
        results = list(
            pool.map(lambda user: click_as_shown(stack, user, message.to_slack()), managers[:20])
        )
    assert all(r.status_code == 200 for r in results)
    wait_status(stack, request.id, Status.DONE)
    assert stack.sandbox.state.operation_counts["createMember"] == 1
    approved = [
        e for e in RedisAuditLog(stack.redis).entries(request.id) if e["action"] == "approved"
    ]
    assert len(approved) == 1
    winner = stack.services.store.get(request.id).decided_by
    losers = [u for u in (BOB, GRACE, ERIN) if u != winner]
    told = stack.standin.wait_for(
        lambda: any(
            "already approved by <@" + winner in e["text"]
            for u in losers
            for e in stack.standin.ephemerals(u)
        )
    )
    assert told


def test_click_on_decided_request_says_who_decided(stack):
    request = file_request(stack, ALICE, JANE)
    message = approval_message(stack, request)
    stale = message.to_slack()  # the message as Grace's client still shows it
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    before = len(stack.standin.ephemerals(GRACE))
    result = click_as_shown(stack, GRACE, stale)
    assert result.status_code == 200
    assert "already approved by <@U0BOB>" in ephemeral_after(stack, GRACE, before)
    assert stack.sandbox.state.operation_counts["createMember"] == 1


def test_two_approvals_policy_needs_two_different_managers(make_stack):
    stack = make_stack(approvals_required_add=2)
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    eventually(lambda: len(stack.services.store.get(request.id).approvals) == 1)
    before = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    assert "needs another manager" in ephemeral_after(stack, BOB, before)
    assert stack.services.store.get(request.id).status is Status.PENDING
    click(stack, GRACE, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE)
    assert done.decided_by == f"{BOB},{GRACE}"


def test_zero_approvals_policy_executes_at_once(make_stack):
    stack = make_stack(approvals_required_add=0)
    request = file_request(stack, ALICE, JANE)
    done = wait_status(stack, request.id, Status.DONE)
    assert done.decided_by == "system"
    final = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "done"
            and m
        )
    )
    assert not [b for b in final.blocks if b["type"] == "actions"]


def test_requester_can_cancel_from_dm(stack):
    request = file_request(stack, ALICE, JANE)
    dm = stack.standin.wait_for(lambda: stack.standin.dms(ALICE))[0]
    stack.driver.click(ALICE, "Cancel request", channel=dm.channel, ts=dm.ts)
    wait_status(stack, request.id, Status.CANCELLED)
    message = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"]
            == "cancelled"
            and m
        )
    )
    assert not [b for b in message.blocks if b["type"] == "actions"]


def test_expiry_and_reminder(stack):
    service = stack.services.requests
    request = file_request(stack, ALICE, JANE)
    reminder_at = request.created_at + service.policy.reminder_seconds + 1
    assert service.sweep(now=reminder_at) == (0, 1)
    assert service.sweep(now=reminder_at) == (0, 0)  # reminded once
    thread = stack.standin.wait_for(
        lambda: [
            m
            for m in stack.standin.messages(APPROVALS_CHANNEL)
            if m.thread_ts == request.message_ts
        ]
    )
    assert "Still waiting" in json.dumps(thread[0].blocks, ensure_ascii=False)
    assert service.sweep(now=request.expires_at + 1) == (1, 0)
    expired = wait_status(stack, request.id, Status.EXPIRED)
    assert expired.decided_by == "system"
    before = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request) if [
        b for b in approval_message(stack, request).blocks if b["type"] == "actions"
    ] else None
    assert stack.services.store.get(request.id).status is Status.EXPIRED
    assert len(stack.standin.ephemerals(BOB)) >= before


def test_slack_rate_limit_on_update_is_retried(stack):
    request = file_request(stack, ALICE, JANE)
    stack.standin.fail_next("chat.update", "ratelimited", count=1, retry_after=1)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    final = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "done"
            and m
        ),
        timeout=10,
    )
    assert not [b for b in final.blocks if b["type"] == "actions"]
    assert any(not c.ok for c in stack.standin.calls_to("chat.update"))
