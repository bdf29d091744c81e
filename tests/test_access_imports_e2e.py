"""Issue 17, items 3 and 5: nobody an import's file names may act on it, and the approver
sees who is in the file. Signed requests to the bot over real HTTP, the Slack stand-in, the
sandbox and a real Redis."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from bot.domain.bulk import ImportStatus
from bot.local.stack import APPROVALS_CHANNEL
from bot.slack.text import escape
from tests.conftest import ALICE, BOB, COMMUNITY, GRACE
from tests.flows import ephemeral_after, eventually
from tests.import_flows import (
    click,
    file_import,
    message_of,
    people_csv,
    result_rows,
    shown,
    wait_finished,
)


def test_the_employee_cannot_stop_the_import_that_offboards_him(make_stack):
    """Item 3: Bob is one row of an offboarding import. His Approve is refused; Grace
    approves; Bob presses Stop: refused too, and his row is carried out like the others."""
    stack = make_stack(import_concurrency=1)
    stack.sandbox.faults.latency_ms = 150
    leavers = [f"leaver{i}@example.com" for i in range(12)] + ["bob@acme.nl"]
    for email in leavers:
        stack.sandbox.state.add_member(COMMUNITY, email, "Lea", "Ver", Decimal("500.00"))
    data = ("E-mail;Reason\r\n" + "".join(f"{e};Leaves\r\n" for e in reversed(leavers))).encode()
    request = file_import(stack, ALICE, data, operation="remove")

    seen = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    assert "names you" in ephemeral_after(stack, BOB, seen)
    click(stack, GRACE, "Approve", request)
    eventually(lambda: stack.services.imports.store.get(request.id).done >= 1, 30, "rows run")

    seen = len(stack.standin.ephemerals(BOB))
    assert click(stack, BOB, "Stop", request).status_code == 200
    assert "names you" in ephemeral_after(stack, BOB, seen)
    finished = wait_finished(stack, request.id)
    assert finished.status is ImportStatus.DONE and finished.stopped_rows == 0
    outcomes = {
        r["email"]: r["outcome"]
        for r in result_rows(stack.standin.files(stack.standin.dm_channel(ALICE)), request.id)
    }
    assert outcomes["bob@acme.nl"] == "removed"


def test_the_requester_cannot_put_herself_in_her_own_import(make_stack):
    """Item 5: Alice adds her own address to a 21-row import. Her row is refused at filing
    with the reason; the approver sees who is in the file (the first rows in the message,
    every row in the thread); after approval Alice has no credit."""
    stack = make_stack()
    data = people_csv(20) + b"Alice;Hr;alice@acme.nl;2500\r\n"
    request = file_import(stack, ALICE, data)
    assert request.total == 20 and request.invalid_count == 1

    message = shown(message_of(stack, request))
    assert "Who is in the file" in message
    assert f"row 2: Person0 Number0, {escape('person0@example.com')}" in message
    assert "your own address" in message  # among the rows that fail, with the reason
    assert "…and 15 more" in message

    threaded = stack.standin.wait_for(
        lambda: [f for f in stack.standin.files(APPROVALS_CHANNEL) if "people" in f.filename],
        description="the file of the people in the import, in the thread",
    )
    people = list(csv.DictReader(io.StringIO(threaded[0].content.decode())))
    assert [p["email"] for p in people] == [f"person{i}@example.com" for i in range(20)]
    assert people[3]["first name"] == "Person3" and people[3]["credit"] == "10.00"
    refused = stack.standin.wait_for(
        lambda: [f for f in stack.standin.files(APPROVALS_CHANNEL) if "refused" in f.filename],
        description="the file of refused rows",
    )
    assert "alice@acme.nl" in refused[0].content.decode()

    click(stack, BOB, "Approve", request)
    wait_finished(stack, request.id)
    assert stack.sandbox.state.member(COMMUNITY, "alice@acme.nl") is None


def test_the_requester_cancels_a_pending_import_from_app_home(make_stack):
    """Item 11: a pending import is in its requester's App Home with Cancel (and in a
    manager's with Approve and Reject); Cancel ends it, no row runs, its addresses are free."""
    stack = make_stack()
    request = file_import(stack, ALICE, people_csv(3))

    stack.driver.open_home(BOB)
    managers = stack.standin.wait_for(lambda: stack.standin.home(BOB), description="Bob's home")
    assert request.id in json.dumps(managers["blocks"]) and "Approve" in labels(managers)
    assert "Cancel" not in labels(managers)

    stack.driver.open_home(ALICE)
    home = stack.standin.wait_for(lambda: stack.standin.home(ALICE), description="Alice's home")
    assert request.id in json.dumps(home["blocks"]) and "Approve" not in labels(home)
    stack.driver.click_in_view(ALICE, "Cancel", view_id=home["id"])
    cancelled = eventually(
        lambda: (
            (r := stack.services.imports.store.get(request.id)).status is ImportStatus.CANCELLED
            and r
        ),
        what="the import cancelled",
    )
    assert cancelled.decided_by == ALICE
    stack.standin.wait_for(
        lambda: "Cancelled by" in shown(message_of(stack, request)),
        description="the approval message says cancelled, its buttons gone",
    )
    assert "Approve" not in shown(message_of(stack, request))
    assert stack.sandbox.state.members(COMMUNITY) == []
    again = file_import(stack, ALICE, people_csv(3))  # the addresses are free again
    assert again.total == 3


def test_pending_imports_are_listed_and_their_approvers_reminded(make_stack):
    """Item 11: /community pending lists a pending import (Approve for a manager), and a day
    on, the approvers are reminded in the approval message's thread, once."""
    stack = make_stack(sweep_every=0.3)
    request = file_import(stack, ALICE, people_csv(2))

    seen = len(stack.standin.ephemerals(GRACE))
    stack.driver.command(GRACE, "pending")
    listed = ephemeral_after(stack, GRACE, seen)
    assert request.id in listed and "approve_import" in listed

    stack.clock.advance(stack.services.policy.reminder_seconds + 60)
    reminder = stack.standin.wait_for(
        lambda: next(
            (
                m
                for m in stack.standin.messages(APPROVALS_CHANNEL)
                if m.thread_ts == request.message_ts and "Still waiting" in json.dumps(m.blocks)
            ),
            None,
        ),
        timeout=15,
        description="the reminder in the thread",
    )
    assert f"<@{BOB}>" in reminder.text and f"<@{ALICE}>" not in reminder.text
    assert stack.services.imports.store.get(request.id).status is ImportStatus.PENDING
    assert (
        sum(
            "Still waiting" in json.dumps(m.blocks)
            for m in stack.standin.messages(APPROVALS_CHANNEL)
        )
        == 1
    )


def labels(view: dict) -> list[str]:
    return [
        element["text"]["text"]
        for block in view["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
