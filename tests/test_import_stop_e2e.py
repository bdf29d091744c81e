"""Stopping in the middle of an import (issue 17, items 6 and 9).

- A worker process waiting on Coolblue's 600 s Retry-After exits on SIGTERM within the
  platform's 30 s grace, and leaves every row to be carried out later, none lost, none
  repeated.
- A row whose create was sent but whose answer was lost, and whose follow-up check is
  waiting on a long Retry-After, is never reported "not carried out" when a manager
  presses Stop: it is checked with Coolblue first, or reported "outcome unknown".
"""

from __future__ import annotations

import signal
import subprocess
import time

from bot.domain.requests import Status
from bot.storage.keys import IMPORT_PAUSE
from tests.conftest import ALICE, BOB, GRACE
from tests.flows import JANE, eventually, file_request, wait_status, worker_process
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


def test_a_worker_waiting_on_a_600_s_retry_after_exits_on_sigterm(make_stack, tmp_path):
    stack = make_stack(workers=0)
    request = file_import(stack, ALICE, people_csv(30))
    click(stack, BOB, "Approve", request)
    faults = stack.sandbox.faults
    faults.latency_ms, faults.rate_limit_next, faults.retry_after_seconds = 300, 1, 600
    process = worker_process(stack, tmp_path)
    try:
        eventually(lambda: stack.redis.pttl(IMPORT_PAUSE) > 500_000, 30, "Coolblue's 600 s pause")
        time.sleep(2)  # the runner's rows now wait on the pause
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        try:
            code = process.wait(30)  # the platform's grace after SIGTERM
        except subprocess.TimeoutExpired:
            raise AssertionError("the worker was still running 30 s after SIGTERM") from None
        print(
            f"\nSIGTERM to exit: {time.monotonic() - sent:.2f} s"
        )  # the figure for the report (-s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert code == 0, process.stderr.read().decode()[-2000:] if process.stderr else code
    cut_off = get(stack, request.id)
    assert cut_off.failed == 0 and cut_off.remaining > 0  # nothing failed by the stop

    faults.clear()
    stack.redis.delete(IMPORT_PAUSE)  # Coolblue's pause is over
    stack.start_worker()
    done = wait_finished(stack, request.id, timeout=60)
    assert (done.done, done.failed) == (30, 0)
    assert set(created_per_email(stack).values()) == {1}


def test_a_worker_waiting_on_retry_after_for_a_single_request_exits_on_sigterm(
    make_stack, tmp_path
):
    # Three 429s asking for 25 s each: the client would wait 75 s in all before giving up.
    stack = make_stack(workers=0)
    request = file_request(stack, ALICE, JANE)
    faults = stack.sandbox.faults
    faults.rate_limit_next, faults.retry_after_seconds = 3, 25
    click_request(stack, BOB, "Approve", request)
    process = worker_process(stack, tmp_path)
    try:
        eventually(lambda: creates(stack) >= 1, 30, "the first create answered 429")
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError("the worker was still running 30 s after SIGTERM") from None
        print(f"\nSIGTERM to exit: {time.monotonic() - sent:.2f} s")  # the figure (-s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert code == 0
    assert stack.services.store.get(request.id).status is Status.EXECUTING  # not failed
    faults.clear()
    stack.start_worker()
    done = wait_status(stack, request.id, Status.DONE, Status.FAILED, timeout=30)
    assert done.status is Status.DONE and creates(stack) == 2  # the 429 one, then one more
    assert len(stack.sandbox.state.members()) == 1


def creates(stack) -> int:
    return stack.sandbox.state.operation_counts.get("createMember", 0)


def test_stop_never_reports_a_row_that_may_have_been_created_as_not_carried_out(make_stack):
    # Row 2's create reaches Coolblue but its answer is lost; the check that follows gets
    # 429 with Retry-After: 600. A manager presses Stop meanwhile.
    stack = make_stack(import_concurrency=1)
    faults = stack.sandbox.faults
    faults.drop_after_create_next = 1
    faults.rate_limit_operation, faults.rate_limit_next = "getRemainingCredit", 100
    faults.retry_after_seconds = 600
    request = file_import(stack, ALICE, people_csv(3))
    click(stack, BOB, "Approve", request)
    eventually(lambda: stack.redis.pttl(IMPORT_PAUSE) > 500_000, 30, "the 600 s pause")
    assert len(stack.sandbox.state.members()) == 1  # the lost answer's member exists
    click(stack, GRACE, "Stop", request)
    stopped = wait_finished(stack, request.id, timeout=30)

    rows = {
        r["email"]: r
        for r in result_rows(stack.standin.files(stack.standin.dm_channel(ALICE)), request.id)
    }
    created = rows["person0@example.com"]
    assert created["outcome"] == "outcome unknown"
    assert "may have" in created["reason"] and "check" in created["reason"].lower()
    others = [rows[f"person{i}@example.com"]["outcome"] for i in (1, 2)]
    assert others == ["not carried out (stopped)"] * 2  # never attempted
    assert (stopped.unknown, stopped.stopped_rows, stopped.done) == (1, 2, 0)
    assert "1 outcome unknown" in shown(message_of(stack, request))


def test_stop_while_the_check_waits_in_flight_ends_the_row_as_outcome_unknown(make_stack):
    # The same lost answer, but the check's Retry-After is short: the row is still being
    # carried out (its check waiting) when Stop lands, and is deferred only afterwards.
    stack = make_stack(import_concurrency=1)
    faults = stack.sandbox.faults
    faults.drop_after_create_next = 1
    faults.rate_limit_operation, faults.rate_limit_next = "getRemainingCredit", 100
    faults.retry_after_seconds = 2
    request = file_import(stack, ALICE, people_csv(2))
    click(stack, BOB, "Approve", request)
    state = stack.sandbox.state
    eventually(
        lambda: state.operation_counts.get("getRemainingCredit", 0) >= 1, 30, "the first 429"
    )
    click(stack, GRACE, "Stop", request)
    stopped = wait_finished(stack, request.id, timeout=60)

    files = stack.standin.files(stack.standin.dm_channel(ALICE))
    outcomes = {r["email"]: r["outcome"] for r in result_rows(files, request.id)}
    assert outcomes == {
        "person0@example.com": "outcome unknown",
        "person1@example.com": "not carried out (stopped)",
    }
    assert (stopped.unknown, stopped.stopped_rows) == (1, 1)
