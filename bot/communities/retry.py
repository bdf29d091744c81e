"""Which requests are sent again, and after how long.

* A request that certainly never reached the server (connection refused, no free
  connection) may be repeated, a create included.
* A reply of 429 is retried after `Retry-After` (or a backoff when it names no time);
  one that asks for longer than `retry_after_cap` raises RateLimited at once.
* A timeout, a dropped connection or a 5xx is retried only for a `replayable` request
  (GET, DELETE, the token request). For a create (`replayable=False`) the server may
  have processed it, so it is NEVER re-sent: AmbiguousCreate is raised instead.
* Backoff is full jitter, `uniform(0, min(cap, base * 2**(attempt-1)))`.
* Every wait ends at once when `stop` is set: Interrupted is raised (the caller leaves
  the work to be resumed; nothing is recorded as an outcome).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bot.communities import contract
from bot.communities.errors import (
    AmbiguousCreate,
    CommunitiesError,
    Interrupted,
    RateLimited,
    ServiceUnavailable,
    Timeout,
)

__all__ = ["AttemptObserver", "Reply", "RetryPolicy", "retry_after_seconds"]

logger = logging.getLogger("bot.communities")

# The request certainly never reached the server: safe to repeat even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Our own mistake (bad URL, proxy set-up): repeating cannot help.
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.LocalProtocolError)


# Told of every attempt: its operationId, the HTTP status (or the transport error's class
# name, e.g. "ReadTimeout") and how long it took in seconds. Never the URL or a header.
AttemptObserver = Callable[[str, str, float], None]


@dataclass(frozen=True)
class Reply:
    """The response that ended the retries (any status but 429 and 5xx)."""

    response: httpx.Response
    # The server's echo of our correlation ID, else ours.
    correlation_id: str
    # An earlier attempt may have been processed (timeout, dropped connection, 5xx).
    ambiguous_before: bool


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_base: float = 0.2
    backoff_cap: float = 5.0
    retry_after_cap: float = 30.0
    observer: AttemptObserver | None = field(default=None, compare=False)  # metrics
    stop: threading.Event | None = field(default=None, compare=False)  # ends every wait

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_attempts", max(1, self.max_attempts))

    def send(
        self,
        operation: str,
        attempt_once: Callable[[], httpx.Response],
        *,
        correlation_id: str,
        replayable: bool,
    ) -> Reply:
        """Call `attempt_once` until it gives a reply worth returning, or raise the typed
        error of the last failure. `operation` (an operationId) names the calls in logs."""
        ambiguous = False
        failure: CommunitiesError = ServiceUnavailable(correlation_id=correlation_id)
        for attempt in range(1, self.max_attempts + 1):
            started = time.monotonic()
            try:
                response = attempt_once()
            except httpx.TransportError as exc:
                self._observe(operation, type(exc).__name__, started)
                _log_attempt(operation, type(exc).__name__, attempt, started, correlation_id)
                failure, maybe_processed = _transport_failure(exc, correlation_id, replayable)
                ambiguous = ambiguous or maybe_processed
                delay = self.backoff(attempt)
            else:
                echoed = response.headers.get(contract.CORRELATION_HEADER) or correlation_id
                self._observe(operation, str(response.status_code), started)
                _log_attempt(operation, response.status_code, attempt, started, echoed)
                status = response.status_code
                if status == 429:
                    failure, delay = self._rate_limited(response, echoed, attempt)
                elif status >= 500:
                    if not replayable:
                        raise AmbiguousCreate(correlation_id=echoed, status=status)
                    failure = ServiceUnavailable(correlation_id=echoed, status=status)
                    ambiguous, delay = True, self.backoff(attempt)
                else:
                    return Reply(response, echoed, ambiguous)
            if attempt < self.max_attempts:
                self.pause(delay)
        raise failure

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, or raise Interrupted the moment `stop` is set."""
        if self.stop is None:
            time.sleep(seconds)
        elif self.stop.wait(seconds):
            raise Interrupted()

    def _observe(self, operation: str, status: str, started: float) -> None:
        if self.observer is not None:
            self.observer(operation, status, time.monotonic() - started)

    def backoff(self, attempt: int) -> float:
        # Full jitter: spread retries of many workers instead of synchronising them.
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def _rate_limited(
        self, response: httpx.Response, correlation_id: str, attempt: int
    ) -> tuple[RateLimited, float]:
        retry_after = retry_after_seconds(response)
        failure = RateLimited(retry_after=retry_after, correlation_id=correlation_id)
        if retry_after is None:
            return failure, self.backoff(attempt)
        if retry_after > self.retry_after_cap:
            # Waiting that long would hold up a person in Slack; say so instead.
            raise RateLimited(
                f"Coolblue is rate-limiting us (429) and asks to wait {retry_after:.0f} s. "
                "Try again later.",
                retry_after=retry_after,
                correlation_id=correlation_id,
            )
        return failure, retry_after


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds from now (either form), None when absent or unreadable."""
    raw = response.headers.get(contract.RETRY_AFTER_HEADER)
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _transport_failure(
    exc: httpx.TransportError, correlation_id: str, replayable: bool
) -> tuple[CommunitiesError, bool]:
    """The error to raise if this was the last attempt, and whether the server may
    have processed the request."""
    if isinstance(exc, _NOT_RETRYABLE):
        raise CommunitiesError(
            "Could not send the request to Coolblue; check COMMUNITIES_API_URL and "
            "COMMUNITIES_TOKEN_URL (and any proxy settings).",
            correlation_id=correlation_id,
        ) from None
    is_timeout = isinstance(exc, httpx.TimeoutException)
    failure: CommunitiesError = (
        Timeout(correlation_id=correlation_id)
        if is_timeout
        else ServiceUnavailable(correlation_id=correlation_id)
    )
    if isinstance(exc, _NOT_SENT):
        return failure, False
    if not replayable:
        raise AmbiguousCreate(correlation_id=correlation_id) from None
    return failure, True


def _log_attempt(
    operation: str, status: int | str, attempt: int, started: float, correlation_id: str
) -> None:
    # Never the URL (member URLs carry the e-mail address), never headers (the token).
    logger.info(
        "communities operation=%s status=%s attempt=%d duration_ms=%d correlation_id=%s",
        operation,
        status,
        attempt,
        (time.monotonic() - started) * 1000,
        correlation_id,
        extra={"correlation_id": correlation_id},  # a field of its own in JSON logs
    )
