"""Upgrading in place from a version before hash tags (the ledger named `cb:…`): a real
flow leaves a pending request, an approved one whose work entry a worker took and never
acknowledged, an import waiting and an audit trail; every `{cb}:` key is renamed back to
its old name, as the released version wrote them; the bot starts (start_runtime) and finds
everything. Real Redis, the bot over HTTP, the sandbox and the Slack stand-in."""

from __future__ import annotations

import logging
import threading

import redis

from bot.domain.bulk import ImportStatus
from bot.domain.requests import Status
from bot.runtime.bootstrap import start_runtime
from bot.storage import keys
from bot.storage.migrate import Migrated, migrate_hash_tags
from bot.storage.work_queue import WorkQueue
from tests.conftest import ALICE, BOB
from tests.flows import JANE, click, eventually, file_request, wait_status
from tests.import_flows import created_per_email, file_import, people_csv


def back_to_released_names(client: redis.Redis) -> int:
    """Rename every ledger key to the name the released version gave it, and drop the
    mark of the upgrade (today's start set it; the released version knew nothing of it)."""
    assert client.delete(keys.HASH_TAGS_MIGRATED) == 1
    tagged = list(client.scan_iter(match="{cb}:*", count=1000))
    for key in tagged:
        assert client.renamenx(key, keys.untagged(key))
    assert not list(client.scan_iter(match="{cb}:*"))
    return len(tagged)


def test_an_upgraded_bot_finds_everything_and_does_it_once(make_stack, caplog):
    stack = make_stack(workers=0)
    admin = stack.redis
    waiting = file_request(stack, ALICE, JANE)
    approved = file_request(stack, ALICE, {**JANE, "email": "john@example.com"})
    click(stack, BOB, "Approve", approved)
    wait_status(stack, approved.id, Status.APPROVED)
    dead = WorkQueue(admin, "worker-of-the-old-version")  # took the entry and then died
    dead.ensure_group()
    [taken] = dead.read_new(10, block_ms=1000)
    assert taken.request_id == approved.id
    filed = file_import(stack, ALICE, people_csv(3, domain="import.example.com"))
    audit_before = admin.xrange(keys.AUDIT_STREAM)
    assert len(audit_before) >= 3

    renamed = back_to_released_names(admin)
    assert renamed >= 15
    assert admin.xinfo_groups("cb:work")[0]["pending"] == 1
    assert stack.services.store.get(waiting.id) is None  # today's code sees nothing

    with caplog.at_level(logging.INFO, logger="bot.redis"):
        runtime = start_runtime(  # as a process starts
            stack.settings, slack=stack.runtime.slack, api_urls=stack.runtime.api_urls
        )
    runtime.close()
    assert f"{renamed} ledger keys renamed" in caplog.text
    assert "jane" not in caplog.text.lower() and "@" not in caplog.text
    assert not list(admin.scan_iter(match="cb:req:*"))
    assert admin.exists(keys.WORK_STREAM, keys.AUDIT_STREAM, keys.IMPORT_PENDING) == 3

    # Everything is where today's code looks.
    assert admin.xrange(keys.AUDIT_STREAM) == audit_before
    assert stack.services.store.get(waiting.id).status is Status.PENDING
    assert stack.services.imports.store.get(filed.id).status is ImportStatus.PENDING
    assert admin.zscore(keys.IMPORT_PENDING, filed.id) is not None
    [group] = admin.xinfo_groups(keys.WORK_STREAM)
    assert group["name"] == keys.WORK_GROUP and group["pending"] == 1

    # A worker of the new version reclaims the entry the dead one held, and the pending
    # request is approved and carried out: each exactly once.
    stack.start_worker()
    wait_status(stack, approved.id, Status.DONE, timeout=30)
    click(stack, BOB, "Approve", stack.services.store.get(waiting.id))
    wait_status(stack, waiting.id, Status.DONE, timeout=30)
    eventually(lambda: admin.xinfo_groups(keys.WORK_STREAM)[0]["pending"] == 0, 10)
    creates = created_per_email(stack)
    assert creates.get("jane@example.com") == 1 and creates.get("john@example.com") == 1
    audit_after = admin.xrange(keys.AUDIT_STREAM)
    assert audit_after[: len(audit_before)] == audit_before  # whole, and appended to
    assert len(audit_after) > len(audit_before)


def test_a_second_start_migrates_nothing_and_reads_once(redis_client, redis_url):
    redis_client.set("cb:req:r-1", "x")  # won't be touched again once the renaming is done
    first = migrate_hash_tags(redis_client)
    assert (first.renamed, first.left, first.skipped) == (1, 0, "")
    assert redis_client.get("{cb}:req:r-1") == "x"
    redis_client.set("cb:req:r-2", "written by an old process after the upgrade")
    before = redis_client.info("commandstats")
    second = migrate_hash_tags(redis_client)
    after = redis_client.info("commandstats")
    assert second.skipped == "done" and second.renamed == 0
    calls = {
        name: after[name]["calls"] - before.get(name, {"calls": 0})["calls"]
        for name in after
        if name != "cmdstat_info"
    }
    assert {name: n for name, n in calls.items() if n} == {"cmdstat_get": 1}
    assert redis_client.get("cb:req:r-2") is not None  # not renamed: nothing scanned


def test_a_key_whose_new_name_exists_is_left_and_counted(redis_client, caplog):
    redis_client.set("cb:lease:r-1", "old")
    redis_client.set("{cb}:lease:r-1", "new")
    redis_client.set("cb:worker:w-1", "alive")  # loose: stays
    redis_client.set("cb:import:i-1:shown", "1")  # loose, under an import's old prefix
    with caplog.at_level(logging.INFO, logger="bot.redis"):
        done = migrate_hash_tags(redis_client)
    assert (done.renamed, done.left) == (0, 1)
    assert redis_client.get("{cb}:lease:r-1") == "new" and redis_client.get("cb:lease:r-1")
    assert redis_client.get("cb:worker:w-1") and redis_client.get("cb:import:i-1:shown")
    assert caplog.text.count("were left") == 1 and "r-1" not in caplog.text


def test_processes_starting_together_rename_once(redis_url):
    seed = redis.Redis.from_url(redis_url, decode_responses=True)
    with seed.pipeline(transaction=False) as pipe:
        for n in range(3000):
            pipe.hset(f"cb:req:r-{n}", mapping={"status": "pending"})
        pipe.execute()
    clients = [redis.Redis.from_url(redis_url, decode_responses=True) for _ in range(4)]
    results: list[Migrated] = []
    start = threading.Barrier(len(clients))

    def start_up(client: redis.Redis) -> None:
        start.wait()
        results.append(migrate_hash_tags(client, batch=100))

    threads = [threading.Thread(target=start_up, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.skipped for r in results) == ["", "done", "done", "done"]
    assert sum(r.renamed for r in results) == 3000 and sum(r.left for r in results) == 0
    assert not list(seed.scan_iter(match="cb:req:*"))
    assert seed.hget("{cb}:req:r-2999", "status") == "pending"
    assert seed.get(keys.HASH_TAGS_LOCK) is None  # released
    for client in [seed, *clients]:
        client.close()
