"""Approved work in a Redis Stream read through a consumer group (keys.WORK_STREAM).

Entries are added by the request store's Lua scripts, in the same step as the approval,
so approved work is durable before anyone is told. A consumer reads new entries, keeps
the ones it works on claimed, and acknowledges them when done; entries of a consumer that
died stay pending and are claimed by another after an idle time. A per-request lease keeps
two workers from carrying out the same request at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from bot.storage import keys
from bot.storage.keys import SWEEP_LOCK, WORK_GROUP, WORK_STREAM

Entry = tuple[str, str]  # (stream entry id, request id)

# Delete the lease only while it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class WorkQueue:
    def __init__(self, client: redis.Redis, consumer: str) -> None:
        self.redis = client
        self.consumer = consumer
        self._release = client.register_script(_RELEASE)

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(WORK_STREAM, WORK_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_new(self, count: int, block_ms: int) -> list[Entry]:
        replies = self.redis.xreadgroup(
            WORK_GROUP, self.consumer, {WORK_STREAM: ">"}, count=count, block=block_ms
        )
        return [
            (entry_id, fields.get("request_id", ""))
            for _stream, entries in replies or []
            for entry_id, fields in entries
        ]

    def claim_abandoned(self, min_idle_ms: int, count: int) -> list[Entry]:
        _next, entries, *_ = self.redis.xautoclaim(
            WORK_STREAM,
            WORK_GROUP,
            self.consumer,
            min_idle_time=min_idle_ms,
            start_id="0-0",
            count=count,
        )
        claimed = []
        for entry_id, fields in entries:
            if fields is None:  # the entry was deleted from the stream meanwhile
                self.redis.xack(WORK_STREAM, WORK_GROUP, entry_id)
                continue
            claimed.append((entry_id, fields.get("request_id", "")))
        return claimed

    def keep_claimed(self, busy: Iterable[Entry], lease_ms: int) -> None:
        """Heartbeat: the entries stay ours and their leases alive while we work on them."""
        busy = list(busy)
        if not busy:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.xclaim(
            WORK_STREAM,
            WORK_GROUP,
            self.consumer,
            0,
            [entry_id for entry_id, _ in busy],
            justid=True,
        )
        for _entry_id, request_id in busy:
            pipe.pexpire(keys.lease(request_id), lease_ms)
        pipe.execute()

    def ack(self, entry_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(WORK_STREAM, WORK_GROUP, entry_id)
        pipe.xdel(WORK_STREAM, entry_id)
        pipe.execute()

    def take_lease(self, request_id: str, lease_ms: int) -> bool:
        return bool(self.redis.set(keys.lease(request_id), self.consumer, nx=True, px=lease_ms))

    def release_lease(self, request_id: str) -> None:
        self._release(keys=[keys.lease(request_id)], args=[self.consumer])

    def take_sweep_turn(self, seconds: int) -> bool:
        """One worker at a time expires and reminds."""
        return bool(self.redis.set(SWEEP_LOCK, self.consumer, nx=True, ex=max(1, seconds)))
