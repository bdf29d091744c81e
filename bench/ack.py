"""Slash-command ack latency: N signed requests fired at once, as the driver sees them."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.stack import HR_USERS, BenchStack
from bench.stats import summary_ms
from bot.slack_standin import SlackDriver

# name -> (command text, what the bot does after the ack that we wait for between rounds)
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("help", "response"),
    "credit": ("credit nobody@example.com", "response"),
    "add": ("add", "views.open"),
}


def run(stack: BenchStack, concurrencies: list[int], samples: int) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for name, (text, after) in COMMANDS.items():
        for concurrency in concurrencies:
            rounds = max(1, math.ceil(samples / concurrency))
            timings, failures = _cell(stack, text, after, concurrency, rounds)
            cells[f"{name}@{concurrency}"] = {
                "command": f"/community {text}", "concurrency": concurrency,
                "failures": failures, **summary_ms(timings)}
    return cells


def _cell(stack: BenchStack, text: str, after: str, concurrency: int,
          rounds: int) -> tuple[list[float], int]:
    drivers = stack.drivers(concurrency)
    timings: list[float] = []
    failures = 0
    _warm_up(stack, drivers, text, after)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="ack") as pool:
        for number in range(rounds + 1):  # the first round is a warm-up too, unmeasured
            results = _round(stack, pool, drivers, text, after)
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


def _round(stack: BenchStack, pool: ThreadPoolExecutor, drivers: list[SlackDriver],
           text: str, after: str) -> list[tuple[bool, float]]:
    stack.standin.reset()  # short lists in the stand-in; no modal left open
    barrier = threading.Barrier(len(drivers))
    futures = [pool.submit(_fire, barrier, driver, user, text)
               for driver, user in zip(drivers, HR_USERS, strict=False)]
    results = [future.result() for future in futures]
    _drain(stack, after, len(drivers))
    return results


def _fire(barrier: threading.Barrier, driver: SlackDriver, user: str,
          text: str) -> tuple[bool, float]:
    barrier.wait(30)
    result = driver.command(user, text)
    return result.status_code == 200, result.elapsed


def _drain(stack: BenchStack, after: str, count: int) -> None:
    """Wait until the bot finished the work after each ack, so rounds do not overlap."""
    standin = stack.standin
    if after == "response":
        standin.wait_for(lambda: len(standin.responses) >= count, timeout=60,
                         description="replies after the acks")
    else:
        standin.wait_for(lambda: len(standin.calls_to(after)) >= count, timeout=60,
                         description=f"{after} after the acks")
