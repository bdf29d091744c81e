"""Slash-command ack latency: N signed requests fired at once, timed by the sender.

The requests are signed here (the Slack stand-in that issues their trigger IDs and
response URLs lives in this process) and sent from separate sender processes, each on a
new connection, so the time measured is the bot's, not this process's wait for its own
GIL behind the stand-in's threads. Slack's senders are not in our interpreter either.
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from bench.stack import HR_USERS, BenchStack
from bench.stats import summary_ms
from bot.slack_standin import DriverResult, SlackDriver

SENDER_PROCESSES = 4
START_DELAY = 0.02  # seconds for every sender to get its batch before the common start

# name -> (command text, what the bot does after the ack that we wait for between rounds)
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("help", "response"),
    "credit": ("credit nobody@example.com", "response"),
    "add": ("add", "views.open"),
}


def run(stack: BenchStack, concurrencies: list[int], samples: int) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    spawn = multiprocessing.get_context("spawn")  # no fork of a threaded process
    with ProcessPoolExecutor(SENDER_PROCESSES, mp_context=spawn) as senders:
        for name, (text, after) in COMMANDS.items():
            for concurrency in concurrencies:
                rounds = max(1, math.ceil(samples / concurrency))
                timings, failures = _cell(stack, senders, text, after, concurrency, rounds)
                cells[f"{name}@{concurrency}"] = {
                    "command": f"/community {text}",
                    "concurrency": concurrency,
                    "failures": failures,
                    **summary_ms(timings),
                }
    return cells


def _cell(
    stack: BenchStack,
    senders: ProcessPoolExecutor,
    text: str,
    after: str,
    concurrency: int,
    rounds: int,
) -> tuple[list[float], int]:
    drivers = stack.drivers(concurrency)
    timings: list[float] = []
    failures = 0
    _warm_up(stack, drivers, text, after)
    for number in range(rounds + 1):  # the first round is a warm-up too, unmeasured
        results = _round(stack, senders, drivers, text, after)
        if number:
            timings += [elapsed for ok, elapsed in results if ok]
            failures += sum(1 for ok, _ in results if not ok)
    return timings, failures


def _warm_up(stack: BenchStack, drivers: list[SlackDriver], text: str, after: str) -> None:
    """One request per connection, one at a time: connections open, Bolt's cached auth.test
    done. (A cold start with 100 at once makes every request call auth.test; see RESULTS.)"""
    for driver, user in zip(drivers, HR_USERS, strict=False):
        stack.standin.reset()
        driver.command(user, text)
        _drain(stack, after, 1)


def _round(
    stack: BenchStack,
    senders: ProcessPoolExecutor,
    drivers: list[SlackDriver],
    text: str,
    after: str,
) -> list[tuple[bool, float]]:
    stack.standin.reset()  # short lists in the stand-in; no modal left open
    pairs = list(zip(drivers, HR_USERS, strict=False))
    prepared = [driver.prepare_command(user, text) for driver, user in pairs]
    requests = [(p.body, p.headers) for p in prepared]
    start_at = time.time() + START_DELAY
    batches = [requests[i::SENDER_PROCESSES] for i in range(SENDER_PROCESSES)]
    futures = [
        senders.submit(send_batch, drivers[0].bot_url, batch, start_at)
        for batch in batches
        if batch
    ]
    answers: list[tuple[int, float, str]] = [None] * len(requests)  # type: ignore[list-item]
    for offset, future in enumerate(futures):
        answers[offset::SENDER_PROCESSES] = future.result()
    results = []
    for (driver, _), ready, (status, elapsed, body) in zip(pairs, prepared, answers, strict=True):
        driver.command_answered(ready, DriverResult(status, elapsed, body, _json(body)))
        results.append((status == 200, elapsed))
    _drain(stack, after, len(pairs))
    return results


def send_batch(
    url: str, requests: list[tuple[bytes, dict[str, str]]], start_at: float
) -> list[tuple[int, float, str]]:
    """In a sender process: each request from its own thread, all at `start_at`."""
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda request: _send(url, *request, start_at), requests))


def _send(
    url: str, body: bytes, headers: dict[str, str], start_at: float
) -> tuple[int, float, str]:
    parts = urlsplit(url)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
    except OSError:
        return 0, time.perf_counter() - started, ""
    finally:
        connection.close()
    return reply.status, time.perf_counter() - started, data.decode()


def _json(body: str) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def _drain(stack: BenchStack, after: str, count: int) -> None:
    """Wait until the bot finished the work after each ack, so rounds do not overlap."""
    standin = stack.standin
    if after == "response":
        standin.wait_for(
            lambda: len(standin.responses) >= count,
            timeout=60,
            description="replies after the acks",
        )
    else:
        standin.wait_for(
            lambda: len(standin.calls_to(after)) >= count,
            timeout=60,
            description=f"{after} after the acks",
        )
