"""Approve click -> member created at the sandbox, one request at a time."""

from __future__ import annotations

import time
from typing import Any

from bench.stack import APPROVALS, HR_USERS, BenchStack, poll
from bench.stats import summary_ms

POLL_INTERVAL = 0.002
OPEN_STATUSES = {"pending", "approved", "executing"}


def run(stack: BenchStack, latencies: list[int], samples: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for latency_ms in latencies:
        stack.set_latency(latency_ms)
        _one(stack)  # warm-up, unmeasured
        timings = [_one(stack) for _ in range(samples)]
        overheads = [t - latency_ms / 1000 for t in timings]
        results[f"latency_{latency_ms}ms"] = {
            "sandbox_latency_ms": latency_ms,
            "click_to_member": summary_ms(timings),
            "overhead": summary_ms(overheads),
        }
    stack.set_latency(0)
    return results


def filed_and_waiting(stack: BenchStack) -> str:
    """File one request through the modal; the ts of its approval message."""
    seen = {ts for ts, _ in stack.pending_approvals()}
    driver = stack.drivers(1)[0]
    stack.file_add(driver, HR_USERS[0], stack.new_email())
    fresh = poll(
        lambda: [ts for ts, _ in stack.pending_approvals() if ts not in seen],
        timeout=15,
        interval=0.002,
        what="approval message",
    )
    return str(fresh[0])


def wait_finished(stack: BenchStack, ts: str) -> None:
    """Until the approval message shows a final status (the worker has announced)."""

    def finished() -> bool:
        message = stack.standin.message(APPROVALS, ts)
        status = (
            ((message.metadata or {}).get("event_payload") or {}).get("status") if message else None
        )
        return status not in OPEN_STATUSES

    poll(finished, timeout=30, interval=0.005, what="final status")


def _one(stack: BenchStack) -> float:
    ts = filed_and_waiting(stack)
    target = stack.member_count() + 1
    started = time.perf_counter()
    stack.approve(stack.drivers(1)[0], ts)
    while stack.member_count() < target:
        if time.perf_counter() - started > 30:
            raise TimeoutError("member not created within 30 s of Approve")
        time.sleep(POLL_INTERVAL)
    elapsed = time.perf_counter() - started
    wait_finished(stack, ts)
    return elapsed
