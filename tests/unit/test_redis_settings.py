"""REDIS_MODE and its companions: a bad combination stops start-up with one line naming
the variable; a good one becomes the RedisTarget every process connects with."""

from __future__ import annotations

import pytest

from bot.runtime.bootstrap import redis_target
from bot.runtime.settings import ConfigError, load_settings

SENTINELS = "10.0.0.1:26379,10.0.0.2:26379"


def problems(**values: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **values)
    return caught.value.problems


def test_standalone_is_the_default_and_waits_for_no_replica():
    settings = load_settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0")
    target = redis_target(settings)
    assert (target.mode, target.wait_replicas) == ("standalone", 0)


def test_cluster_needs_a_seed_node():
    assert problems(redis_mode="cluster") == [
        "REDIS_URL: required when REDIS_MODE=cluster (a node of the cluster)"
    ]


def test_cluster_refuses_a_database_other_than_0():
    [line] = problems(redis_mode="cluster", redis_url="rediss://h:6379/3")
    assert line.startswith("REDIS_URL: names a database other than 0")


def test_cluster_with_tls_and_its_replica_wait():
    settings = load_settings(
        _env_file=None,
        redis_mode="CLUSTER",
        redis_url="rediss://cfg.example:6379",
        redis_tls_verify="false",
    )
    target = redis_target(settings)
    assert (target.mode, target.url, target.tls_verify, target.wait_replicas) == (
        "cluster",
        "rediss://cfg.example:6379",
        False,
        1,
    )
    assert not settings.uses_embedded_redis


def test_sentinel_needs_its_sentinels_and_master():
    assert problems(redis_mode="sentinel") == [
        "REDIS_SENTINELS: required when REDIS_MODE=sentinel",
        "REDIS_SENTINEL_MASTER: required when REDIS_MODE=sentinel",
    ]


def test_sentinel_addresses_are_host_port():
    [line] = problems(redis_mode="sentinel", redis_sentinels="10.0.0.1", redis_sentinel_master="m")
    assert line.startswith("REDIS_SENTINELS: '10.0.0.1' is not host:port")


def test_sentinel_settings_without_sentinel_mode_are_refused():
    assert problems(redis_sentinels=SENTINELS, redis_sentinel_master="m") == [
        "REDIS_SENTINELS: set only with REDIS_MODE=sentinel",
        "REDIS_SENTINEL_MASTER: set only with REDIS_MODE=sentinel",
    ]


def test_sentinel_target_needs_no_url():
    settings = load_settings(
        _env_file=None,
        redis_mode="sentinel",
        redis_sentinels=SENTINELS,
        redis_sentinel_master="mymaster",
        redis_wait_replicas="0",
    )
    target = redis_target(settings)
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379))
    assert (target.master, target.wait_replicas) == ("mymaster", 0)
    assert not settings.uses_embedded_redis


def test_an_unknown_mode_is_refused():
    [line] = problems(redis_mode="replicated")
    assert line.startswith("REDIS_MODE: ")
