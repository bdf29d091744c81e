"""The step store on a real Redis: what the sweep sees, and no personal data kept longer
than the step needs it."""

from __future__ import annotations

import redis

from bot.domain.steps import StepExecution
from bot.storage import keys
from bot.storage.steps import FINISHED_SECONDS, RedisStepStore

INPUTS = {"email": "jane@example.com", "first_name": "Jane"}


def received(store: RedisStepStore, execution_id: str, at: float) -> None:
    assert store.receive(StepExecution(execution_id, "onboard_employee", at, INPUTS), at + 30)


def test_an_execution_is_kept_once(redis_url: str) -> None:
    store = RedisStepStore(redis.Redis.from_url(redis_url))
    received(store, "Fx1", 100.0)
    again = StepExecution("Fx1", "onboard_employee", 200.0, {"email": "other@example.com"})
    assert not store.receive(again, 230.0)
    found = store.get("Fx1")
    assert found is not None and (found.received_at, found.inputs) == (100.0, INPUTS)


def test_the_sweep_sees_each_execution_when_due_and_rotates(redis_url: str) -> None:
    store = RedisStepStore(redis.Redis.from_url(redis_url))
    received(store, "Fx1", 100.0)
    received(store, "Fx2", 110.0)
    assert store.unfinished(129.0) == []
    assert store.unfinished(140.0) == ["Fx1", "Fx2"]
    store.postpone("Fx1", 200.0)  # still waiting for its request: the next one goes first
    assert store.unfinished(140.0) == ["Fx2"]
    assert store.unfinished(200.0) == ["Fx2", "Fx1"]


def test_filing_and_finishing_drop_the_inputs_and_expire(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStepStore(client)
    received(store, "Fx1", 100.0)
    store.link("Fx1", "R1")
    assert store.execution_of("R1") == "Fx1"
    assert client.hget(keys.step("Fx1"), "inputs") is None  # the request keeps them
    assert store.claim("Fx1", 60)
    assert not RedisStepStore(client).claim("Fx1", 60)  # another process waits
    store.finish("Fx1", "completed")
    found = store.get("Fx1")
    assert found is not None and (found.state, found.outcome) == ("finished", "completed")
    assert 0 < client.ttl(keys.step("Fx1")) <= FINISHED_SECONDS
    assert store.unfinished(1e12) == []
    assert RedisStepStore(client).claim("Fx1", 60)  # the claim went with it


def test_an_orphan_in_the_index_is_forgotten(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStepStore(client)
    client.zadd(keys.STEPS_UNFINISHED, {"Fx9": 1.0})  # arrival cut short before its hash
    assert store.get("Fx9") is None
    store.forget("Fx9")
    assert store.unfinished(1e12) == []


def test_a_redelivery_after_the_step_finished_leaves_nothing_for_the_sweep(redis_url: str) -> None:
    store = RedisStepStore(redis.Redis.from_url(redis_url))
    received(store, "Fx1", 100.0)
    store.finish("Fx1", "completed")
    again = StepExecution("Fx1", "onboard_employee", 500.0, INPUTS)
    assert not store.receive(again, 530.0)
    assert store.unfinished(1e12) == []
    assert store.get("Fx1").state == "finished"  # type: ignore[union-attr]
