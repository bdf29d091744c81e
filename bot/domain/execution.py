"""Carrying out approved requests: the worker.

Approved work sits in a Redis Stream (`cb:work`) read through the consumer group
`workers`, so it survives any process. A worker takes entries, calls the Communities
API, records the outcome, then acknowledges. Entries of a worker that died stay
pending and are claimed by another after `claim_idle` seconds (XAUTOCLAIM). While a
worker is busy with an entry it keeps claiming it (heartbeat), and a per-request lease
keeps two workers from running the same request at once.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import redis

from bot.communities import CommunitiesClient, NewMember
from bot.communities.errors import AmbiguousCreate, CommunitiesError, NotFound
from bot.domain import audit
from bot.domain.approvals import RequestService
from bot.domain.notifier import Event
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.store import WORK_GROUP, WORK_STREAM, RequestStore

log = logging.getLogger("bot.worker")

LEASE_KEY = "cb:lease:{}"
SWEEP_LOCK = "cb:sweep-lock"
CREATE_TRIES = 3


@dataclass(frozen=True)
class Outcome:
    done: bool
    message: str
    correlation_id: str = ""
    credit: Decimal | None = None


def perform(request: MemberRequest, client: CommunitiesClient, *, check_first: bool) -> Outcome:
    """Make the API call(s) for one request. Never creates blindly after an ambiguity."""
    correlation_id = str(uuid.uuid4())
    try:
        if request.operation is Operation.ADD:
            return _add(request, client, check_first, correlation_id)
        return _remove(request, client, check_first, correlation_id)
    except CommunitiesError as exc:
        return Outcome(False, exc.message, exc.correlation_id or correlation_id)


def _add(request: MemberRequest, client: CommunitiesClient, check_first: bool,
         correlation_id: str) -> Outcome:
    member = NewMember(email=request.email, first_name=request.first_name,
                       last_name=request.last_name, credit=request.credit or Decimal("0"),
                       external_reference=request.external_reference or None)
    ambiguity: AmbiguousCreate | None = None
    for _ in range(CREATE_TRIES):
        if check_first:
            try:
                found = client.get_remaining_credit(request.community_id, request.email,
                                                    correlation_id=correlation_id)
                return Outcome(True, "The member already existed from an earlier attempt; "
                               "not created again.", found.correlation_id,
                               found.remaining_credit)
            except NotFound:
                pass
        try:
            created = client.create_member(request.community_id, member,
                                           correlation_id=correlation_id)
            return Outcome(True, "Member created.", created.correlation_id,
                           created.remaining_credit)
        except AmbiguousCreate as exc:
            ambiguity, check_first = exc, True
    assert ambiguity is not None
    return Outcome(False, ambiguity.message + " Retry first checks whether the member exists.",
                   ambiguity.correlation_id or correlation_id)


def _remove(request: MemberRequest, client: CommunitiesClient, check_first: bool,
            correlation_id: str) -> Outcome:
    try:
        removed = client.delete_member(request.community_id, request.email,
                                       correlation_id=correlation_id)
    except NotFound as exc:
        if check_first:  # an earlier attempt may have removed the member already
            return Outcome(True, "The member was already removed by an earlier attempt.",
                           exc.correlation_id or correlation_id)
        raise
    return Outcome(True, "Member removed.", removed.correlation_id, removed.revoked_credit)


@dataclass(frozen=True)
class Finished:
    """A request this worker is through with; `event` is what people must still be told."""

    event: Event | None


class Worker:
    def __init__(self, client: redis.Redis, store: RequestStore, service: RequestService,
                 api: CommunitiesClient, *, concurrency: int = 8, claim_idle: float = 60.0,
                 sweep_every: float = 30.0, name: str | None = None) -> None:
        self.redis = client
        self.store = store
        self.service = service
        self.api = api
        self.concurrency = concurrency
        self.claim_idle_ms = int(claim_idle * 1000)
        self.sweep_every = sweep_every
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._slots = threading.Semaphore(concurrency)
        self._busy: dict[str, str] = {}  # stream entry id -> request id
        self._busy_lock = threading.Lock()
        self._slot_freed = threading.Event()
        # Twice the slots: a finished job still tells people while its slot takes new work.
        self._pool = ThreadPoolExecutor(2 * concurrency, thread_name_prefix="worker")

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(WORK_STREAM, WORK_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # The loop ------------------------------------------------------------------

    def run(self) -> None:
        self.ensure_group()
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
        replies = self.redis.xreadgroup(WORK_GROUP, self.name, {WORK_STREAM: ">"},
                                        count=count, block=500)
        for _stream, entries in replies or []:
            for entry_id, fields in entries:
                self._submit(entry_id, fields.get("request_id", ""))

    def _claim_abandoned(self) -> None:
        _next, entries, *_ = self.redis.xautoclaim(
            WORK_STREAM, WORK_GROUP, self.name, min_idle_time=self.claim_idle_ms,
            start_id="0-0", count=max(1, self._free_slots()))
        for entry_id, fields in entries:
            if fields is None:  # the entry was deleted from the stream meanwhile
                self.redis.xack(WORK_STREAM, WORK_GROUP, entry_id)
                continue
            log.info("worker %s claimed abandoned entry %s", self.name, entry_id)
            self._submit(entry_id, fields.get("request_id", ""))

    def _heartbeat(self) -> None:
        with self._busy_lock:
            busy = dict(self._busy)
        if not busy:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.xclaim(WORK_STREAM, WORK_GROUP, self.name, 0, list(busy), justid=True)
        for request_id in busy.values():
            pipe.pexpire(LEASE_KEY.format(request_id), self.claim_idle_ms)
        pipe.execute()

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
            log.exception("worker %s: entry %s for request %s failed", self.name,
                          entry_id, request_id)
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
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(WORK_STREAM, WORK_GROUP, entry_id)
        pipe.xdel(WORK_STREAM, entry_id)
        pipe.execute()

    def _sweep(self) -> None:
        if self.redis.set(SWEEP_LOCK, self.name, nx=True, ex=max(1, int(self.sweep_every))):
            self.service.sweep()

    # One request -----------------------------------------------------------------

    def execute(self, request_id: str) -> Finished | None:
        """Carry out one request. None while another live worker holds it (leave the
        entry); otherwise the entry may be acknowledged once people are told."""
        lease = LEASE_KEY.format(request_id)
        if not self.redis.set(lease, self.name, nx=True, px=self.claim_idle_ms):
            return None
        try:
            return self._execute_leased(request_id)
        finally:
            self._release(lease)

    def _execute_leased(self, request_id: str) -> Finished:
        request = self.store.get(request_id)
        if request is None:
            return Finished(None)
        if request.status in {Status.DONE, Status.FAILED}:
            # A worker died after recording the outcome but before telling anyone.
            return Finished(Event.DONE if request.status is Status.DONE else Event.FAILED)
        if request.status not in {Status.APPROVED, Status.EXECUTING}:
            return Finished(None)
        started = self.store.transition(
            request_id, allowed={Status.APPROVED, Status.EXECUTING}, to=Status.EXECUTING,
            count_attempt=True, audit_entry=audit.entry(request, "execution_started",
                                                         self.name))
        if not started.ok:
            return Finished(None)
        # A second attempt (crash, claim, Retry) must not create twice: check first.
        outcome = perform(request, self.api, check_first=started.attempts > 1)
        return self._finish(request, outcome)

    def _finish(self, request: MemberRequest, outcome: Outcome) -> Finished:
        to = Status.DONE if outcome.done else Status.FAILED
        updates = {"outcome": outcome.message, "correlation_id": outcome.correlation_id,
                   "result_credit": str(outcome.credit) if outcome.credit is not None else ""}
        result = self.store.transition(
            request.id, allowed={Status.EXECUTING}, to=to, updates=updates,
            audit_entry=audit.entry(request, to.value, self.name, detail=outcome.message,
                                    correlation_id=outcome.correlation_id))
        log.info("request %s %s (correlation %s)", request.id, to, outcome.correlation_id)
        if not result.ok:
            return Finished(None)
        return Finished(Event.DONE if outcome.done else Event.FAILED)

    def _release(self, lease: str) -> None:
        # Only drop the lease if it is still ours.
        pipe = self.redis.pipeline(transaction=True)
        try:
            pipe.watch(lease)
            if pipe.get(lease) == self.name:
                pipe.multi()
                pipe.delete(lease)
                pipe.execute()
        except redis.WatchError:
            pass
        finally:
            pipe.reset()
