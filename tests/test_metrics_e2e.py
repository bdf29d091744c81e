"""GET /metrics: what a flow counts, scraped over real HTTP from the LocalStack's server (in
HTTP mode the web's PORT, in Socket Mode its health port) and from a `python -m bot worker`
process's HEALTH_PORT. Each LocalStack has a registry of its own, so the figures below are
exactly this test's."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.requests import Status
from bot.storage.redis_server import free_port
from tests.conftest import ALICE, BOB, BOTH_MODES, CAROL
from tests.flows import JANE, click, ephemeral_after, eventually, file_request, worker_process
from tests.flows import wait_status as wait_for_status

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> Samples:
    reply = httpx.get(f"{base_url}/metrics", timeout=5)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def settled(base_url: str, executions: str = "done") -> Samples:
    """A scrape once the execution is counted and its entry acknowledged (the worker
    acknowledges after telling people)."""
    return eventually(
        lambda: (
            (s := scrape(base_url))
            and value(s, "communitybot_executions_total", outcome=executions) >= 1
            and value(s, "communitybot_work_queue_depth", queue="requests") == 0
            and s
        ),
        what="execution counted and queue empty",
    )


@BOTH_MODES
def test_add_approve_done_is_counted(stack) -> None:
    base = stack.server.url  # HTTP: the web's port; Socket Mode: the health port
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    wait_for_status(stack, request.id, Status.DONE)
    s = settled(base)

    assert value(s, "communitybot_requests_filed_total") == 1
    assert value(s, "communitybot_requests_filed_total", operation="add") == 1
    for status in ("pending", "approved", "executing", "done"):
        assert value(s, "communitybot_requests_total", operation="add", status=status) == 1
    assert value(s, "communitybot_requests_total", status="failed") == 0
    for before, after in (
        ("new", "pending"),
        ("pending", "approved"),
        ("approved", "executing"),
        ("executing", "done"),
    ):
        assert value(s, "communitybot_request_transitions_total", **{"from": before, "to": after})
    assert value(s, "communitybot_request_transitions_total") == 4
    assert value(s, "communitybot_executions_total", outcome="done") == 1
    assert value(s, "communitybot_executions_total") == 1

    # The sandbox answers a create with 201; its latency histogram saw the same attempts.
    created = value(s, "communitybot_communities_api_calls_total", operation="createMember")
    assert created >= 1
    assert (
        value(s, "communitybot_communities_api_calls_total", operation="createMember", status="201")
        == created
    )
    assert (
        value(s, "communitybot_communities_api_call_seconds_count", operation="createMember")
        == created
    )
    assert value(s, "communitybot_communities_token_renewals_total", outcome="renewed") >= 1

    # Each Slack request was timed to its ack: the command, the modal, the click.
    for kind in ("command", "view_submission", "block_actions"):
        assert value(s, "communitybot_slack_ack_seconds_count", kind=kind) >= 1, kind
    assert value(s, "communitybot_slack_ack_seconds_sum") > 0
    assert value(s, "communitybot_slack_api_calls_total", method="chat.postMessage") >= 1
    assert value(s, "communitybot_slack_api_errors_total") == 0

    assert value(s, "communitybot_work_queue_up") == 1
    assert value(s, "communitybot_work_queue_depth", queue="requests") == 0
    assert value(s, "communitybot_work_queue_in_progress", queue="requests") == 0
    assert value(s, "communitybot_work_queue_oldest_age_seconds", queue="requests") == 0


def test_failures_are_counted(stack) -> None:
    """A create Coolblue refuses, a Slack 429 and a Slack error, a 503 retried."""
    request = file_request(stack, ALICE, JANE)
    stack.sandbox.faults.operation = "createMember"
    stack.sandbox.faults.fail_status = 403
    stack.sandbox.faults.fail_next = 1
    stack.standin.fail_next("chat.update", "ratelimited", count=1, retry_after=1)
    click(stack, BOB, "Approve", request)
    wait_for_status(stack, request.id, Status.FAILED)
    s = settled(stack.server.url, executions="failed")
    assert value(s, "communitybot_executions_total", outcome="failed") == 1
    assert value(s, "communitybot_executions_total", outcome="done") == 0
    assert value(s, "communitybot_request_transitions_total", **{"from": "executing"}) == 1
    assert value(s, "communitybot_requests_total", status="failed") == 1
    assert (
        value(s, "communitybot_communities_api_calls_total", operation="createMember", status="403")
        == 1
    )
    assert value(s, "communitybot_slack_api_rate_limited_total", method="chat.update") == 1
    assert (
        value(s, "communitybot_slack_api_errors_total", method="chat.update", error="ratelimited")
        == 1
    )

    # A look-up whose first attempt gets a 503 is retried: both attempts are counted.
    stack.sandbox.faults.clear()
    stack.sandbox.faults.operation = "getRemainingCredit"
    stack.sandbox.faults.fail_next = 1  # 503, the default
    shown = len(stack.standin.ephemerals(CAROL))
    stack.driver.command(CAROL, "credit nobody@example.com")
    ephemeral_after(stack, CAROL, shown)
    s = scrape(stack.server.url)
    credit = {"operation": "getRemainingCredit"}
    assert value(s, "communitybot_communities_api_calls_total", **credit, status="503") == 1
    assert value(s, "communitybot_communities_api_calls_total", **credit, status="404") == 1

    # A Slack method answering ok: false is counted with its error code.
    stack.standin.fail_next("views.publish", "not_enabled", count=1)
    stack.driver.open_home(CAROL)
    eventually(
        lambda: (
            value(
                scrape(stack.server.url),
                "communitybot_slack_api_errors_total",
                method="views.publish",
                error="not_enabled",
            )
            == 1
        ),
        what="the Slack error counted",
    )
    s = scrape(stack.server.url)
    assert value(s, "communitybot_slack_ack_seconds_count", kind="event_callback") == 1


def test_metrics_only_by_get(stack) -> None:
    reply = httpx.post(f"{stack.server.url}/metrics", content=b"x", timeout=5)
    assert reply.status_code == 405


def test_worker_process_serves_its_own_metrics(make_stack, tmp_path: Path) -> None:
    """A `python -m bot worker` with HEALTH_PORT serves /healthz and /metrics there, with
    what that process did; the web (the stack, running no worker) counts the rest."""
    stack = make_stack(workers=0)
    port = free_port()
    worker = worker_process(stack, tmp_path, HEALTH_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _healthy(base), timeout=30, what="the worker's /healthz")
        request = file_request(stack, ALICE, JANE)
        click(stack, BOB, "Approve", request)
        wait_for_status(stack, request.id, Status.DONE, timeout=20)

        at_worker = settled(base)
        assert value(at_worker, "communitybot_executions_total", outcome="done") == 1
        assert value(at_worker, "communitybot_requests_total", status="done") == 1
        assert value(at_worker, "communitybot_requests_filed_total") == 0  # the web filed it
        assert (
            value(
                at_worker,
                "communitybot_communities_api_calls_total",
                operation="createMember",
                status="201",
            )
            >= 1
        )
        assert value(at_worker, "communitybot_slack_ack_seconds_count") == 0  # acks none

        at_web = scrape(stack.server.url)
        assert value(at_web, "communitybot_requests_filed_total", operation="add") == 1
        assert value(at_web, "communitybot_requests_total", status="approved") == 1
        assert value(at_web, "communitybot_executions_total") == 0
        assert value(at_web, "communitybot_slack_ack_seconds_count") >= 3
        # Both read the same Redis for the queue: the same figure (take max, not sum).
        assert value(at_web, "communitybot_work_queue_depth", queue="requests") == 0
        assert httpx.post(f"{base}/slack/events", timeout=5).status_code == 404
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert worker.returncode == 0, err.decode(errors="replace")


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# The queue figures, read from Redis at scrape time ---------------------------------------


def test_queue_stats_of_a_real_stream(redis_client) -> None:
    from bot.storage import keys
    from bot.storage.work_queue import queue_stats

    empty = queue_stats(redis_client)  # no stream, no group yet: no worker has started
    assert (empty.depth, empty.in_progress, empty.oldest_age) == (0, 0, 0.0)

    now_ms = int(redis_client.time()[0]) * 1000
    redis_client.xgroup_create(keys.WORK_STREAM, keys.WORK_GROUP, id="0", mkstream=True)
    redis_client.xadd(keys.WORK_STREAM, {"request_id": "R1"}, id=f"{now_ms - 90_000}-0")
    redis_client.xadd(keys.WORK_STREAM, {"request_id": "R2"})
    redis_client.xreadgroup(keys.WORK_GROUP, "w1", {keys.WORK_STREAM: ">"}, count=1)
    stats = queue_stats(redis_client)
    assert (stats.depth, stats.in_progress, stats.waiting) == (2, 1, 1)
    assert 90 <= stats.oldest_age < 3600  # R1 was added 90 s ago by Redis's clock


def test_a_scrape_without_redis_says_so() -> None:
    import redis

    from bot.runtime.metrics import Metrics

    metrics = Metrics(process_collectors=False)
    metrics.watch_queues(redis.Redis(port=free_port(), socket_connect_timeout=1))
    text = metrics.exposition().decode()
    assert "communitybot_work_queue_up 0.0" in text
    assert 'communitybot_work_queue_depth{queue="requests"}' not in text
