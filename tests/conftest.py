"""Shared fixtures: a real redis-server started by the tests, on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.storage import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A clean database on the shared server for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of the test's own, for tests that stop or restart it."""
    server = RedisServer(tmp_path / "redis-own")
    server.start()
    yield server
    server.stop()


# The whole bot on loopback --------------------------------------------------------------

ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GRACE = (
    "U0ALICE",
    "U0BOB",
    "U0CAROL",
    "U0DAVE",
    "U0ERIN",
    "U0FRANK",
    "U0GRACE",
)
MANAGERS_GROUP = "S0MANAGERS"
COMMUNITY = "acme-employees"


def team() -> list:
    from bot.slack_standin import StandInUser

    people = [
        (ALICE, "alice", "Alice Hr"),
        (BOB, "bob", "Bob Manager"),
        (CAROL, "carol", "Carol Support"),
        (DAVE, "dave", "Dave Admin"),
        (ERIN, "erin", "Erin Groupmanager"),
        (FRANK, "frank", "Frank Norole"),
        (GRACE, "grace", "Grace Manager"),
    ]
    return [
        StandInUser(id=uid, name=name, real_name=real, email=f"{name}@acme.nl")
        for uid, name, real in people
    ]


def stack_settings(redis_url: str, **overrides: object):
    from bot.runtime.settings import Settings

    values: dict[str, object] = {
        "redis_url": redis_url,
        "roles_hr": f"{ALICE}",
        "roles_manager": f"{BOB},{GRACE},{MANAGERS_GROUP}",
        "roles_support": CAROL,
        "roles_admin": DAVE,
        "worker_claim_idle_seconds": 1.0,
        "communities_timeout_seconds": 2.0,
        "sandbox_communities": f"{COMMUNITY}:Acme Employees",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


# Slack's two ways of reaching the bot. A test (or a module, with `pytestmark`) marked
# `@BOTH_MODES` runs once over HTTP and once over Socket Mode: `slack_mode` is the fixture
# parameter that `make_stack` (and so `stack`) starts the LocalStack in. Unmarked tests run
# over HTTP; `@HTTP_ONLY` keeps a test of a marked module to HTTP (signatures, replays).
MODES = ("http", "socket")
BOTH_MODES = pytest.mark.slack_modes(*MODES)
HTTP_ONLY = pytest.mark.slack_modes("http")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: three workers per two cores. Most tests wait (on processes starting,
    sockets, the stand-ins' timers) rather than compute: at one worker per core the 2-core
    machine sat 75-80 % idle through the suite (494 s); three workers took 406 s, four 310 s
    but with the machine loaded enough that timing-sensitive waits become the risk.
    PYTEST_XDIST_AUTO_NUM_WORKERS overrides this, as it does xdist's own count."""
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    return int(chosen) if chosen else max(1, 3 * (os.cpu_count() or 1) // 2)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slack_modes(*modes): run the test once per Slack mode (http, socket)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "slack_mode" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("slack_modes")
        if marker is not None:  # unmarked: plain HTTP, no parameter in the test's ID
            metafunc.parametrize("slack_mode", marker.args, indirect=True)


@pytest.fixture
def slack_mode(request: pytest.FixtureRequest) -> str:
    """How Slack reaches the bot in this test's stacks: "http" or "socket"."""
    return str(getattr(request, "param", "http"))


@pytest.fixture
def redis_settings() -> dict[str, object]:
    """Settings that point the stack at a Redis other than one server (REDIS_MODE and its
    companions); tests/test_redis_modes_e2e.py overrides it with a cluster's or Sentinels'."""
    return {}


@pytest.fixture
def make_stack(redis_url: str, slack_mode: str, redis_settings: dict[str, object]):
    """Start a LocalStack with settings overrides, in this test's Slack mode; stopped after
    the test."""
    from bot.local.stack import LocalStack

    started: list[LocalStack] = []

    def make(
        workers: int = 1, sweep_every: float = 30.0, mode: str | None = None, **overrides: object
    ) -> LocalStack:
        url = str(overrides.pop("redis_url", redis_url))
        overrides = {**{k: v for k, v in redis_settings.items() if k != "redis_url"}, **overrides}
        stack = LocalStack(
            stack_settings(url, **overrides),
            team(),
            {MANAGERS_GROUP: [ERIN]},
            workers=workers,
            worker_sweep_every=sweep_every,
            mode=mode or slack_mode,  # type: ignore[arg-type]
        ).start()
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


@pytest.fixture
def stack(make_stack):
    return make_stack()
