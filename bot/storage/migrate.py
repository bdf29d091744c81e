"""Upgrading a database from before the hash tag: the ledger's keys were named `cb:…` and
are now `{cb}:…` (bot.storage.keys). A bot upgraded in place would not see its pending
requests, schedule, work stream, audit trail, imports or address claims, so every process
runs `migrate_hash_tags` once at start-up, before anything else uses Redis
(bot.runtime.bootstrap.start_runtime).

One process renames, under a short lock it keeps while it works; the others wait for it.
SCAN finds the old names a page at a time, and each page's old ledger names are RENAMENX'd
to their new ones in one round trip: a key keeps its value and its expiry, a stream its
consumer groups and their pending entries. A key whose new name already exists is left as it is
(logged as a count). A loose key marks the renaming done, so every later start costs one
GET. A Redis Cluster holds no old names (cluster mode came with the tag): nothing is sent.

The lock saves work, it does not guard correctness: a rename that finds its key gone
(another process renamed it) counts for nothing, so two processes renaming at once, after
a lock expired, end with the same keys.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from bot.storage import keys
from bot.storage.connection import mode_of

log = logging.getLogger("bot.redis")


class MigrationWaitedTooLong(RuntimeError):
    """Another process held the lock, and did not finish, for longer than the wait."""


@dataclass(frozen=True)
class Migrated:
    """What one start did: `renamed` keys; `left` old keys whose new name existed;
    `skipped`: "" (this process renamed), "done" (already done) or "cluster"."""

    renamed: int = 0
    left: int = 0
    skipped: str = ""


def migrate_hash_tags(
    client: redis.Redis,
    *,
    lock_seconds: float = 60.0,
    wait_seconds: float = 900.0,
    batch: int = 1000,
) -> Migrated:
    """Rename the ledger's pre-hash-tag keys once; see the module's text."""
    if mode_of(client) == "cluster":
        return Migrated(skipped="cluster")
    if client.get(keys.HASH_TAGS_MIGRATED):
        return Migrated(skipped="done")
    token = uuid.uuid4().hex
    lock_ms = int(lock_seconds * 1000)
    deadline = time.monotonic() + wait_seconds
    while not client.set(keys.HASH_TAGS_LOCK, token, nx=True, px=lock_ms):
        time.sleep(0.2)
        if client.get(keys.HASH_TAGS_MIGRATED):
            return Migrated(skipped="done")
        if time.monotonic() > deadline:
            raise MigrationWaitedTooLong(
                f"another process has been renaming the ledger's keys for over "
                f"{wait_seconds:.0f} s (lock {keys.HASH_TAGS_LOCK})"
            )
    try:
        if client.get(keys.HASH_TAGS_MIGRATED):  # finished between our GET and our lock
            return Migrated(skipped="done")
        renamed = left = 0
        kept = time.monotonic()
        cursor: int | str = 0
        while True:  # a page of SCAN, its renames in one round trip
            cursor, page = client.scan(cursor, match=f"{keys.LOOSE}*", count=batch)
            moves = [(old, new) for old in page if (new := keys.tagged(old)) is not None]
            if moves:
                pipe = client.pipeline(transaction=False)
                for old, new in moves:
                    pipe.renamenx(old, new)
                for reply in pipe.execute(raise_on_error=False):
                    if isinstance(reply, redis.ResponseError):
                        if "no such key" not in str(reply).lower():  # not renamed by another
                            raise reply
                    elif reply:
                        renamed += 1
                    else:
                        left += 1
            if time.monotonic() - kept > lock_seconds / 3:  # still at it: keep the lock
                client.pexpire(keys.HASH_TAGS_LOCK, lock_ms)
                kept = time.monotonic()
            if int(cursor) == 0:
                break
        client.set(keys.HASH_TAGS_MIGRATED, datetime.now(UTC).isoformat(timespec="seconds"))
    finally:
        if client.get(keys.HASH_TAGS_LOCK) == token:
            client.delete(keys.HASH_TAGS_LOCK)
    if renamed:
        log.info("upgrade: %d ledger keys renamed from cb: to {cb}:", renamed)
    if left:
        log.warning(
            "upgrade: %d ledger keys under their old cb: name were left, their {cb}: name "
            "exists already (docs/redis.md, Upgrading from a version before hash tags)",
            left,
        )
    return Migrated(renamed=renamed, left=left)
