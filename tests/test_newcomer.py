"""Issue 14, "the newcomer's second hour": what the bot tells people when Slack loses or
refuses its messages, what the requester's first DM says once the request was decided, and
who offboarding messages are about. Real Redis, real HTTP, the Slack stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from bot.slack.actors import actor_of
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import (
    JANE,
    approval_message,
    click,
    click_as_shown,
    eventually,
    file_request,
    open_modal,
    wait_status,
)
from tests.test_console import console_env

DM_OPENERS = [
    "Your request was filed and is waiting for approval.",
    "Your request was approved.",
    "Your request is done.",
]


def _dm_texts(stack: Any, count: int) -> list[str]:
    dms = stack.standin.wait_for(
        lambda: len(m := stack.standin.dms(ALICE)) >= count and m,
        description=f"{count} DMs to alice",
    )
    return [m.text.split(" (")[0] for m in dms]


def _channel_messages(stack: Any) -> list[Any]:
    return [m for m in stack.standin.messages(APPROVALS_CHANNEL) if not m.thread_ts]


def _status_of(message: Any) -> str:
    return str(message.metadata["event_payload"]["status"])


def _wait_message_status(stack: Any, request_id: str, status: str) -> Any:
    def shown() -> Any:
        request = stack.services.store.get(request_id)
        found = stack.standin.message(APPROVALS_CHANNEL, request.message_ts)
        return found is not None and _status_of(found) == status and (request, found)

    return eventually(shown, what=f"approval message of {request_id} showing {status}")


# 2. A lost approval message never swallows the DMs -------------------------------------------


def test_a_deleted_approval_message_is_posted_again_and_every_dm_is_sent(stack) -> None:
    request = file_request(stack, ALICE, JANE)
    shown = approval_message(stack, request).to_slack()  # bob's client still shows it
    _dm_texts(stack, 1)
    stack.standin.conversations.delete_message(APPROVALS_CHANNEL, request.message_ts)

    assert click_as_shown(stack, BOB, shown).status_code == 200
    wait_status(stack, request.id, Status.DONE)

    assert _dm_texts(stack, 3) == DM_OPENERS
    fresh, message = _wait_message_status(stack, request.id, "done")
    assert fresh.message_ts != request.message_ts and fresh.channel == APPROVALS_CHANNEL
    assert [m.ts for m in _channel_messages(stack)] == [fresh.message_ts]  # posted once
    assert "Done" in json.dumps(message.blocks)


def test_an_archived_channel_still_lets_every_dm_through(stack) -> None:
    request = file_request(stack, ALICE, JANE)
    _dm_texts(stack, 1)
    # The update is refused, and so is the fresh message: the channel was archived.
    stack.standin.fail_next("chat.update", "is_archived")
    stack.standin.fail_next("chat.postMessage", "is_archived")

    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)

    assert _dm_texts(stack, 3) == DM_OPENERS
    failed = [(c.method, c.error) for c in stack.standin.calls if not c.ok]
    assert failed == [("chat.update", "is_archived"), ("chat.postMessage", "is_archived")]


def test_an_approval_message_that_could_not_be_posted_is_posted_on_the_next_change(
    stack,
) -> None:
    stack.standin.fail_next("chat.postMessage", "channel_not_found")
    view = open_modal(stack, ALICE, "add")
    assert stack.driver.fill_and_submit(ALICE, view["id"], JANE).errors is None
    # The requester hears that the request was filed, although the channel refused it.
    assert _dm_texts(stack, 1) == DM_OPENERS[:1]
    (request_id,) = stack.services.store.pending_ids()
    assert stack.services.store.get(request_id).message_ts == ""

    decision = stack.services.requests.approve(request_id, actor_of(stack.services, BOB))
    assert decision.ok
    wait_status(stack, request_id, Status.DONE)
    _wait_message_status(stack, request_id, "done")
    assert _dm_texts(stack, 3) == DM_OPENERS


def test_a_failed_dm_does_not_stop_the_steps_after_it(stack) -> None:
    request = file_request(stack, ALICE, JANE)
    _dm_texts(stack, 1)
    stack.standin.fail_next("chat.postMessage", "internal_error")  # the "approved" DM

    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)

    _wait_message_status(stack, request.id, "done")
    assert _dm_texts(stack, 2) == [DM_OPENERS[0], DM_OPENERS[2]]
    # The round was still marked as told, so the worker did not wait for it in vain.
    assert stack.services.store.round_announced(request.id)


# 7a. The filed DM follows the request --------------------------------------------------------


def _actions(message: Any) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "actions"]


def test_the_filed_dm_loses_its_cancel_button_once_decided(stack) -> None:
    request = file_request(stack, ALICE, JANE)
    stack.standin.wait_for(lambda: stack.standin.dms(ALICE))
    filed = stack.standin.dms(ALICE)[0]
    assert _actions(filed) and "Waiting for approval" in json.dumps(filed.blocks)

    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    _dm_texts(stack, 3)

    def updated() -> Any:
        now = stack.standin.message(filed.channel, filed.ts)
        return now is not None and "Done" in json.dumps(now.blocks) and now

    now = stack.standin.wait_for(updated, description="filed DM showing Done")
    assert not _actions(now)
    assert "Waiting for approval" not in json.dumps(now.blocks)
    assert "waiting" not in now.blocks[0]["text"]["text"]
    assert request.id in now.blocks[0]["text"]["text"]


def test_the_filed_dm_says_when_the_request_was_cancelled(stack) -> None:
    request = file_request(stack, ALICE, JANE)
    filed = stack.standin.wait_for(lambda: stack.standin.dms(ALICE))[0]
    stack.driver.click(ALICE, "Cancel request", channel=filed.channel, ts=filed.ts)
    wait_status(stack, request.id, Status.CANCELLED)

    def updated() -> Any:
        now = stack.standin.message(filed.channel, filed.ts)
        return now is not None and "Cancelled" in json.dumps(now.blocks) and now

    assert not _actions(stack.standin.wait_for(updated, description="filed DM cancelled"))


# 7c. Offboarding shows whom it is about ------------------------------------------------------


def test_offboarding_shows_the_name_coolblue_knows(stack) -> None:
    stack.sandbox.state.add_member(COMMUNITY, "leaver@example.com", "Lee", "Ver", Decimal("12"))
    request = file_request(
        stack, ALICE, {"email": "leaver@example.com", "reason": "Left the company"}, "remove"
    )
    stored = stack.services.store.get(request.id)
    assert (stored.first_name, stored.last_name) == ("Lee", "Ver")
    fields = json.dumps(approval_message(stack, request).blocks, ensure_ascii=False)
    assert "*Employee*\\nLee Ver" in fields
    dm = stack.standin.wait_for(lambda: stack.standin.dms(ALICE))[0]
    assert "Lee Ver" in dm.blocks[0]["text"]["text"]


def test_offboarding_someone_coolblue_does_not_know_keeps_the_dash(stack) -> None:
    request = file_request(
        stack, ALICE, {"email": "stranger@example.com", "reason": "Never joined"}, "remove"
    )
    fields = json.dumps(approval_message(stack, request).blocks, ensure_ascii=False)
    assert "*Employee*\\n—" in fields
    assert stack.services.store.get(request.id).employee_name == ""


# 1. The console's state is kept whole, or not at all ------------------------------------------

# Community, first, last, e-mail, credit, reference, note, start date: Enter keeps a
# default or leaves an optional field empty.
ADD = "\n".join(["", "{first}", "{last}", "", "{credit}", "", "", ""])


def _interactive(tmp_path: Path, lines: list[str], *flags: str) -> subprocess.CompletedProcess:
    """`python -m bot console` as someone typing, in a folder of its own (./data)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *flags],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        input="\n".join([*lines, "quit", ""]),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_console_keeps_requests_and_sandbox_members_together(tmp_path: Path) -> None:
    first = _interactive(
        tmp_path,
        [
            "/community add jane@example.com",
            ADD.format(first="Jane", last="Doe", credit="750"),
            "as bob",
            "click Approve",
            "as alice",
            "/community add joe@example.com",
            ADD.format(first="Joe", last="Bloggs", credit="20"),
        ],
        "--keep",
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Remaining credit: €750.00. Member created." in first.stdout

    again = _interactive(
        tmp_path,
        [
            "as carol",
            "/community credit jane@example.com",
            "as bob",
            "/community pending",
            "click Approve",
        ],
        "--keep",
    )
    assert again.returncode == 0, again.stdout + again.stderr
    banner = again.stdout.split("alice>")[0]
    assert "kept" in banner and "1 waiting for approval" in banner and "--keep" in banner
    # The member the bot created last time is still in the sandbox ...
    assert "Jane Doe (jane@example.com) has €750.00 remaining credit" in again.stdout
    # ... and approving the request kept from last time posts its approval message afresh
    # (the Slack stand-in starts empty) and tells the requester.
    after_click = again.stdout.split("bob> click Approve")[-1]
    assert "┌ #approvals · new message" in after_click
    assert "Onboard employee · R" in after_click and "Remaining credit: €20.00" in after_click
    assert "@alice got 2 new DMs" in after_click
    assert "notification failed" not in again.stderr


def test_the_console_starts_empty_unless_asked_to_keep(tmp_path: Path) -> None:
    kept = _interactive(
        tmp_path,
        ["/community add joe@example.com", ADD.format(first="Joe", last="B", credit="1")],
        "--keep",
    )
    assert kept.returncode == 0, kept.stdout + kept.stderr
    fresh = _interactive(tmp_path, ["as bob", "/community pending"])
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    banner = fresh.stdout.split("alice>")[0]
    assert f"Data: {(tmp_path / 'data').resolve()}" in banner
    assert "starts empty" in banner and "--keep" in banner
    assert "No open requests." in fresh.stdout
    # Cleared, not hidden: the next run that keeps finds nothing either.
    again = _interactive(tmp_path, ["as bob", "/community pending"], "--keep")
    assert "(0 waiting for approval" in again.stdout and "No open requests." in again.stdout
