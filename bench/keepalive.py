"""Approve click -> done (the approval message's final status) with Slack's Web API behind
a TLS front that adds 20 ms per round trip (bench/tls_proxy.py), and the connections the
bot opened to it meanwhile. A stack of its own: web + workers, SLACK_API_URL at the front.

Each call on a new connection pays the TCP and TLS handshakes (two round trips) before its
own; on a kept-alive connection (bot.slack.web_client) only its own.
"""

from __future__ import annotations

import time
from typing import Any

from bench.approve import filed_and_waiting, wait_finished
from bench.stack import BenchStack, StackOptions
from bench.stats import summary_ms

ROUND_TRIP = 0.02


def options(workers: int) -> StackOptions:
    return StackOptions(workers=workers, slack_round_trip=ROUND_TRIP)


def run(stack: BenchStack, samples: int) -> dict[str, Any]:
    proxy = stack.tls_proxy
    _one(stack)  # warm-up, unmeasured
    timings, calls, connections = [], 0, 0
    for _ in range(samples):
        ts = filed_and_waiting(stack)
        calls_before = len(stack.standin.calls)
        proxy.reset()
        started = time.perf_counter()
        stack.approve(stack.drivers(1)[0], ts)
        wait_finished(stack, ts)
        timings.append(time.perf_counter() - started)
        calls += len(stack.standin.calls) - calls_before
        connections += proxy.accepted
    return {
        "round_trip_ms": ROUND_TRIP * 1000,
        "approve_to_done": summary_ms(timings),
        "slack_calls_per_approval": round(calls / samples, 1),
        "connections_per_approval": round(connections / samples, 2),
    }


def _one(stack: BenchStack) -> None:
    ts = filed_and_waiting(stack)
    stack.approve(stack.drivers(1)[0], ts)
    wait_finished(stack, ts)


def render(cell: dict[str, Any]) -> str:
    done = cell["approve_to_done"]
    return (
        f"Approve -> done, Slack behind TLS at {cell['round_trip_ms']:g} ms per round trip: "
        f"p50 {done['p50_ms']:.1f} ms, p99 {done['p99_ms']:.1f} ms (n {done['n']}); "
        f"{cell['slack_calls_per_approval']} Slack calls and "
        f"{cell['connections_per_approval']} new connections per approval"
    )
