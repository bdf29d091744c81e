"""Every wait of the Communities client ends on a stop; an outage is logged once and its end
once (issue 17, items 9 and 10). Pure logic: no network, no Redis."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from bot.communities.errors import Interrupted, RateLimited
from bot.communities.retry import RetryPolicy
from bot.runtime.import_runner import RateGate
from bot.runtime.logs import Outage


def _rate_limited(seconds: int) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": str(seconds)})


def test_a_retry_after_wait_ends_with_interrupted_when_the_stop_is_set() -> None:
    stop = threading.Event()
    calls: list[int] = []

    def attempt() -> httpx.Response:
        calls.append(1)
        threading.Timer(0.1, stop.set).start()
        return _rate_limited(25)

    policy = RetryPolicy(stop=stop)
    with pytest.raises(Interrupted):
        policy.send("createMember", attempt, correlation_id="c", replayable=False)
    assert calls == [1]  # never sent again


def test_without_a_stop_the_policy_still_raises_its_own_errors() -> None:
    policy = RetryPolicy(max_attempts=1)
    with pytest.raises(RateLimited):
        policy.send("createMember", lambda: _rate_limited(1), correlation_id="c", replayable=False)


def test_a_set_stop_ends_the_429_gate_before_the_request_is_sent() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    stop = threading.Event()
    gate = RateGate(httpx.MockTransport(handler), stop=stop)
    gate.hold(600)
    stop.set()
    with pytest.raises(Interrupted):
        gate.handle_request(httpx.Request("GET", "https://api.example/x"))
    assert sent == []


def test_an_outage_is_one_warning_and_its_end_one_line(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage(logging.getLogger("bot.test"), "runner r1")
    with caplog.at_level(logging.INFO, logger="bot.test"):
        outage.ok()  # no outage: nothing to say
        threads = [
            threading.Thread(target=outage.failing, args=(ConnectionError(),)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outage.ongoing
        outage.ok()
        outage.ok()
        outage.failing(TimeoutError())  # a new outage
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0] == "runner r1: Redis failing (ConnectionError); backing off"
    assert lines[1].startswith("runner r1: Redis back after ")
    assert lines[2] == "runner r1: Redis failing (TimeoutError); backing off"
