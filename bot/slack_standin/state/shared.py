"""What every store shares: one lock, the change signal, the counters, the base URL."""

from __future__ import annotations

import threading

# ts values look like Slack's ("1700000000.000100") and only ever grow.
_TS_EPOCH = 1_700_000_000
_TS_STEP = 100  # microseconds between two consecutive ts values


class Shared:
    """One re-entrant lock for every store (a Web API method changes several at once, and a
    `wait_for` predicate reads several), the condition that wakes `wait_for` on each change,
    the counters IDs and timestamps come from (deterministic, so transcripts are stable),
    and the base URL the server serves response URLs and files from."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.base_url = ""  # set by the server once it knows its port
        self._counters: dict[str, int] = {}

    def notify(self) -> None:
        """Wake `wait_for`; the caller holds the lock."""
        self.changed.notify_all()

    def clear(self) -> None:
        with self.lock:
            self._counters.clear()

    def next_number(self, kind: str) -> int:
        with self.lock:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            return self._counters[kind]

    def next_ts(self) -> str:
        micros = self.next_number("ts") * _TS_STEP
        return f"{_TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str, width: int = 4) -> str:
        return f"{prefix}{self.next_number(prefix):0{width}d}"
