"""bot.storage.connection.confirmed against real servers: a service that refuses ROLE (some
managed ones restrict commands) gets the write done anyway, once warned; a primary with
no replica connected (as after a failover) is not waited for."""

from __future__ import annotations

import logging

import pytest

from bot.storage.connection import RedisTarget, confirmed, connect
from tests.redis_topologies import _server, free_ports, wait_for

SET = "redis.call('SET', KEYS[1], ARGV[1]) return 1"


@pytest.fixture
def started(tmp_path):
    processes = []

    def start(*extra: str) -> str:
        [port] = free_ports(1)
        processes.append(_server(tmp_path / str(port), port, *extra))
        client = connect(RedisTarget(f"redis://127.0.0.1:{port}"))
        wait_for(client.ping, 10, "redis-server")
        client.close()
        return f"redis://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(5)


def test_a_redis_that_refuses_role_gets_the_write_and_one_warning(started, caplog):
    url = started("--rename-command", "ROLE", "")
    client = connect(RedisTarget(url, wait_replicas=1))
    script = client.register_script(SET)
    with caplog.at_level(logging.WARNING, "bot.redis"):
        assert confirmed(client, script, ["{cb}:a"], ["1"]) == 1
        assert confirmed(client, script, ["{cb}:b"], ["2"]) == 1
    assert (client.get("{cb}:a"), client.get("{cb}:b")) == ("1", "2")
    assert [r.message.startswith("Redis refused ROLE or WAIT") for r in caplog.records] == [True]
    assert client.wait_replicas == 0


def test_a_primary_without_replicas_is_not_waited_for(started):
    client = connect(RedisTarget(started(), wait_replicas=1, wait_ms=5000))
    script = client.register_script(SET)
    assert confirmed(client, script, ["{cb}:a"], ["1"]) == 1
    assert client.wait_replicas == 1  # still asked for, once a replica is back
