"""The worker: carries out approved requests from the work queue, expires and reminds.

It reads new entries from the queue (bot.storage.work_queue), runs each on a thread of
its own pool under a per-request lease, and acknowledges the entry once the outcome is
recorded and people are told. Entries of a worker that died are claimed after
`claim_idle` seconds; while an entry is being worked on, the heartbeat keeps it claimed.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis

from bot.domain.approvals import RequestService
from bot.domain.execution import Finished, carry_out
from bot.domain.members import MembersApi
from bot.domain.ports import RequestStore
from bot.storage.work_queue import WorkQueue

log = logging.getLogger("bot.worker")


class Worker:
    def __init__(
        self,
        client: redis.Redis,
        store: RequestStore,
        service: RequestService,
        api: MembersApi,
        *,
        concurrency: int = 8,
        claim_idle: float = 60.0,
        sweep_every: float = 30.0,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.api = api
        self.concurrency = concurrency
        self.claim_idle_ms = int(claim_idle * 1000)
        self.sweep_every = sweep_every
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.queue = WorkQueue(client, self.name)
        self.stopping = threading.Event()
        self._busy: dict[str, str] = {}  # stream entry id -> request id
        self._busy_lock = threading.Lock()
        self._slot_freed = threading.Event()
        # Twice the slots: a finished job still tells people while its slot takes new work.
        self._pool = ThreadPoolExecutor(2 * concurrency, thread_name_prefix="worker")

    # The loop ------------------------------------------------------------------

    def run(self) -> None:
        self.queue.ensure_group()
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)
        last_claim = last_sweep = 0.0
        while not self.stopping.is_set():
            try:
                now = time.monotonic()
                if now - last_claim >= min(5.0, self.claim_idle_ms / 3000):
                    self._heartbeat()
                    self._claim_abandoned()
                    last_claim = now
                if now - last_sweep >= self.sweep_every:
                    self._sweep()
                    last_sweep = now
                self._read_new()
            except redis.ConnectionError:
                log.warning("worker %s: Redis unavailable, retrying", self.name)
                self.stopping.wait(1.0)
        self._pool.shutdown(wait=True)
        log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()

    def _free_slots(self) -> int:
        return self.concurrency - len(self._busy)

    def _read_new(self) -> None:
        self._slot_freed.clear()
        count = self._free_slots()
        if count <= 0:
            self._slot_freed.wait(0.5)  # set the moment a job's API work is over
            return
        for entry_id, request_id in self.queue.read_new(count, block_ms=500):
            self._submit(entry_id, request_id)

    def _claim_abandoned(self) -> None:
        for entry_id, request_id in self.queue.claim_abandoned(
            self.claim_idle_ms, max(1, self._free_slots())
        ):
            log.info("worker %s claimed abandoned entry %s", self.name, entry_id)
            self._submit(entry_id, request_id)

    def _heartbeat(self) -> None:
        with self._busy_lock:
            busy = list(self._busy.items())
        self.queue.keep_claimed(busy, self.claim_idle_ms)

    def _submit(self, entry_id: str, request_id: str) -> None:
        with self._busy_lock:
            if entry_id in self._busy:
                return
            self._busy[entry_id] = request_id
        self._pool.submit(self._run_entry, entry_id, request_id)

    def _run_entry(self, entry_id: str, request_id: str) -> None:
        try:
            finished = self.execute(request_id)
        except Exception:
            # Left unacknowledged on purpose: another worker claims it after claim_idle.
            log.exception(
                "worker %s: entry %s for request %s failed", self.name, entry_id, request_id
            )
            finished = None
        finally:
            # The API work is over: the slot takes new work while this thread tells people.
            with self._busy_lock:
                self._busy.pop(entry_id, None)
            self._slot_freed.set()
        if finished is None:
            return
        if finished.event is not None:
            self.service.announce_outcome(request_id, finished.event)
        self.queue.ack(entry_id)

    def _sweep(self) -> None:
        if self.queue.take_sweep_turn(int(self.sweep_every)):
            self.service.sweep()

    # One request -----------------------------------------------------------------

    def execute(self, request_id: str) -> Finished | None:
        """Carry out one request. None while another live worker holds it (leave the
        entry); otherwise the entry may be acknowledged once people are told."""
        if not self.queue.take_lease(request_id, self.claim_idle_ms):
            return None
        try:
            return carry_out(self.store, self.api, request_id, self.name)
        finally:
            self.queue.release_lease(request_id)
