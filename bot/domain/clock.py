"""The one clock the bot reads for business time: when a request was filed, decided,
expires, or is due. Injected everywhere, so the local console (and the tests) can move
time (`clock +2d`) and watch scheduled changes run, with nothing patched.

Slack's request signatures are checked against the real time (bot.runtime.web): a moved
clock must never make a stale request look fresh.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""


class SystemClock:
    def now(self) -> float:
        return time.time()


class MovableClock:
    """The system clock plus an offset that only grows: time can be moved forward."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")  # i18n: not for people
        with self._lock:
            self._offset += seconds
