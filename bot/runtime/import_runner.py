"""The import runner: carries out import rows, beside the Worker in every worker process.

Rows are entries of their own stream (keys.IMPORT_WORK_STREAM), so single requests never
queue behind a 5,000-row import: the Worker reads its stream, this runner reads this one.
Every process runs one, and together they keep at most IMPORT_CONCURRENCY rows in flight:

- the dispatcher (the thread `run` is called on) reads entries, takes free slots of the
  global limit (bot.storage.imports.ImportQueue.acquire: one Lua call) and hands each row
  with its slot to the pool; with no slot free it waits to be woken by the next one freed,
  anywhere. While Coolblue's 429 pause lasts (keys.IMPORT_PAUSE) it takes no slot;
- a pool of threads carries out one row each (bot.domain.bulk.carry_out_row) under the
  row's lease: start (one Lua call), the API call(s), finish (one Lua call, which also
  records the outcome, releases the address's claim and the slot and acknowledges the
  entry, atomically);
- a heartbeat keeps this runner's entries claimed and its slots and leases alive; entries
  of a runner that died are claimed by another after WORKER_CLAIM_IDLE_SECONDS, and a row
  cut off mid-call is checked with Coolblue before anything is created again;
- a reporter brings approval messages up to date (throttled), posts result files and
  expires imports nobody decided.

The 429 pause is shared: the runner's Communities client sends through `RateGate`, which
sees every 429 with its Retry-After, holds this process's import traffic and sets the pause
for every other process too.

Every wait ends when the runner stops (`stopping`, also the client's and the gate's stop):
a row waiting on a pause or a Retry-After (Coolblue may ask for 600 s) is left as it is,
unacknowledged, and whoever carries it out next checks with Coolblue first.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

from bot.communities.errors import Interrupted
from bot.communities.retry import retry_after_seconds
from bot.domain.bulk import (
    ImportService,
    RowResult,
    carry_out_row,
    gave_up,
    if_stopped_meanwhile,
    row_entry,
)
from bot.domain.members import MembersApi
from bot.runtime.logs import Outage
from bot.slack.import_notifier import SlackImportNotifier
from bot.storage.imports import ImportQueue, RedisImportStore, RowEntry

log = logging.getLogger("bot.imports")

MAX_BACKOFF = 5.0
STUCK_AFTER = 120.0
REPORT_EVERY = 0.5


class RateGate(httpx.BaseTransport):
    """An httpx transport that holds requests while Coolblue asked us to wait (429 with
    Retry-After), and tells `on_rate_limited` (the shared pause) when it does. A hold ends
    with Interrupted (the request unsent) the moment `stop` is set."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        on_rate_limited: Callable[[float], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32)
        )
        self.on_rate_limited = on_rate_limited
        self.stop = stop
        self._until = 0.0
        self._lock = threading.Lock()
        self.limited = 0  # 429s seen, for the logs and the benchmark

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        """Until the pause is over; raises Interrupted when `stop` is set meanwhile."""
        delay = self._until - time.monotonic()
        if delay <= 0:
            return
        if self.stop is None:
            time.sleep(delay)
        elif self.stop.wait(delay):
            raise Interrupted()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.wait()
        response = self.inner.handle_request(request)
        if response.status_code == 429:
            seconds = retry_after_seconds(response) or 1.0
            self.limited += 1
            self.hold(seconds)
            if self.on_rate_limited is not None:
                try:
                    self.on_rate_limited(seconds)
                except Exception as exc:  # the local hold still applies
                    log.warning("could not share the 429 pause: %s", type(exc).__name__)
        return response

    def close(self) -> None:
        self.inner.close()


class ImportRunner:
    def __init__(
        self,
        client: redis.Redis,
        store: RedisImportStore,
        service: ImportService,
        api: MembersApi,
        notifier: SlackImportNotifier,
        *,
        concurrency: int = 8,
        claim_idle: float = 10.0,
        max_deliveries: int = 5,
        sweep_every: float = 30.0,
        name: str | None = None,
        gate: RateGate | None = None,
        on_close: Callable[[], None] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.api = api
        self.notifier = notifier
        self.limit = concurrency  # across every process
        self.threads = concurrency  # this process may be the only one
        self.lease_ms = int(claim_idle * 1000)
        self.max_deliveries = max_deliveries
        self.sweep_every = sweep_every
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.consumer = f"import-{self.name}"
        self.queue = ImportQueue(client, self.consumer)
        # Set by stop(); also ends the waits of the gate and of the client built with it.
        self.stopping = stopping or threading.Event()
        self.gate = gate
        if gate is not None and gate.on_rate_limited is None:
            gate.on_rate_limited = self.queue.pause
        if gate is not None and gate.stop is None:
            gate.stop = self.stopping
        self._on_close = on_close
        # Set once the loop and its work are done: wakes the helper threads (heartbeat) at
        # once, so a stop does not wait out their interval.
        self._ended = threading.Event()
        # One warning when Redis starts failing, one line when it is back, whichever of
        # the dispatcher, the heartbeat and the reporter meets it.
        self._outage = Outage(log, f"import runner {self.name}")
        self._stopped = threading.Event()
        self._running = False
        self._tick = 0.0
        self._lock = threading.Lock()
        self._backlog: deque[RowEntry] = deque()  # ours, waiting for a slot
        self._busy: dict[str, tuple[RowEntry, str]] = {}  # entry id -> (entry, slot)
        self._freed = threading.Event()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="import-row")

    # Health and lifecycle ---------------------------------------------------------------

    def health(self) -> str:
        if not self._running:
            return "stopped"
        stalled = time.monotonic() - self._tick
        return f"stuck for {stalled:.0f} s" if stalled > STUCK_AFTER else "ok"

    def run(self) -> None:
        """Work until `stop()`; rows in flight finish before it returns."""
        self._running, self._tick = True, time.monotonic()
        self._ended.clear()
        helpers = [
            threading.Thread(target=self._heartbeat, name=f"import-beat-{self.name}", daemon=True),
            threading.Thread(target=self._report, name=f"import-report-{self.name}", daemon=True),
        ]
        for helper in helpers:
            helper.start()
        log.info("import runner %s started (%d rows at once, all processes)", self.name,
                 self.limit)  # fmt: skip
        try:
            while not self.stopping.is_set():
                try:
                    self._loop()
                except Exception:
                    log.exception("import runner %s: loop crashed; restarting", self.name)
                    self.stopping.wait(1.0)
        finally:
            self._pool.shutdown(wait=True)
            self._running = False
            self._ended.set()
            for helper in helpers:
                helper.join(5)
            self._stopped.set()
            if self._on_close is not None:
                self._on_close()
            log.info("import runner %s stopped", self.name)

    def stop(self, timeout: float = 25.0) -> bool:
        self.stopping.set()
        return self._stopped.wait(timeout) if self._running else True

    # The dispatcher ---------------------------------------------------------------------

    def _loop(self) -> None:
        ready, backoff, last_claim = False, 0.5, 0.0
        while not self.stopping.is_set():
            self._tick = now = time.monotonic()
            try:
                if not ready:
                    self.queue.ensure_group()
                    self._take(self.queue.read_own_pending(self.threads * 4))
                    ready = True
                if now - last_claim >= min(5.0, self.lease_ms / 3000):
                    self._take(self.queue.claim_abandoned(self.lease_ms, self.threads))
                    last_claim = now
                self._dispatch()
                self._outage.ok()
                backoff = 0.5
            except redis.RedisError as exc:
                if "NOGROUP" in str(exc):
                    ready = False
                self._outage.failing(exc)
                self.stopping.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)

    def _dispatch(self) -> None:
        with self._lock:
            free = self.threads - len(self._busy)
            waiting = len(self._backlog)
        if waiting < self.threads:  # keep a pool's worth of rows at hand
            idle = free == self.threads and waiting == 0
            self._take(self.queue.read_new(self.threads - waiting, 500 if idle else None))
            with self._lock:
                waiting = len(self._backlog)
        if free <= 0 or not waiting:
            self._freed.wait(0.2)  # set when a row thread ends
            self._freed.clear()
            return
        slots, paused_ms = self.queue.acquire(self.limit, min(free, waiting), self.lease_ms)
        if paused_ms:
            if self.gate is not None:
                self.gate.hold(paused_ms / 1000)
            self.stopping.wait(min(paused_ms / 1000, 1.0))
            return
        if not slots:
            self.queue.wait_for_slot(0.25)
            return
        for slot in slots:
            entry = self._next(slot)
            if entry is None:
                self.queue.release([slot])
                continue
            self._pool.submit(self._run_rows, entry, slot)

    def _take(self, entries: list[RowEntry]) -> None:
        with self._lock:
            known = {e.entry_id for e in self._backlog} | set(self._busy)
            self._backlog.extend(e for e in entries if e.entry_id not in known)

    def _next(self, slot: str) -> RowEntry | None:
        """The next row waiting here, now busy with `slot`; None when there is none."""
        with self._lock:
            if self.stopping.is_set() or not self._backlog:
                return None
            entry = self._backlog.popleft()
            self._busy[entry.entry_id] = (entry, slot)
            return entry

    # Rows -------------------------------------------------------------------------------

    def _run_rows(self, entry: RowEntry, slot: str) -> None:
        """Carry out rows one after the other with one slot: while rows wait here, the
        slot goes straight to the next (no release, no wake-up, no new acquire)."""
        current: RowEntry | None = entry
        try:
            while current is not None:
                with self._lock:
                    keep = bool(self._backlog) and not self.stopping.is_set()
                kept = self._run_row(current, slot, keep)
                if not kept:
                    return
                if self.gate is not None:
                    try:
                        self.gate.wait()  # a 429 pause learnt from the last row's reply
                    except Interrupted:  # stopping: the rows waiting here are resumed later
                        self.queue.release([slot])
                        return
                current = self._next(slot)
                if current is None:
                    self.queue.release([slot])
        finally:
            self._freed.set()

    def _run_row(self, entry: RowEntry, slot: str, keep: bool) -> bool:
        """One row with `slot`; True when the slot is still ours afterwards (`keep`, and
        the row ended normally)."""
        again, kept = False, False
        try:
            start = self.store.start_row(entry, self.consumer, self.lease_ms)
            if start.state in ("skip", "gone"):
                self.queue.settle(entry, "" if keep else slot)
                kept = keep
                return kept
            if start.state == "busy" or start.request is None:  # another live runner has it
                if not keep:
                    self.queue.release([slot])
                kept = keep
                return kept
            request = start.request
            if entry.deliveries > self.max_deliveries:
                outcome = gave_up(request, entry.deliveries - 1)
            else:
                outcome = carry_out_row(request, self.api, interrupted=start.interrupted)
            kept = keep and outcome.result is not RowResult.DEFERRED
            stopped = if_stopped_meanwhile(request, outcome)  # never "not carried out" if sent
            done, paused_ms = self.store.finish_row(
                entry,
                self.consumer,
                outcome,
                row_entry(request, outcome, self.consumer),
                "" if kept else slot,
                (stopped, row_entry(request, stopped, self.consumer)) if stopped else None,
            )
            if paused_ms and self.gate is not None:
                self.gate.hold(paused_ms / 1000)
            again = done == "deferred"  # still ours: after the pause
            if done == "finished":
                log.info("import %s: every row has its outcome", entry.import_id)
            return kept
        except Interrupted:
            # Stopping while the row waited on Coolblue's pause: nothing is recorded. Left
            # unacknowledged, it is resumed (or claimed after the idle time) and checked
            # with Coolblue first, since a call may have been sent before the wait.
            log.info("import runner %s: row %s left for later (stopping)", self.name,
                     entry.row_id)  # fmt: skip
            with contextlib.suppress(redis.RedisError):
                self.queue.release([slot])
            kept = False
            return kept
        except Exception:
            # Left unacknowledged: claimed again after the idle time (its slot lapses too).
            log.exception("import runner %s: row %s failed", self.name, entry.row_id)
            with contextlib.suppress(redis.RedisError):
                self.queue.release([slot])
            kept = False
            return kept
        finally:
            with self._lock:
                self._busy.pop(entry.entry_id, None)
                if again:
                    self._backlog.appendleft(entry)

    # Heartbeat and reporting ------------------------------------------------------------

    def _heartbeat(self) -> None:
        interval = max(0.1, self.lease_ms / 3000)
        while self._running and not self._ended.is_set():
            with self._lock:
                held = list(self._backlog) + [entry for entry, _ in self._busy.values()]
                slots = [slot for _, slot in self._busy.values()]
                rows = [entry.row_id for entry, _ in self._busy.values()]
            try:
                lost = set(self.queue.keep(held, slots, rows, self.lease_ms))
                if lost:
                    with self._lock:
                        self._backlog = deque(e for e in self._backlog if e.entry_id not in lost)
                self.queue.beat(3 * self.lease_ms / 1000)
                self._outage.ok()
            except redis.RedisError as exc:
                self._outage.failing(exc)
            self._ended.wait(interval)

    def _report(self) -> None:
        last_sweep = 0.0
        while self._running and not self._ended.is_set():
            try:
                for import_id in self.store.active_ids():
                    self.notifier.refresh(import_id)
                now = time.monotonic()
                if now - last_sweep >= self.sweep_every:
                    last_sweep = now
                    if self.store.take_sweep_turn(self.consumer, self.sweep_every):
                        self.service.sweep()
                        self.store.forget_old()  # RETENTION_DAYS after an import ended
                self._outage.ok()
            except redis.RedisError as exc:
                self._outage.failing(exc)
            except Exception as exc:
                log.warning("import runner %s: reporting failed (%s)", self.name,
                            type(exc).__name__)  # fmt: skip
            self._ended.wait(REPORT_EVERY)
