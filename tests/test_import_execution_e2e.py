"""/community import, carried out: every row exactly once, the progress in place
(throttled), Stop, 429 storms, re-runs, the result file. Real Redis, the bot over HTTP, the
Slack stand-in, the sandbox; import runners beside the workers as in production."""

from __future__ import annotations

import json
import threading

from bot.domain.bulk import ImportStatus
from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from bot.storage.audit_log import RedisAuditLog
from bot.storage.keys import IMPORT_INFLIGHT
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import JANE, eventually, file_request, wait_status
from tests.flows import click as click_request
from tests.import_flows import (
    click,
    created_per_email,
    file_import,
    get,
    message_of,
    people_csv,
    result_rows,
    shown,
    wait_finished,
)


def test_a_few_hundred_rows_each_carried_out_once_with_a_result_file(make_stack):
    stack = make_stack(workers=2)
    data = people_csv(300) + b"Bad;Amount;bad@example.com;1.250\r\n"
    request = file_import(stack, ALICE, data)
    click(stack, BOB, "Approve", request)
    done = wait_finished(stack, request.id)

    assert done.status is ImportStatus.DONE and (done.done, done.failed) == (300, 0)
    created = created_per_email(stack)
    assert len(created) == 300 and set(created.values()) == {1}
    assert len(stack.sandbox.state.members(COMMUNITY)) == 300
    message = message_of(stack, request)
    assert "Done · approved by" in shown(message) and "300 created" in shown(message)
    assert message.metadata["event_payload"]["status"] == "finished"
    # The result: one line per row of the file, by DM and in the approval message's thread.
    for where in (stack.standin.dm_channel(ALICE), APPROVALS_CHANNEL):
        rows = result_rows(stack.standin.files(where), request.id)
        assert [r["row"] for r in rows] == [str(n) for n in range(2, 303)]
        assert {r["outcome"] for r in rows[:-1]} == {"created"}
        assert rows[0]["email"] == "person0@example.com" and rows[0]["remaining_credit"] == "10.00"
        assert all(r["correlation_id"] for r in rows[:-1])
        assert rows[-1]["outcome"] == "refused" and "reads two ways" in rows[-1]["reason"]
    # Every row's outcome is in the audit trail.
    entries = list(RedisAuditLog(stack.redis).entries())
    actions = [e["action"] for e in entries if e["request_id"].startswith(request.id + "-")]
    assert actions.count("import_created") == 300 and actions.count("import_refused") == 1


def test_the_progress_is_updated_in_place_at_most_once_per_setting(make_stack):
    stack = make_stack(import_progress_seconds=1.0, import_concurrency=2)
    stack.sandbox.faults.latency_ms = 100
    request = file_import(stack, ALICE, people_csv(40))
    click(stack, BOB, "Approve", request)
    # Meanwhile a file naming someone whose row is being carried out is refused for that row.
    overlapping = file_import(stack, ALICE, people_csv(numbers=[39, 900]))
    assert f"already in import {request.id} (row 41)" in dict(overlapping.invalid_preview)[2]
    wait_finished(stack, request.id)

    updates = [
        call
        for call in stack.standin.calls_to("chat.update")
        if call.args.get("ts") == request.message_ts
    ]
    gaps = [later.at - earlier.at for earlier, later in zip(updates, updates[1:], strict=False)]
    assert len(updates) >= 3 and min(gaps) >= 0.95
    versions = [
        json.dumps(v["blocks"], ensure_ascii=False) for v in message_of(stack, request).versions
    ]
    running = [v for v in versions if "rows/s" in v]
    assert running and "█" in running[0] and "to go" in running[0] and "left" in running[0]
    assert "Stop" in running[0]


def test_stop_leaves_rows_not_started_and_keeps_the_finished_ones(make_stack):
    stack = make_stack(import_concurrency=2, import_progress_seconds=1.0)
    stack.sandbox.faults.latency_ms = 150
    request = file_import(stack, ALICE, people_csv(40))
    click(stack, BOB, "Approve", request)
    eventually(lambda: get(stack, request.id).done >= 4, 30, "a few rows done")
    click(stack, BOB, "Stop", request)
    stopped = wait_finished(stack, request.id)

    assert stopped.status is ImportStatus.STOPPED and stopped.stopped_by == BOB
    assert stopped.stopped_rows > 0 and stopped.done + stopped.stopped_rows == 40
    members = {m["email"] for m in stack.sandbox.state.members(COMMUNITY)}
    assert len(members) == stopped.done
    rows = result_rows(stack.standin.files(stack.standin.dm_channel(ALICE)), request.id)
    outcomes = {r["email"]: r["outcome"] for r in rows}
    assert {e for e, o in outcomes.items() if o == "created"} == members
    assert list(outcomes.values()).count("not carried out (stopped)") == stopped.stopped_rows
    assert "Stopped by" in shown(message_of(stack, request))
    # The stopped rows' addresses are free again: a new import takes them.
    again = file_import(stack, ALICE, people_csv(40))
    assert again.total == 40


def test_a_429_storm_pauses_and_every_row_is_still_carried_out_once(make_stack):
    stack = make_stack(workers=2)
    stack.sandbox.faults.operation = "createMember"
    stack.sandbox.faults.rate_limit_next = 40  # more than the client's own retries per row
    stack.sandbox.faults.retry_after_seconds = 1
    request = file_import(stack, ALICE, people_csv(30))
    click(stack, BOB, "Approve", request)
    done = wait_finished(stack, request.id, timeout=90)

    assert (done.done, done.failed) == (30, 0)
    assert set(created_per_email(stack).values()) == {1}
    limited = [e for e in stack.sandbox.state.requests if e["status"] == 429]
    assert len(limited) == 40
    assert sum(runner.gate.limited for runner in stack.import_runners) == 40


def test_running_the_same_file_again_creates_nobody_twice(stack):
    data = people_csv(20, credit="25,00")
    first = file_import(stack, ALICE, data)
    click(stack, BOB, "Approve", first)
    wait_finished(stack, first.id)
    overlap = people_csv(numbers=[*range(20), *range(100, 105)])  # the same 20, and 5 new

    again = file_import(stack, ALICE, overlap)
    click(stack, BOB, "Approve", again)
    done = wait_finished(stack, again.id)

    assert (done.done, done.skipped, done.failed) == (5, 20, 0)
    assert set(created_per_email(stack).values()) == {1}  # no second create
    credits = {m["email"]: m["remaining_credit"] for m in stack.sandbox.state.members(COMMUNITY)}
    assert str(credits["person0@example.com"]) == "25.00"  # no extra credit either
    rows = result_rows(stack.standin.files(stack.standin.dm_channel(ALICE)), again.id)
    assert [r["outcome"] for r in rows] == ["already a member"] * 20 + ["created"] * 5
    assert rows[0]["remaining_credit"] == "25.00"
    assert "20 already members" in shown(message_of(stack, again))


def test_offboarding_from_a_file(stack):
    onboard = file_import(stack, ALICE, people_csv(3))
    click(stack, BOB, "Approve", onboard)
    wait_finished(stack, onboard.id)
    data = (
        b"E-mail;Reason\r\nperson0@example.com;Left\r\n"
        b"person1@example.com;\r\nnobody@example.com;\r\n"
    )
    request = file_import(stack, ALICE, data, operation="remove", note="Reorganisation")
    assert "Bulk offboarding" in shown(message_of(stack, request))
    click(stack, BOB, "Approve", request)
    done = wait_finished(stack, request.id)

    assert (done.done, done.skipped) == (2, 1)
    assert [m["email"] for m in stack.sandbox.state.members(COMMUNITY)] == ["person2@example.com"]
    rows = result_rows(stack.standin.files(stack.standin.dm_channel(ALICE)), request.id)
    assert [r["outcome"] for r in rows] == ["removed", "removed", "not a member"]
    assert "Revoked credit: 10.00" in rows[0]["reason"]


def test_rows_stay_within_the_concurrency_of_all_processes(make_stack):
    stack = make_stack(workers=2, import_concurrency=3)
    stack.sandbox.faults.latency_ms = 60
    request = file_import(stack, ALICE, people_csv(40))
    seen: list[int] = []
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            seen.append(int(stack.redis.zcard(IMPORT_INFLIGHT)))
            watching.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        click(stack, BOB, "Approve", request)
        wait_finished(stack, request.id)
    finally:
        watching.set()
        watcher.join(5)
    assert max(seen) == 3  # parallel, never more than the setting, across both runners
    assert set(created_per_email(stack).values()) == {1}


def test_single_requests_are_not_stuck_behind_a_large_import(make_stack):
    stack = make_stack(import_concurrency=2)
    stack.sandbox.faults.latency_ms = 100
    request = file_import(stack, ALICE, people_csv(80))
    click(stack, BOB, "Approve", request)
    eventually(lambda: get(stack, request.id).finished_rows >= 2, 30, "the import under way")
    single = file_request(stack, ALICE, JANE)
    click_request(stack, BOB, "Approve", single)
    wait_status(stack, single.id, Status.DONE, timeout=20)
    assert get(stack, request.id).remaining > 0  # the import is still running
    wait_finished(stack, request.id, timeout=90)
