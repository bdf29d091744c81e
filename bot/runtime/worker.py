"""The worker: carries out approved requests from the work queue, expires and reminds.

Three kinds of thread:
- the loop reads new entries (bot.storage.work_queue), claims abandoned ones and sweeps;
  it survives every Redis error (backing off, logging once per outage, recreating the
  stream and group when Redis came back empty) and is restarted if it crashes anyway;
- the heartbeat, of its own, keeps this worker's entries claimed and their leases alive,
  so a loop blocked by a slow sweep or a Slack 429 sleep never lets another worker take
  over work in progress;
- a pool runs each request under its per-request lease (bot.domain.execution).
An entry is acknowledged once the outcome is recorded and people are told. Entries of a
worker that died are claimed after `claim_idle` seconds; a worker restarted under the
same name resumes its own at once. `stop()` drains: no new work, in-flight work finishes.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable

import redis

from bot.communities.errors import Interrupted
from bot.domain.approvals import RequestService
from bot.domain.execution import Finished, carry_out
from bot.domain.members import MembersApi
from bot.domain.notifier import Event
from bot.domain.ports import RequestStore
from bot.domain.steps import StepService
from bot.runtime.logs import Outage, log_context
from bot.runtime.metrics import Metrics
from bot.slack.ack_gate import AfterAcks
from bot.storage.work_queue import Entry, WorkQueue

log = logging.getLogger("bot.worker")

STUCK_AFTER = 120.0  # a loop that has not come round for this long is reported stuck
MAX_BACKOFF = 5.0


class Worker:
    def __init__(
        self,
        client: redis.Redis,
        store: RequestStore,
        service: RequestService,
        api: MembersApi,
        *,
        concurrency: int = 8,
        claim_idle: float = 10.0,
        sweep_every: float = 30.0,
        max_deliveries: int = 5,
        name: str | None = None,
        metrics: Metrics | None = None,
        steps: StepService | None = None,
        stopping: threading.Event | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.steps = steps  # Workflow Builder steps left unfiled or uncompleted (sweep)
        self.store = store
        self.metrics = metrics
        self.service = service
        self.api = api
        self.concurrency = concurrency
        self.claim_idle_ms = int(claim_idle * 1000)
        self.sweep_every = sweep_every
        self.max_deliveries = max_deliveries
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.queue = WorkQueue(client, self.name)
        # Set by stop(); also ends the waits of a client built with it (bootstrap).
        self.stopping = stopping or threading.Event()
        self._on_close = on_close
        # Set once the loop and its work are done: wakes the helper threads (heartbeat) at
        # once, so a stop does not wait out their interval.
        self._ended = threading.Event()
        self._stopped = threading.Event()
        self._running = False
        self._tick = 0.0  # monotonic time the loop last came round
        # One warning when Redis starts failing, one line when it is back (loop and heartbeat).
        self._outage = Outage(log, f"worker {self.name}")
        self._busy: dict[str, Entry] = {}  # stream entry id -> entry
        self._busy_lock = threading.Lock()
        self._slot_freed = threading.Event()
        # Twice the slots: a finished job still tells people while its slot takes new work.
        # In the all-in-one process, a job starts once the acks in flight are made.
        self._pool = AfterAcks(2 * concurrency, thread_name_prefix="worker")

    # Health ----------------------------------------------------------------------

    def health(self) -> str:
        """ "ok", or what is wrong, for /healthz."""
        if not self._running:
            return "stopped"
        stalled = time.monotonic() - self._tick
        if stalled > STUCK_AFTER:
            return f"stuck for {stalled:.0f} s"
        return "ok"

    def alive(self) -> bool:
        return self.health() == "ok"

    # Lifecycle -------------------------------------------------------------------

    def run(self) -> None:
        """Work until `stop()`: the loop, restarted whenever it crashes."""
        self._running, self._tick = True, time.monotonic()
        self._ended.clear()
        beating = threading.Thread(target=self._heartbeat, name=f"heartbeat-{self.name}",
                                   daemon=True)  # fmt: skip
        beating.start()
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        try:
            while not self.stopping.is_set():
                try:
                    self._loop()
                except Exception:
                    log.exception("worker %s: loop crashed; restarting", self.name)
                    self.stopping.wait(1.0)
        finally:
            self._pool.shutdown(wait=True)  # in-flight work finishes and is acknowledged
            self._running = False
            self._ended.set()
            beating.join(5)
            self._stopped.set()
            if self._on_close is not None:
                self._on_close()
            log.info("worker %s stopped", self.name)

    def stop(self, timeout: float = 25.0) -> bool:
        """Take no new work, let in-flight work finish; True once the loop has ended."""
        self.stopping.set()
        return self._stopped.wait(timeout) if self._running else True

    # The loop ------------------------------------------------------------------

    def _loop(self) -> None:
        ready = False
        last_claim = last_sweep = 0.0
        backoff = 0.5
        while not self.stopping.is_set():
            self._tick = now = time.monotonic()
            try:
                if not ready:
                    self.queue.ensure_group()
                    self._resume_own()
                    ready = True
                if now - last_claim >= min(5.0, self.claim_idle_ms / 3000):
                    self._claim_abandoned()
                    last_claim = now
                if now - last_sweep >= self.sweep_every:
                    self._sweep()
                    last_sweep = now
                self._release_due()
                self._read_new()
                self._outage.ok()
                backoff = 0.5
            except redis.RedisError as exc:
                if "NOGROUP" in str(exc):  # Redis came back without our stream and group
                    ready = False
                self._outage.failing(exc)  # once per outage, not once per loop
                self.stopping.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)

    def _free_slots(self) -> int:
        return self.concurrency - len(self._busy)

    def _resume_own(self) -> None:
        for entry in self.queue.read_own_pending(max(1, self._free_slots())):
            log.info("worker %s resumes its entry %s", self.name, entry.entry_id)
            self._submit(entry)

    def _read_new(self) -> None:
        self._slot_freed.clear()
        count = self._free_slots()
        if count <= 0:
            self._slot_freed.wait(0.5)  # set the moment a job's API work is over
            return
        for entry in self.queue.read_new(count, block_ms=500):
            self._submit(entry)

    def _claim_abandoned(self) -> None:
        for entry in self.queue.claim_abandoned(self.claim_idle_ms, max(1, self._free_slots())):
            if entry.deliveries > self.max_deliveries:
                self._park(entry)
                continue
            log.info("worker %s claimed abandoned entry %s", self.name, entry.entry_id)
            self._submit(entry)

    def _park(self, entry: Entry) -> None:
        outcome = (
            f"This request could not be carried out: it failed {entry.deliveries - 1} times "
            "before reaching Coolblue. The on-call engineer can find why in the worker log."
        )
        if self.store.park(entry.request_id, outcome, self.name):
            self._count("parked")
            log.error("worker %s parked request %s after %d deliveries", self.name,
                      entry.request_id, entry.deliveries - 1)  # fmt: skip
            self.service.announce(entry.request_id, Event.FAILED)
        self.queue.ack(entry.entry_id)

    def _heartbeat(self) -> None:
        interval = max(0.1, self.claim_idle_ms / 3000)
        while self._running and not self._ended.is_set():
            with self._busy_lock:
                busy = list(self._busy.values())
            try:
                for lost in self.queue.keep_claimed(busy, self.claim_idle_ms):
                    log.warning("worker %s: entry %s was taken over", self.name, lost.entry_id)
                self.queue.beat(ttl_seconds=3 * self.claim_idle_ms / 1000)
                self._outage.ok()
            except redis.RedisError as exc:
                self._outage.failing(exc)  # the same outage as the loop's: one warning
            self._ended.wait(interval)

    def _submit(self, entry: Entry) -> None:
        with self._busy_lock:
            if entry.entry_id in self._busy:
                return
            self._busy[entry.entry_id] = entry
        self._pool.submit(self._run_entry, entry)

    def _run_entry(self, entry: Entry) -> None:
        with log_context(request_id=entry.request_id):  # in every line logged meanwhile
            self._run_entry_logged(entry)

    def _run_entry_logged(self, entry: Entry) -> None:
        try:
            finished = self.execute(entry.request_id)
        except Interrupted:
            # Stopping while waiting on Coolblue (a Retry-After, a backoff): nothing is
            # recorded; the entry is resumed or claimed later, and checked with Coolblue first.
            log.info("worker %s: request %s left for later (stopping)", self.name,
                     entry.request_id)  # fmt: skip
            finished = None
        except Exception:
            # Left unacknowledged on purpose: claimed again after claim_idle, and parked as
            # failed once it was handed out `max_deliveries` times.
            log.exception("worker %s: entry %s for request %s failed", self.name,
                          entry.entry_id, entry.request_id)  # fmt: skip
            self._count("error")
            finished = None
        finally:
            # The API work is over: the slot takes new work while this thread tells people.
            with self._busy_lock:
                self._busy.pop(entry.entry_id, None)
            self._slot_freed.set()
        if finished is None:
            return
        try:
            if finished.event is not None:
                self.service.announce_outcome(entry.request_id, finished.event)
            self.queue.ack(entry.entry_id)
        except redis.RedisError:
            # The outcome is recorded; the entry is claimed again and only tells people.
            log.warning("worker %s: could not acknowledge %s", self.name, entry.entry_id)

    def _count(self, outcome: str) -> None:
        """Executions that raised, and parked ones; done and failed are counted where the
        outcome is recorded (Metrics.request_changed), once per execution, also when a
        re-delivered entry only tells people again."""
        if self.metrics is not None:
            self.metrics.execution(outcome)

    def _release_due(self) -> None:
        for request_id in self.store.release_due():
            log.info("worker %s: scheduled request %s is due", self.name, request_id)

    def _sweep(self) -> None:
        if self.queue.take_sweep_turn(self.sweep_every):
            self.service.sweep()
            if self.steps is not None:
                self.steps.sweep()

    # One request -----------------------------------------------------------------

    def execute(self, request_id: str) -> Finished | None:
        """Carry out one request. None while another live worker holds it (leave the
        entry); otherwise the entry may be acknowledged once people are told."""
        if not self.queue.take_lease(request_id, self.claim_idle_ms):
            return None
        try:
            return carry_out(
                self.store,
                self.api,
                request_id,
                self.name,
                still_ours=lambda: self.queue.holds_lease(request_id),
            )
        finally:
            self.queue.release_lease(request_id)
