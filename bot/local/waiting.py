"""The one polling helper, for state the caller cannot be notified of (Redis, a sandbox, a
process). The stand-in has its own `wait_for`, woken by each recorded call instead."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.01,
    abort: Callable[[], str | None] | None = None,
) -> T:
    """Call `check` every `interval` s until it returns something truthy, and return that.
    `abort` may return a reason to give up at once (a process that died)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if abort is not None and (reason := abort()):
            raise RuntimeError(f"{what}: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)
