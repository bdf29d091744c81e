"""Approved work in a Redis Stream read through a consumer group (keys.WORK_STREAM).

Entries are added by the request store's Lua scripts, in the same step as the approval,
so approved work is durable before anyone is told. A consumer reads new entries, keeps
the ones it works on claimed (heartbeat), and acknowledges them when done; entries of a
consumer that stopped heart-beating are claimed by another after an idle time. A
per-request lease keeps two workers from carrying out the same request at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from bot.storage import keys
from bot.storage.keys import SWEEP_LOCK, WORK_GROUP, WORK_STREAM


@dataclass(frozen=True)
class Entry:
    entry_id: str
    request_id: str
    deliveries: int = 1  # how often the stream handed this entry out


# The lease is ours if we set it now or already held it (a worker restarted under its
# old name resumes its own work at once).
_TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# Delete the lease only while it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Heartbeat for one entry, only while both the entry and the lease are still ours: an
# entry another worker claimed meanwhile is never claimed back. KEYS: stream, lease.
# ARGV: group, consumer, entry id, lease ms. Returns 1 if still ours.
_KEEP = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #pending == 0 or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""


def lease_keys(request_id: str) -> list[str]:
    """KEYS of the take and release scripts."""
    return [keys.lease(request_id)]


def keep_keys(request_id: str) -> list[str]:
    return [WORK_STREAM, keys.lease(request_id)]


class WorkQueue:
    def __init__(self, client: redis.Redis, consumer: str) -> None:
        self.redis = client
        self.consumer = consumer
        self._take = client.register_script(_TAKE_LEASE)
        self._release = client.register_script(_RELEASE)
        self._keep = client.register_script(_KEEP)

    def ensure_group(self) -> None:
        """Create the stream and the group when they are missing (first start, or a
        Redis that came back empty)."""
        try:
            self.redis.xgroup_create(WORK_STREAM, WORK_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_own_pending(self, count: int) -> list[Entry]:
        """Entries this consumer was handed earlier and never acknowledged (its previous
        life under the same name)."""
        return self._read("0", count, block_ms=None)

    def read_new(self, count: int, block_ms: int) -> list[Entry]:
        return self._read(">", count, block_ms)

    def _read(self, start: str, count: int, block_ms: int | None) -> list[Entry]:
        replies = self.redis.xreadgroup(
            WORK_GROUP, self.consumer, {WORK_STREAM: start}, count=count, block=block_ms
        )
        entries = []
        for _stream, items in replies or []:
            for entry_id, fields in items:
                if fields:  # a pending entry deleted from the stream comes back empty
                    entries.append(Entry(entry_id, fields.get("request_id", "")))
                else:
                    self.redis.xack(WORK_STREAM, WORK_GROUP, entry_id)
        return entries

    def claim_abandoned(self, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries nobody has heart-beaten for `min_idle_ms`, with how often
        each was handed out before (XCLAIM only takes what is still idle that long)."""
        idle = self.redis.xpending_range(
            WORK_STREAM, WORK_GROUP, min="-", max="+", count=count, idle=min_idle_ms
        )
        if not idle:
            return []
        deliveries = {item["message_id"]: int(item["times_delivered"]) + 1 for item in idle}
        claimed = self.redis.xclaim(
            WORK_STREAM, WORK_GROUP, self.consumer, min_idle_ms, list(deliveries)
        )
        entries = []
        for entry_id, fields in claimed:
            if fields:
                entries.append(Entry(entry_id, fields.get("request_id", ""), deliveries[entry_id]))
            else:  # deleted from the stream meanwhile
                self.redis.xack(WORK_STREAM, WORK_GROUP, entry_id)
        return entries

    def keep_claimed(self, busy: Iterable[Entry], lease_ms: int) -> list[Entry]:
        """Heartbeat: keep our entries and their leases alive. Returns the entries that
        are no longer ours (another worker took them over)."""
        busy = list(busy)
        if not busy:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for entry in busy:
            self._keep(
                keys=keep_keys(entry.request_id),
                args=[WORK_GROUP, self.consumer, entry.entry_id, lease_ms],
                client=pipe,
            )
        kept = pipe.execute()
        return [entry for entry, ours in zip(busy, kept, strict=True) if not ours]

    def ack(self, entry_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(WORK_STREAM, WORK_GROUP, entry_id)
        pipe.xdel(WORK_STREAM, entry_id)
        pipe.execute()

    def take_lease(self, request_id: str, lease_ms: int) -> bool:
        return bool(self._take(keys=lease_keys(request_id), args=[self.consumer, lease_ms]))

    def holds_lease(self, request_id: str) -> bool:
        return bool(self.redis.get(keys.lease(request_id)) == self.consumer)

    def release_lease(self, request_id: str) -> None:
        self._release(keys=lease_keys(request_id), args=[self.consumer])

    def take_sweep_turn(self, seconds: float) -> bool:
        """One worker at a time expires and reminds."""
        return bool(self.redis.set(SWEEP_LOCK, self.consumer, nx=True, px=int(seconds * 1000)))

    def beat(self, ttl_seconds: float) -> None:
        """This worker is alive (seen by /healthz of every process)."""
        self.redis.set(keys.worker(self.consumer), "1", px=int(ttl_seconds * 1000))

    def live_workers(self) -> int:
        return sum(1 for _ in self.redis.scan_iter(match=keys.worker("*"), count=500))


@dataclass(frozen=True)
class QueueStats:
    """A work stream as /metrics shows it. Entries are deleted once acknowledged, so what
    the stream holds is work not yet done."""

    depth: int  # entries not yet done: waiting, or being carried out (XLEN)
    in_progress: int  # handed to a worker and not yet acknowledged (XPENDING)
    oldest_age: float  # seconds since the oldest of them was added, by Redis's clock; 0: none

    @property
    def waiting(self) -> int:
        """Not yet handed to any worker."""
        return max(0, self.depth - self.in_progress)


def queue_stats(
    client: redis.Redis, stream: str = WORK_STREAM, group: str = WORK_GROUP
) -> QueueStats:
    """One round trip: XLEN, the XPENDING summary, the first entry and Redis's TIME (entry
    IDs are Redis's milliseconds, so the age needs no clock of ours). A stream or group not
    created yet (no worker has started) counts as empty."""
    pipe = client.pipeline(transaction=False)
    pipe.xlen(stream)
    pipe.xpending(stream, group)
    pipe.xrange(stream, "-", "+", count=1)
    # TIME by name: redis-py's cluster pipeline refuses its time() (a keyless command), and
    # any node's clock does (the nodes' clocks are the servers').
    pipe.execute_command("TIME")
    depth, pending, first, now = pipe.execute(raise_on_error=False)
    for reply in (depth, first, now):
        if isinstance(reply, Exception):
            raise reply
    if isinstance(pending, redis.ResponseError) and "NOGROUP" in str(pending):
        in_progress = 0
    elif isinstance(pending, Exception):
        raise pending
    else:
        in_progress = int(pending["pending"])
    oldest_age = 0.0
    if first:
        added_ms = int(str(first[0][0]).split("-")[0])
        now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
        oldest_age = max(0.0, (now_ms - added_ms) / 1000)
    return QueueStats(int(depth), in_progress, oldest_age)
