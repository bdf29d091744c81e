"""Failover under load: approvals and an import are running when the primary that holds the
ledger (bot.storage.keys: every script's keys) is killed with kill -9. The replica is
promoted (Redis Cluster's own failover, or Sentinel's), and every request ends done with
its member created exactly once at Coolblue (the sandbox counts the creates): nothing
approved is lost, nothing is doubled. A click that fell into the failover got an error,
and the manager clicks again, as the message told them. Each run starts its own servers
(tests/redis_topologies.py: a node timeout of 1 s) and is bounded in time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from bot.domain.requests import Status
from bot.storage import keys
from tests import import_flows
from tests.conftest import ALICE, BOB
from tests.flows import JANE, approval_message, click_as_shown, eventually, file_request
from tests.import_flows import created_per_email, file_import, message_of, people_csv
from tests.redis_topologies import Topology, start_cluster, start_sentinel

STARTERS = {"cluster": start_cluster, "sentinel": start_sentinel}
SINGLES = 8
ROWS = 24
SETTLE_SECONDS = 60.0


@pytest.fixture(params=list(STARTERS))
def topology(request: pytest.FixtureRequest, tmp_path) -> Iterator[Topology]:
    started = STARTERS[request.param](tmp_path / request.param)
    yield started
    started.stop()


@pytest.fixture
def redis_url(topology: Topology) -> str:
    return topology.url


@pytest.fixture
def redis_settings(topology: Topology) -> dict[str, object]:
    return topology.settings


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_killing_the_primary_mid_approvals_loses_nothing_and_doubles_nothing(make_stack, topology):
    stack = make_stack(
        workers=2,
        sandbox_latency_ms=150,
        import_concurrency=4,
        worker_max_deliveries=50,  # a failover may cost a few deliveries; none may park
        redis_socket_timeout_seconds=2,
    )
    people = [
        {**JANE, "first_name": f"Single{i}", "email": f"single{i}@example.org"}
        for i in range(SINGLES)
    ]
    singles = [file_request(stack, ALICE, person) for person in people]
    screens = [approval_message(stack, request).to_slack() for request in singles]
    bulk = file_import(stack, ALICE, people_csv(ROWS))
    bulk_screen = message_of(stack, bulk).to_slack()
    ledger = topology.primary(keys.WORK_STREAM)

    # Under way: the import and half the requests approved, members being created...
    assert import_flows.click(stack, BOB, "Approve", bulk).status_code == 200
    for screen in screens[: SINGLES // 2]:
        click_as_shown(stack, BOB, screen)
    eventually(lambda: created_per_email(stack), what="creates under way")
    # ...when the primary holding the work dies; the other half is clicked meanwhile.
    topology.kill(port_of(ledger))
    for screen in screens[SINGLES // 2 :]:
        click_as_shown(stack, BOB, screen)
    promoted = topology.wait_promoted(keys.WORK_STREAM, ledger)
    assert promoted != ledger

    deadline = time.monotonic() + SETTLE_SECONDS
    while not everything_done(stack, singles, screens, bulk.id, bulk_screen):
        assert time.monotonic() < deadline, "not everything done after the failover"
        time.sleep(0.5)

    created = created_per_email(stack)
    expected = [p["email"] for p in people] + [f"person{i}@example.com" for i in range(ROWS)]
    assert {email: created.get(email, 0) for email in expected} == dict.fromkeys(expected, 1)
    assert sum(created.values()) == SINGLES + ROWS


def everything_done(stack, singles, screens, import_id: str, import_screen) -> bool:
    """Every request done and the import's every row; a request still pending (its
    approval fell into the failover) is approved again, as its manager would."""
    try:
        done = True
        for request, screen in zip(singles, screens, strict=True):
            status = stack.services.store.get(request.id).status
            if status is Status.PENDING:
                click_as_shown(stack, BOB, screen)
            done = done and status is Status.DONE
        found = stack.services.imports.store.get(import_id)
        if found.status.value == "pending":
            click_as_shown(stack, BOB, import_screen)
        return done and found.done == ROWS and found.finished
    except redis.RedisError:
        return False
