"""The end-to-end flows, unchanged, on a Redis Cluster (3 primaries, 1 replica each) and on
a primary and replica behind 3 Sentinels (tests/redis_topologies.py): each flow is the test
function of its own module, called here with a stack whose REDIS_MODE points at the
topology. Standalone is every other test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.domain.requests import Status
from bot.storage import keys
from bot.storage.connection import mode_of
from bot.storage.migrate import migrate_hash_tags
from tests import test_commands_e2e, test_flow_smoke, test_import_execution_e2e, test_scheduled_e2e
from tests.conftest import ALICE, BOB
from tests.flows import JANE, click, eventually, file_request, wait_status
from tests.import_flows import created_per_email
from tests.redis_topologies import Topology, start_cluster, start_sentinel

STARTERS = {"cluster": start_cluster, "sentinel": start_sentinel}


@pytest.fixture(scope="module", params=list(STARTERS))
def topology(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Topology]:
    started = STARTERS[request.param](tmp_path_factory.mktemp(request.param))
    yield started
    started.stop()


@pytest.fixture
def redis_url(topology: Topology) -> str:
    topology.flush()
    return topology.url


@pytest.fixture
def redis_settings(topology: Topology) -> dict[str, object]:
    return topology.settings


def test_add_approve_done(stack, topology):
    assert mode_of(stack.runtime.redis) == topology.mode
    test_flow_smoke.test_add_approve_creates_member(stack)


def test_health_and_metrics_name_the_mode_and_the_primary(stack, topology):
    primary = topology.primary(keys.WORK_STREAM)
    health = httpx.get(f"{stack.server.url}/healthz", timeout=5).json()
    assert health["ok"] is True
    assert (health["redis_mode"], health["redis_primary"]) == (topology.mode, primary)
    metrics = httpx.get(f"{stack.server.url}/metrics", timeout=5).text
    assert f'communitybot_redis_info{{mode="{topology.mode}",primary="{primary}"}} 1.0' in metrics


def test_credit(stack):
    test_commands_e2e.test_credit_is_private_and_in_euros(stack)


def test_import_creates_nobody_twice(stack):
    test_import_execution_e2e.test_running_the_same_file_again_creates_nobody_twice(stack)


def test_scheduled_change(make_stack):
    test_scheduled_e2e.test_dated_onboarding_waits_scheduled_and_runs_on_its_start_date(make_stack)


def test_no_create_at_coolblue_before_a_replica_holds_the_attempt(make_stack, topology):
    """What asynchronous replication could lose at a failover: the write that records an
    attempt (`executing`, attempts + 1). Were it lost after Coolblue created the member,
    the next worker would see a first attempt and create again without looking. So the
    bot calls Coolblue only once a replica confirmed that write (WAIT): with the replica
    frozen, nothing is created; once it answers, the member is created exactly once."""
    stack = make_stack(redis_wait_ms=200, worker_max_deliveries=50)
    ledger = int(topology.primary(keys.WORK_STREAM).rsplit(":", 1)[1])
    replica = topology.replica_of(ledger)
    request = file_request(stack, ALICE, JANE)
    topology.pause(replica)
    try:
        click(stack, BOB, "Approve", request)
        eventually(
            lambda: (r := stack.services.store.get(request.id)) and r.attempts >= 2,
            what="two attempts refused for want of a replica",
        )
        assert test_scheduled_e2e.creates(stack) == 0
        assert stack.services.store.get(request.id).status is not Status.DONE
    finally:
        topology.resume(replica)
    wait_status(stack, request.id, Status.DONE, timeout=30)
    assert created_per_email(stack) == {JANE["email"]: 1}


def test_the_upgrade_renames_behind_sentinel_and_sends_nothing_to_a_cluster(topology, redis_url):
    client = topology.client()
    client.set("cb:req:r-20250101-abcdef", "written by the released version")
    done = migrate_hash_tags(client)
    if topology.mode == "cluster":  # new with the tag: no old names to look for
        assert done.skipped == "cluster"
        assert client.get(keys.HASH_TAGS_MIGRATED) is None
        assert client.get("cb:req:r-20250101-abcdef")
    else:
        assert (done.renamed, done.skipped) == (1, "")
        assert client.get(keys.HASH_TAGS_MIGRATED)
        assert client.get(keys.request("r-20250101-abcdef")) == "written by the released version"
    client.close()
