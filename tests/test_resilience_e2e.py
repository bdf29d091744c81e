"""What happens when parts fail: a worker dies, Redis restarts or is down, Coolblue is
down or ambiguous, credentials are refused. Real processes, real Redis, real HTTP."""

from __future__ import annotations

import json
import signal

import httpx

from bot.domain.requests import Status
from bot.storage import keys
from bot.storage.audit_log import RedisAuditLog
from tests.conftest import ALICE, BOB, BOTH_MODES, COMMUNITY
from tests.flows import (
    JANE,
    approval_message,
    click,
    ephemeral_after,
    eventually,
    file_request,
    open_modal,
    wait_status,
    worker_process,
)


def creates(stack) -> int:
    return stack.sandbox.state.operation_counts.get("createMember", 0)


def test_worker_killed_mid_job_another_finishes_with_one_api_call(make_stack, tmp_path):
    stack = make_stack(workers=0)
    sandbox = stack.sandbox
    request = file_request(stack, ALICE, JANE)
    # The create reaches Coolblue and is applied half a second later; the worker that sent
    # it is killed before it can record the outcome or acknowledge the stream entry.
    sandbox.faults.operation, sandbox.faults.hang_next = "createMember", 1
    sandbox.faults.hang_seconds = 0.5
    click(stack, BOB, "Approve", request)
    doomed = worker_process(stack, tmp_path)
    try:
        eventually(lambda: creates(stack) == 1, 20, "the doomed worker sent the create")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert stack.services.store.get(request.id).status is Status.EXECUTING
    stack.start_worker()
    done = wait_status(stack, request.id, Status.DONE, timeout=20)
    assert creates(stack) == 1
    assert len(sandbox.state.members(COMMUNITY)) == 1
    assert "earlier attempt" in done.outcome and done.attempts == 2
    eventually(
        lambda: stack.redis.xpending(keys.WORK_STREAM, keys.WORK_GROUP)["pending"] == 0,
        what="the claimed entry was acknowledged",
    )


def test_redis_restart_keeps_pending_requests(make_stack, own_redis_server):
    stack = make_stack(redis_url=own_redis_server.url)
    request = file_request(stack, ALICE, JANE)
    own_redis_server.stop()
    own_redis_server.start()
    assert stack.services.store.get(request.id).status is Status.PENDING
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE, timeout=20)
    assert creates(stack) == 1


def test_ambiguous_create_ends_done_and_creates_once(stack):
    sandbox = stack.sandbox
    sandbox.faults.drop_after_create_next = 1  # applied, then the connection drops
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    done = wait_status(stack, request.id, Status.DONE, Status.FAILED)
    assert done.status is Status.DONE
    assert creates(stack) == 1
    assert sandbox.state.member(COMMUNITY, "jane@example.com") is not None


@BOTH_MODES  # Retry over HTTP and over Socket Mode
def test_coolblue_down_fails_with_retry_then_retry_succeeds_once(stack):
    sandbox = stack.sandbox
    request = file_request(stack, ALICE, JANE)
    sandbox.faults.fail_next, sandbox.faults.fail_status = 1000, 503
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=30)
    assert failed.correlation_id
    message = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"] == "failed"
            and m
        )
    )
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Failed" in text and failed.correlation_id in text and "Retry" in text
    stack.standin.wait_for(lambda: any("failed" in m.text for m in stack.standin.dms(ALICE)))
    assert sandbox.state.member(COMMUNITY, "jane@example.com") is None

    sandbox.faults.clear()
    click(stack, ALICE, "Retry", request)  # HR may not retry
    assert stack.services.store.get(request.id).status is Status.FAILED
    click(stack, BOB, "Retry", request)
    wait_status(stack, request.id, Status.DONE, timeout=20)
    assert len(sandbox.state.members(COMMUNITY)) == 1
    actions = [e["action"] for e in RedisAuditLog(stack.redis).entries(request.id)]
    assert actions.count("retried") == 1 and actions[-1] == "done"


def test_refused_credentials_fail_with_a_message_about_credentials(stack):
    request = file_request(stack, ALICE, JANE)
    stack.sandbox.faults.fail_next, stack.sandbox.faults.fail_status = 50, 401
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=20)
    assert "credentials" in failed.outcome and "environment" in failed.outcome


def test_redis_down_gives_a_clear_message_and_keeps_the_modal(make_stack, own_redis_server):
    stack = make_stack(redis_url=own_redis_server.url)
    view = open_modal(stack, ALICE, "add")
    stack.services.api.list_communities()  # warm; the API itself is fine
    own_redis_server.stop()
    try:
        result = stack.driver.fill_and_submit(ALICE, view["id"], JANE)
        assert result.errors and "nothing was changed" in " ".join(result.errors.values())
        before = len(stack.standin.ephemerals(ALICE))
        stack.driver.command(ALICE, "pending")
        assert "storage is unavailable" in ephemeral_after(stack, ALICE, before)
        assert httpx.get(f"{stack.server.url}/healthz").status_code == 503
    finally:
        own_redis_server.start()
