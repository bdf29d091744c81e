"""The worker under the faults a careful reviewer found (issue 9): Redis errors of every
kind, a blocked loop, Retry after a refusal, expiry at the click, work that keeps failing,
retention. Real Redis, the bot over HTTP, the sandbox and the Slack stand-in."""

from __future__ import annotations

import signal
import threading
import time
from decimal import Decimal

import httpx
import redis

from bot.domain.requests import Status
from bot.storage import keys
from bot.storage.audit_log import RedisAuditLog
from tests.conftest import ALICE, BOB, COMMUNITY
from tests.flows import (
    JANE,
    approval_message,
    click,
    ephemeral_after,
    eventually,
    file_request,
    wait_status,
    worker_process,
)


def creates(stack) -> int:
    return stack.sandbox.state.operation_counts.get("createMember", 0)


def healthz(stack) -> httpx.Response:
    return httpx.get(f"{stack.server.url}/healthz", timeout=5)


def approve_and_finish(stack, email: str = "jane@example.com") -> None:
    request = file_request(stack, ALICE, {**JANE, "email": email})
    click(stack, BOB, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE, timeout=30)
    assert done.status is Status.DONE


# The worker never dies quietly -------------------------------------------------------------


def test_worker_survives_its_stream_and_group_being_deleted(stack):
    # A Redis restarted without persistence, or flushed: XREADGROUP answers NOGROUP.
    stack.redis.delete(keys.WORK_STREAM)
    time.sleep(1.5)  # the worker's loop meets NOGROUP a few times
    approve_and_finish(stack)
    assert creates(stack) == 1


def test_worker_survives_redis_refusing_writes(stack):
    # OOM (maxmemory reached): XREADGROUP is a write command and is refused.
    admin = stack.redis
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")
    try:
        time.sleep(1.5)
    finally:
        admin.config_set("maxmemory", "0")
    approve_and_finish(stack)


def test_worker_survives_a_redis_stall_longer_than_the_socket_timeout(make_stack):
    stack = make_stack(redis_socket_timeout_seconds=0.5)
    stalled = redis.Redis.from_url(stack.settings.redis_url.get_secret_value())
    stall = threading.Thread(target=lambda: stalled.execute_command("DEBUG", "SLEEP", "1.5"))
    stall.start()
    stall.join()
    stalled.close()
    approve_and_finish(stack)


def test_healthz_reports_a_dead_worker(stack):
    assert healthz(stack).status_code == 200
    job = stack.worker_jobs[0]
    job.stop()
    eventually(lambda: not job.alive(), what="the worker loop ended")
    answer = healthz(stack)
    assert answer.status_code == 503
    assert answer.json()["worker"] != "ok"


# Retry stays truthful ---------------------------------------------------------------------


def test_retry_after_already_a_member_does_not_claim_the_member_as_ours(stack):
    stack.sandbox.state.add_member(COMMUNITY, "jane@example.com", "Jane", "Doe", Decimal("500.00"))
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=20)
    assert "already a member" in failed.outcome
    stack.standin.wait_for(
        lambda: approval_message(stack, request).metadata["event_payload"]["status"] == "failed",
        description="the approval message shows the failure",
    )
    click(stack, BOB, "Retry", request)
    again = eventually(
        lambda: (
            (r := stack.services.store.get(request.id))
            and r.attempts == 2
            and r.status is Status.FAILED
            and r
        ),
        timeout=20,
        what="the retry failed too",
    )
    assert "already a member" in again.outcome
    assert creates(stack) == 2  # asked twice, refused twice: never counted as done


def test_a_second_open_request_for_the_same_address_is_refused_at_filing(stack):
    first = file_request(stack, ALICE, JANE)
    from tests.flows import open_modal

    view = open_modal(stack, ALICE, "add")
    result = stack.driver.fill_and_submit(ALICE, view["id"], JANE)
    assert result.errors is not None
    assert first.id in result.errors["email"] and "already open" in result.errors["email"]


# Expiry holds at the click ------------------------------------------------------------------


def test_a_request_past_its_lifetime_cannot_be_approved_before_any_sweep(make_stack):
    # Sweeps run once at start and then hourly: only the click itself can see the expiry.
    stack = make_stack(
        sweep_every=3600, request_expiry_hours=1.5 / 3600, reminder_after_hours=1 / 3600
    )
    request = file_request(stack, ALICE, JANE)
    time.sleep(2.0)
    before = len(stack.standin.ephemerals(BOB))
    click(stack, BOB, "Approve", request)
    told = ephemeral_after(stack, BOB, before)
    assert "expired" in told
    assert stack.services.store.get(request.id).status is Status.EXPIRED
    assert creates(stack) == 0


# At most one effect, even with a blocked loop -----------------------------------------------


def test_a_slack_429_sleep_in_the_sweep_does_not_let_another_worker_create_twice(make_stack):
    # Worker A carries out a slow create while its loop sleeps on Slack's Retry-After (a
    # reminder in the sweep). Its lease and claim must stay alive: worker B must not take
    # the request over and create the member a second time.
    stack = make_stack(
        workers=1, sweep_every=0.5, reminder_after_hours=0.5 / 3600, request_expiry_hours=1
    )
    waiting = file_request(stack, ALICE, {**JANE, "email": "waits@example.com"})
    time.sleep(0.7)  # `waiting` is due a reminder at A's next sweep
    stack.standin.fail_next("chat.postMessage", count=1, retry_after=4)
    request = file_request(stack, ALICE, JANE)
    faults = stack.sandbox.faults
    # Longer than the claim time (1 s), shorter than the client's timeout (2 s).
    faults.operation, faults.hang_next, faults.hang_seconds = "createMember", 1, 1.5
    click(stack, BOB, "Approve", request)
    stack.start_worker()  # B, ready to claim anything that looks abandoned
    done = wait_status(stack, request.id, Status.DONE, Status.FAILED, timeout=30)
    assert done.status is Status.DONE, done.outcome
    assert creates(stack) == 1
    assert stack.services.store.get(waiting.id).status is Status.PENDING


def test_a_request_whose_execution_keeps_raising_is_parked_as_failed(make_stack):
    stack = make_stack(workers=0)
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.APPROVED)
    # A hash the worker cannot read: every delivery raises before any API call.
    stack.redis.hset(keys.request(request.id), "credit", "not-a-number")
    stack.start_worker()
    parked = eventually(
        lambda: stack.redis.hget(keys.request(request.id), "status") == "failed",
        timeout=40,
        what="the request parked as failed",
    )
    assert parked
    outcome = stack.redis.hget(keys.request(request.id), "outcome")
    assert "could not be carried out" in outcome
    assert creates(stack) == 0
    eventually(
        lambda: stack.redis.xpending(keys.WORK_STREAM, keys.WORK_GROUP)["pending"] == 0,
        what="the parked entry was acknowledged",
    )
    actions = [e["action"] for e in RedisAuditLog(stack.redis).entries(request.id)]
    assert actions[-1] == "parked"


# Personal data is kept for a stated time ----------------------------------------------------


def test_finished_requests_and_their_audit_trail_expire_after_the_retention(make_stack):
    stack = make_stack(sweep_every=0.5, retention_days=2 / 86400)
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE, timeout=20)
    eventually(
        lambda: stack.services.store.get(request.id) is None,
        timeout=20,
        what="the request hash expired",
    )
    eventually(
        lambda: (
            request.id not in stack.services.store.recent_ids(500)
            and request.id not in stack.services.store.ids_of_requester(ALICE)
        ),
        timeout=20,
        what="the indexes forgot it",
    )
    eventually(
        lambda: not list(RedisAuditLog(stack.redis).entries(request.id)),
        timeout=20,
        what="the audit trail forgot it",
    )


# Fast recovery, graceful restarts ----------------------------------------------------------


def test_a_worker_restarted_under_its_name_resumes_its_own_work_at_once(make_stack, tmp_path):
    # The claim time is a minute: only resuming its own entries (not claiming abandoned
    # ones) gets the request done well before that.
    stack = make_stack(workers=0)
    request = file_request(stack, ALICE, JANE)
    faults = stack.sandbox.faults
    faults.operation, faults.hang_next, faults.hang_seconds = "createMember", 1, 0.5
    click(stack, BOB, "Approve", request)
    named = {"WORKER_NAME": "worker.1", "WORKER_CLAIM_IDLE_SECONDS": "60"}
    first = worker_process(stack, tmp_path, **named)
    try:
        eventually(lambda: creates(stack) == 1, 20, "the first life sent the create")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = worker_process(stack, tmp_path, **named)
    try:
        done = wait_status(stack, request.id, Status.DONE, timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert creates(stack) == 1
    assert done.attempts == 2 and "earlier attempt" in done.outcome


def test_sigterm_lets_a_busy_worker_finish_and_exit_0(make_stack, tmp_path):
    stack = make_stack(workers=0)
    request = file_request(stack, ALICE, JANE)
    faults = stack.sandbox.faults
    faults.operation, faults.hang_next, faults.hang_seconds = "createMember", 1, 1.5
    click(stack, BOB, "Approve", request)
    busy = worker_process(stack, tmp_path)
    try:
        eventually(
            lambda: stack.services.store.get(request.id).status is Status.EXECUTING,
            20,
            "the worker is carrying it out",
        )
        busy.send_signal(signal.SIGTERM)
        code = busy.wait(30)
        stderr = busy.stderr.read().decode() if busy.stderr else ""
    finally:
        if busy.poll() is None:
            busy.kill()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "I/O operation on closed file" not in stderr
    assert stack.services.store.get(request.id).status is Status.DONE  # finished, not dropped
    assert stack.redis.xpending(keys.WORK_STREAM, keys.WORK_GROUP)["pending"] == 0


def test_a_check_that_fails_after_an_ambiguous_create_keeps_the_request_ambiguous(stack):
    # Coolblue answers 503 to everything: the create's outcome is unknown, and so is the
    # check that follows it. Retry must then check first again, never POST blindly.
    request = file_request(stack, ALICE, JANE)
    faults = stack.sandbox.faults
    faults.fail_next, faults.fail_status = 1000, 503
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=30)
    assert failed.ambiguous
    faults.clear()
    stack.standin.wait_for(
        lambda: approval_message(stack, request).metadata["event_payload"]["status"] == "failed",
        description="the approval message shows the failure",
    )
    seen = len(stack.sandbox.state.requests)
    click(stack, BOB, "Retry", request)
    wait_status(stack, request.id, Status.DONE, timeout=30)
    retried = [r["method"] for r in stack.sandbox.state.requests[seen:] if "/members" in r["path"]]
    assert retried[:2] == ["GET", "POST"]  # checked first, then created
    assert stack.sandbox.state.member(COMMUNITY, "jane@example.com") is not None
