"""Approved requests carried out per second against a sandbox with added latency.

N requests are filed through the modal, the workers are paused (SIGSTOP), all N are
approved by clicks, then the workers are resumed: the clock runs from the resume to the
last member created, and is compared with the ideal N x latency / total concurrency.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.stack import HR_USERS, BenchStack, poll
from bot.storage.keys import WORK_STREAM

FILERS = 8
CLICKERS = 16


def run(stack: BenchStack, requests: int, latency_ms: int) -> dict[str, Any]:
    stack.set_latency(0)
    _file_all(stack, requests)
    pending = poll(
        lambda: _enough(stack.pending_approvals(), requests),
        timeout=120,
        interval=0.2,
        what="approval messages",
    )
    stack.set_latency(latency_ms)
    base = stack.member_count()
    for worker in stack.workers:
        worker.pause()
    try:
        _approve_all(stack, [ts for ts, _ in pending])
        poll(lambda: stack.redis.xlen(WORK_STREAM) >= requests, 60, 0.01, "approved work")
    finally:
        started = time.perf_counter()
        for worker in stack.workers:
            worker.resume()
    while stack.member_count() < base + requests:
        if time.perf_counter() - started > 300:
            raise TimeoutError("members not all created within 300 s")
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    stack.set_latency(0)
    return _figures(stack, requests, latency_ms, elapsed)


def _enough(pending: list[tuple[str, str]], wanted: int) -> list[tuple[str, str]]:
    return pending if len(pending) >= wanted else []


def _file_all(stack: BenchStack, requests: int) -> None:
    drivers = stack.drivers(FILERS)

    def filer(index: int) -> None:
        for _ in range(index, requests, FILERS):
            stack.file_add(drivers[index], HR_USERS[index], stack.new_email())

    with ThreadPoolExecutor(FILERS) as pool:
        list(pool.map(filer, range(FILERS)))


def _approve_all(stack: BenchStack, stamps: list[str]) -> None:
    drivers = stack.drivers(CLICKERS)

    def clicker(index: int) -> None:
        for ts in stamps[index::CLICKERS]:
            stack.approve(drivers[index], ts)

    with ThreadPoolExecutor(CLICKERS) as pool:
        list(pool.map(clicker, range(CLICKERS)))


def _figures(stack: BenchStack, requests: int, latency_ms: int, elapsed: float) -> dict[str, Any]:
    concurrency = stack.options.workers * stack.options.worker_concurrency
    ideal = requests * (latency_ms / 1000) / concurrency
    return {
        "requests": requests,
        "sandbox_latency_ms": latency_ms,
        "total_worker_concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "per_second": round(requests / elapsed, 1),
        "ideal_per_second": round(concurrency / (latency_ms / 1000), 1),
        "ideal_seconds": round(ideal, 3),
        "ratio_to_ideal": round(elapsed / ideal, 3),
    }
