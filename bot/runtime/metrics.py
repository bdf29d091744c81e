"""Prometheus metrics of one process, served at GET /metrics (bot.runtime.web).

One `Metrics` per Runtime, each with a `CollectorRegistry` of its own rather than
prometheus_client's global default one:

* in production a process has exactly one Runtime, so this is one registry per process.
  Every process (the web, each worker) serves its own /metrics and Prometheus scrapes each
  as a target of its own: counters are summed across targets, histograms too (their
  buckets add up). The work-queue gauges are read from Redis at scrape time and so are the
  same from every process: take `max()` of them, not `sum()`. No multiprocess mode
  (PROMETHEUS_MULTIPROC_DIR) is needed: that is for one port shared by forked workers;
  here no two processes share a port.
* the tests, the console and the benchmarks run several LocalStacks in one Python process;
  each has its Runtime and so its registry, and a test reads exactly what its own stack
  counted (and the queue collector reads its own stack's Redis). With the global registry
  the second stack could not even register its queue collector (duplicate time series).

What the lower layers know of this: nothing. bot.storage, bot.communities and bot.slack
each take a plain callable (an observer), and bootstrap wires these methods in. Labels
carry operation names, statuses, Slack method names and error codes, never an ID, a name,
an address or a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import redis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk import WebClient
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.domain.requests import Operation, Status
from bot.runtime.health import redis_place
from bot.storage import keys
from bot.storage.requests import Change
from bot.storage.work_queue import queue_stats

__all__ = ["CONTENT_TYPE", "Metrics", "SlackCallCounter"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
NAMESPACE = "communitybot"

# Ack latency: Slack allows 3 s; the interesting part is well below 250 ms.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
API_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The work streams shown, by the `queue` label: single requests, and import rows.
QUEUES = (
    ("requests", keys.WORK_STREAM, keys.WORK_GROUP),
    ("imports", keys.IMPORT_WORK_STREAM, keys.IMPORT_WORK_GROUP),
)

_OPERATIONS = frozenset(op.value for op in Operation)
_STATUSES = frozenset(status.value for status in Status)
_OUTCOMES = frozenset({Status.DONE.value, Status.FAILED.value})
_SLACK_METHOD = re.compile(r"^[a-z][A-Za-z]*(\.[A-Za-z]+)+$")
_SLACK_ERROR = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_API_STATUS = re.compile(r"^([1-5][0-9]{2}|[A-Z][A-Za-z]{1,40})$")  # a code, or an error class


class Metrics:
    """The counters and histograms of one process, and its queue gauges."""

    def __init__(self, *, process_collectors: bool = True) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests_filed = Counter(
            f"{NAMESPACE}_requests_filed",
            "Requests filed, by operation (add, remove).",
            ["operation"],
            registry=r,
        )
        self.requests_reached = Counter(
            f"{NAMESPACE}_requests",
            "Requests that reached a state, by operation and state (pending at filing too).",
            ["operation", "status"],
            registry=r,
        )
        self.transitions = Counter(
            f"{NAMESPACE}_request_transitions",
            "State changes of requests, by the state left and the state reached "
            '(from "new" at filing; pending to pending is one approval of several).',
            ["from", "to"],
            registry=r,
        )
        self.executions = Counter(
            f"{NAMESPACE}_executions",
            "Requests a worker carried out, by outcome: done or failed (counted once, when the "
            "outcome is recorded), error (the execution raised; it is tried again), parked "
            "(failed after too many tries before reaching Coolblue).",
            ["outcome"],
            registry=r,
        )
        self.api_calls = Counter(
            f"{NAMESPACE}_communities_api_calls",
            "HTTP attempts towards the Communities API, token requests included, by "
            "operationId and HTTP status (or the transport error, e.g. ReadTimeout).",
            ["operation", "status"],
            registry=r,
        )
        self.api_seconds = Histogram(
            f"{NAMESPACE}_communities_api_call_seconds",
            "Duration of each Communities API attempt, by operationId.",
            ["operation"],
            buckets=API_BUCKETS,
            registry=r,
        )
        self.token_renewals = Counter(
            f"{NAMESPACE}_communities_token_renewals",
            "Access-token renewals this process made, by outcome (renewed, failed).",
            ["outcome"],
            registry=r,
        )
        self.slack_calls = Counter(
            f"{NAMESPACE}_slack_api_calls",
            "HTTP responses from the Slack Web API (each retry counts), by method.",
            ["method"],
            registry=r,
        )
        self.slack_errors = Counter(
            f"{NAMESPACE}_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error code "
            "(http_NNN for another HTTP status, transport_error when nothing came back).",
            ["method", "error"],
            registry=r,
        )
        self.slack_rate_limited = Counter(
            f"{NAMESPACE}_slack_api_rate_limited",
            "Slack Web API answers of 429 (rate limited), by method.",
            ["method"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            f"{NAMESPACE}_slack_ack_seconds",
            "Time from a Slack request reaching the Bolt app to its acknowledgement, by kind "
            "(command, block_actions, view_submission, ...).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        if process_collectors:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)

    # Hooks the lower layers are given ----------------------------------------------------

    def request_changed(self, change: Change) -> None:
        """bot.storage.requests: a state change the store just made."""
        operation = change.operation if change.operation in _OPERATIONS else "unknown"
        after = change.after if change.after in _STATUSES else "unknown"
        before = change.before if change.before in _STATUSES else "new"
        if not change.before:
            self.requests_filed.labels(operation).inc()
        if before != after:
            self.requests_reached.labels(operation, after).inc()
        self.transitions.labels(before, after).inc()
        if before == Status.EXECUTING and after in _OUTCOMES and change.action == after:
            self.executions.labels(after).inc()  # the outcome an execution recorded

    def execution(self, outcome: str) -> None:
        """bot.runtime.worker: error | parked (done and failed: request_changed)."""
        self.executions.labels(outcome).inc()

    def api_attempt(self, operation: str, status: str, seconds: float) -> None:
        """bot.communities: one HTTP attempt (bot.communities.retry)."""
        status = status if _API_STATUS.match(status) else "other"
        self.api_calls.labels(operation, status).inc()
        self.api_seconds.labels(operation).observe(seconds)

    def token_renewal(self, outcome: str) -> None:
        """bot.communities.tokens: renewed | failed."""
        self.token_renewals.labels(outcome).inc()

    def ack(self, kind: str, seconds: float) -> None:
        """bot.slack.app: a request acknowledged after `seconds`."""
        self.ack_seconds.labels(kind).observe(seconds)

    def slack_response(self, method: str, status: int | None, error: str | None) -> None:
        """A Slack Web API response (status None: none came); `error` when it failed."""
        if not _SLACK_METHOD.match(method):
            method = "other"
        if status is not None:
            self.slack_calls.labels(method).inc()
        if status == 429:
            self.slack_rate_limited.labels(method).inc()
        if error is not None:
            self.slack_errors.labels(method, error if _SLACK_ERROR.match(error) else "other").inc()

    # Wiring ----------------------------------------------------------------------------

    def watch_queues(self, client: redis.Redis) -> None:
        """Report the work streams' depth and age, read from Redis at each scrape, and
        the Redis mode with the primary that holds the work."""
        self.registry.register(_QueueCollector(client))
        self.registry.register(_RedisCollector(client))

    def count_slack_calls(self, slack: WebClient) -> None:
        """Count `slack`'s responses, errors and 429s (first among its retry handlers, so
        it sees every attempt; it never asks for a retry itself)."""
        if not any(isinstance(h, SlackCallCounter) for h in slack.retry_handlers):
            slack.retry_handlers.insert(0, SlackCallCounter(self))

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return bytes(generate_latest(self.registry))


class SlackCallCounter(RetryHandler):
    """A slack_sdk retry handler that only looks: slack_sdk asks its handlers about every
    response (a 200 included, with its parsed body) and every failed connection, in order,
    until one retries. This one always answers no, so the next handlers decide."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def __deepcopy__(self, memo: dict[int, object]) -> SlackCallCounter:
        # Bolt deep-copies each request for its lazy listeners, the WebClient included:
        # the copy counts into this process's registry too (which cannot be copied).
        return self

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if response is None:
            self.metrics.slack_response(method, None, "transport_error")
            return False
        status = int(response.status_code)
        failure: str | None = None
        if status == 429:
            failure = "ratelimited"
        elif status != 200:
            failure = f"http_{status}"
        elif isinstance(response.body, dict) and response.body.get("ok") is False:
            failure = str(response.body.get("error") or "unknown")
        self.metrics.slack_response(method, status, failure)
        return False

    def _can_retry(self, **_: Any) -> bool:  # the interface's; can_retry above decides
        return False


class _QueueCollector(Collector):
    """The work streams at scrape time; a Redis failure shows as `..._up 0`, not a 500."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())  # no Redis call when registering

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth, in_progress, waiting, oldest, up = self._families()
        ok = 1
        for name, stream, group in QUEUES:
            try:
                stats = queue_stats(self.client, stream, group)
            except redis.RedisError:
                ok = 0
                continue
            depth.add_metric([name], stats.depth)
            in_progress.add_metric([name], stats.in_progress)
            waiting.add_metric([name], stats.waiting)
            oldest.add_metric([name], stats.oldest_age)
        up.add_metric([], ok)
        return iter((depth, in_progress, waiting, oldest, up))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        prefix = f"{NAMESPACE}_work_queue"
        return (
            GaugeMetricFamily(
                f"{prefix}_depth",
                "Approved work not yet done: waiting or being carried out (the same in "
                "every process: take max, not sum).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                f"{prefix}_in_progress",
                "Work handed to a worker and not yet acknowledged.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                f"{prefix}_waiting", "Work no worker has taken yet.", labels=["queue"]
            ),
            GaugeMetricFamily(
                f"{prefix}_oldest_age_seconds",
                "Age of the oldest work not yet done, by Redis's clock (0 when none).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                f"{prefix}_up", "1 when Redis answered for the queue figures at this scrape."
            ),
        )


class _RedisCollector(Collector):
    """`communitybot_redis_info{mode, primary} 1`: the Redis mode in use and the primary
    holding the work (it changes at a failover)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter([self._family()])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        place = redis_place(self.client)
        family.add_metric([place["redis_mode"], place["redis_primary"]], 1)
        return iter([family])

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            f"{NAMESPACE}_redis_info",
            "The Redis mode (standalone, cluster, sentinel) and the primary holding the work.",
            labels=["mode", "primary"],
        )
