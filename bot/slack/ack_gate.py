"""Acks first: post-ack work in this process waits while requests are being acknowledged.

Python runs one thread at a time (the GIL). When 20 requests arrive at once, the lazy
listeners of the first acks (Slack calls, rendering, Redis), the Coolblue look-ups and, in
the all-in-one process, the worker's jobs would otherwise take turns with the acks still
being made, and the last acks of the burst wait for all of them. So every piece of post-ack
work first waits until no ack has been in flight for `quiet` seconds, and no longer than
`patience` after the burst began: a steady stream of requests holds post-ack work back for
its first `patience` seconds, then lets it run beside the acks (a wait per piece of work
would cap post-ack work at a pool's worth per `patience`), and never starves it.

"No ack in flight" alone is not enough: the requests of a burst arrive a little apart (each
on its own connection, read by waitress before the app sees it), so between two of them
there is often no ack in flight for a moment, and post-ack work that starts then holds the
GIL while the rest of the burst is being read. The quiet window bridges those gaps.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

PATIENCE = 0.1  # seconds after a burst began that post-ack work waits for it, at most
QUIET = 0.004  # seconds without an ack in flight before post-ack work starts
# How often Python offers the GIL to another thread (default 5 ms): an ack whose Redis reply
# has arrived waits at most this long for a busy thread to let go.
SWITCH_INTERVAL = 0.001


class AckGate:
    def __init__(self, patience: float = PATIENCE, quiet: float = QUIET) -> None:
        self.patience = patience
        self.quiet = quiet
        self._in_flight = 0
        self._last_ack = -quiet  # monotonic time the last ack was made
        self._burst_began = 0.0  # monotonic time the current burst's first ack began
        self._quiet = threading.Condition()

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Around the making of one ack."""
        with self._quiet:
            now = time.monotonic()
            if not self._in_flight and now - self._last_ack >= self.quiet:
                self._burst_began = now
            self._in_flight += 1
        try:
            yield
        finally:
            with self._quiet:
                self._in_flight -= 1
                if not self._in_flight:
                    self._last_ack = time.monotonic()
                    self._quiet.notify_all()

    def wait_quiet(self) -> None:
        """Until no ack has been in flight for `quiet` seconds, or the burst under way began
        `patience` seconds ago."""
        with self._quiet:
            now = time.monotonic()
            deadline = self._burst_began + self.patience
            while (left := deadline - now) > 0:
                if self._in_flight:
                    self._quiet.wait(left)  # woken when the last ack in flight is made
                elif (calm := now - self._last_ack) < self.quiet:
                    self._quiet.wait(min(left, self.quiet - calm))
                else:
                    return
                now = time.monotonic()


ACKS = AckGate()  # the process's acks: one web server per process


class AfterAcks(ThreadPoolExecutor):
    """A thread pool whose work starts once the acks in flight are made (ACKS)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def after_acks() -> Any:
            ACKS.wait_quiet()
            return fn(*args, **kwargs)

        return super().submit(after_acks)


def favour_acks() -> None:
    """Hand the GIL over more often in a process that acks (see SWITCH_INTERVAL)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
