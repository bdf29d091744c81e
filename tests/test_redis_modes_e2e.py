"""The end-to-end flows, unchanged, on a Redis Cluster (3 primaries, 1 replica each) and on
a primary and replica behind 3 Sentinels (tests/redis_topologies.py): each flow is the test
function of its own module, called here with a stack whose REDIS_MODE points at the
topology. Standalone is every other test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage.connection import mode_of
from tests import test_commands_e2e, test_flow_smoke, test_import_execution_e2e, test_scheduled_e2e
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


def test_credit(stack):
    test_commands_e2e.test_credit_is_private_and_in_euros(stack)


def test_import_creates_nobody_twice(stack):
    test_import_execution_e2e.test_running_the_same_file_again_creates_nobody_twice(stack)


def test_scheduled_change(make_stack):
    test_scheduled_e2e.test_dated_onboarding_waits_scheduled_and_runs_on_its_start_date(make_stack)
