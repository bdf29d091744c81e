"""Token economy: token requests per 1,000 API calls with several processes at work.

A stack of its own, whose sandbox issues tokens of `lifetime` seconds and whose policy
needs no approval, so every filed request goes straight to a worker. Filers keep adding
requests and looking up credit for `duration` seconds; the API calls come from the web
process (list communities, credit) and the worker processes (create member).
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.stack import HR_USERS, BenchStack, StackOptions, poll
from bot.communities.tokens import renewal_margin_ms

FILERS = 4


def options(workers: int, lifetime: int) -> StackOptions:
    return StackOptions(workers=workers, token_lifetime=lifetime, approvals_required_add=0)


def run(stack: BenchStack, duration: float) -> dict[str, Any]:
    lifetime = stack.options.token_lifetime
    stop = threading.Event()
    started = time.monotonic()
    drivers = stack.drivers(FILERS)

    def filer(index: int) -> int:
        done = 0
        while not stop.is_set():
            email = stack.new_email()
            stack.file_add(drivers[index], HR_USERS[index], email)
            drivers[index].command(HR_USERS[index], f"credit {email}")
            done += 1
        return done

    with ThreadPoolExecutor(FILERS) as pool:
        futures = [pool.submit(filer, index) for index in range(FILERS)]
        stop.wait(duration)
        stop.set()
        filed = sum(future.result() for future in futures)
    elapsed = time.monotonic() - started
    poll(lambda: stack.member_count() >= filed, 60, 0.05, "the last members")
    return _figures(stack.sandbox_stats(), lifetime, elapsed, stack.options.workers, filed)


def _figures(
    stats: dict[str, Any], lifetime: int, elapsed: float, workers: int, filed: int
) -> dict[str, Any]:
    tokens = int(stats["token_requests"])
    calls = sum(int(count) for name, count in stats["operations"].items() if name != "getToken")
    effective = lifetime - renewal_margin_ms(lifetime * 1000) / 1000
    return {
        "worker_processes": workers,
        "token_lifetime_s": lifetime,
        "run_seconds": round(elapsed, 1),
        "requests_filed": filed,
        "api_calls": calls,
        "token_requests": tokens,
        "token_requests_per_1000_calls": round(tokens * 1000 / calls, 3) if calls else None,
        "token_lifetimes_in_run": math.ceil(elapsed / lifetime),
        "expected_with_early_renewal": math.ceil(elapsed / effective),
    }
