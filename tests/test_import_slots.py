"""The import rows' shared limits in Redis: the slots of every process, the 429 pause."""

from __future__ import annotations

from bot.storage.imports import ImportQueue
from bot.storage.keys import IMPORT_INFLIGHT, IMPORT_PAUSE


def test_slots_are_shared_by_every_runner_and_a_dead_runners_slots_lapse(redis_client):
    first, second = ImportQueue(redis_client, "one"), ImportQueue(redis_client, "two")
    taken, paused = first.acquire(limit=3, wanted=2, lease_ms=60_000)
    assert len(taken) == 2 and paused == 0
    more, _ = second.acquire(limit=3, wanted=5, lease_ms=60_000)
    assert len(more) == 1  # one left of three, whoever asks
    assert second.acquire(limit=3, wanted=1, lease_ms=60_000) == ([], 0)
    second.release(more)
    assert len(second.acquire(limit=3, wanted=1, lease_ms=60_000)[0]) == 1
    # A runner that died stops heart-beating: its slots lapse with their lease.
    redis_client.zadd(IMPORT_INFLIGHT, {slot: 0 for slot in taken})
    assert len(second.acquire(limit=3, wanted=5, lease_ms=60_000)[0]) == 2


def test_a_429_pause_set_by_one_runner_holds_every_runner(redis_client):
    first, second = ImportQueue(redis_client, "one"), ImportQueue(redis_client, "two")
    first.pause(30)
    for queue in (first, second):
        slots, paused_ms = queue.acquire(limit=8, wanted=1, lease_ms=10_000)
        assert slots == [] and 25_000 < paused_ms <= 30_000
    first.pause(5)  # a shorter Retry-After never shortens the pause
    assert second.acquire(limit=8, wanted=1, lease_ms=10_000)[1] > 25_000
    redis_client.delete(IMPORT_PAUSE)  # the pause is over
    assert len(second.acquire(limit=8, wanted=1, lease_ms=10_000)[0]) == 1
