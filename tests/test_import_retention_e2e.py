"""Import data expires with RETENTION_DAYS (issue 17, item 7).

The imports hold names and e-mail addresses: the import, its rows (each a request of its
own), the mailboxes the file names, the refused rows, the audit trail. Once the retention
has passed on the bot's clock, a scan of every Redis key (its name, and its value read by
its type) finds none of the file's addresses or names.
"""

from __future__ import annotations

from typing import Any

import redis

from bot.domain.bulk import ImportStatus
from bot.storage import keys
from tests.conftest import ALICE, BOB
from tests.flows import eventually
from tests.import_flows import click, file_import, people_csv, wait_finished, wait_status

DAY = 86400.0


def _everything(client: redis.Redis) -> str:
    """Every key's name and value, as one text (strings, hashes, lists, sets, sorted sets,
    streams)."""
    found: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = client.xrange(key)
        else:
            value = kind
        found.append(f"{key} {value}")
    return "\n".join(found).lower()


def _with_invalid_row(data: bytes) -> bytes:
    return data + b"Invalid;Personrow;invalid.person@example.com;-5\r\n"


def test_no_name_or_address_of_an_import_is_left_once_the_retention_has_passed(make_stack):
    stack = make_stack(sweep_every=0.5, retention_days=30)
    done = file_import(stack, ALICE, _with_invalid_row(people_csv(3)))
    click(stack, BOB, "Approve", done)
    wait_finished(stack, done.id, timeout=60)
    rejected = file_import(stack, ALICE, people_csv(2, start=10))
    click(stack, BOB, "Reject", rejected)
    view = stack.standin.wait_for(lambda: stack.standin.open_view(BOB))
    assert stack.driver.fill_and_submit(BOB, view["id"], {"reason": "Wrong file"}).errors is None
    wait_status(stack, rejected.id, ImportStatus.REJECTED)
    personal = [
        *(f"person{i}@example.com" for i in (0, 1, 2, 10, 11)),
        *(f"number{i}" for i in (0, 1, 2, 10, 11)),
        "invalid.person@example.com",
    ]
    before = _everything(stack.redis)
    assert [item for item in personal if item not in before] == []  # all in Redis now

    stack.clock.advance(29 * DAY)  # within the retention: kept
    eventually(lambda: stack.services.imports.store.get(done.id) is not None, 2)
    assert stack.services.imports.store.get(rejected.id) is not None

    stack.clock.advance(2 * DAY)  # past it
    eventually(
        lambda: not [item for item in personal if item in _everything(stack.redis)],
        30,
        "every name and address of the imports gone from Redis",
    )
    assert stack.services.imports.store.get(done.id) is None


def test_an_import_that_ended_before_this_version_is_forgotten_too(make_stack):
    stack = make_stack(sweep_every=0.5, retention_days=30)
    old = file_import(stack, ALICE, people_csv(2, start=20))
    click(stack, BOB, "Approve", old)
    wait_finished(stack, old.id, timeout=60)
    # As a Redis written by the previous version holds it: no index of ended imports.
    stack.redis.delete(keys.IMPORT_CLOSED, keys.IMPORT_FORGET_SCANNED)
    stack.clock.advance(31 * DAY)
    eventually(
        lambda: "person20@example.com" not in _everything(stack.redis),
        30,
        "the old import's rows gone",
    )
    assert stack.services.imports.store.get(old.id) is None
