"""Workflow Builder step executions in Redis (bot.domain.steps.StepStore).

Every operation touches one key at a time (so each works on a Redis Cluster without hash
tags), in an order that leaves nothing lost when a process dies between two of them: an
execution enters the unfinished index before its hash exists, and leaves it only once
Slack has answered its completion.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis

from bot.domain.steps import StepExecution
from bot.storage import keys

# The whole hash at once, only if it is new (one key: fine on a cluster).
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# How long a finished execution is remembered (a redelivered event then changes nothing).
FINISHED_SECONDS = 30 * 86400


class RedisStepStore:
    def __init__(self, client: redis.Redis, retention_seconds: float = 365 * 86400) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._token = secrets.token_hex(8)  # whose claim a release may delete
        self._create = client.register_script(_CREATE)

    def receive(self, execution: StepExecution, look_at: float) -> bool:
        execution_id = execution.execution_id
        self.redis.zadd(keys.STEPS_UNFINISHED, {execution_id: look_at}, nx=True)
        fields = {
            "function": execution.function,
            "received_at": repr(execution.received_at),
            "inputs": json.dumps(execution.inputs),
            "state": "received",
        }
        flat = [item for pair in fields.items() for item in pair]
        if self._create(keys=[keys.step(execution_id)], args=flat):
            return True
        known = self.get(execution_id)
        if known is not None and known.state == "finished":  # redelivered long after
            self.forget(execution_id)
        return False

    def get(self, execution_id: str) -> StepExecution | None:
        data: dict[Any, Any] = self.redis.hgetall(keys.step(execution_id))
        if not data:
            return None
        text = {_str(k): _str(v) for k, v in data.items()}
        if "state" not in text:  # mid-receive: treat as not there yet
            return None
        return StepExecution(
            execution_id=execution_id,
            function=text.get("function", ""),
            received_at=float(text.get("received_at") or 0),
            inputs=json.loads(text.get("inputs") or "{}"),
            state=text["state"],
            request_id=text.get("request_id", ""),
            outcome=text.get("outcome", ""),
        )

    def link(self, execution_id: str, request_id: str) -> None:
        self.redis.set(
            keys.step_of_request(request_id), execution_id, ex=int(self.retention_seconds)
        )
        key = keys.step(execution_id)
        self.redis.hset(key, mapping={"state": "filed", "request_id": request_id})
        self.redis.hdel(key, "inputs")  # names and addresses: the request keeps them

    def execution_of(self, request_id: str) -> str | None:
        found = self.redis.get(keys.step_of_request(request_id))
        return None if found is None else _str(found)

    def claim(self, execution_id: str, seconds: float) -> bool:
        return bool(
            self.redis.set(
                keys.step_claim(execution_id), self._token, nx=True, px=int(seconds * 1000)
            )
        )

    def release(self, execution_id: str) -> None:
        claim = keys.step_claim(execution_id)
        if _str(self.redis.get(claim) or b"") == self._token:
            self.redis.delete(claim)

    def postpone(self, execution_id: str, look_at: float) -> None:
        self.redis.zadd(keys.STEPS_UNFINISHED, {execution_id: look_at}, xx=True)

    def forget(self, execution_id: str) -> None:
        self.redis.zrem(keys.STEPS_UNFINISHED, execution_id)

    def finish(self, execution_id: str, outcome: str) -> None:
        key = keys.step(execution_id)
        self.redis.hset(key, mapping={"state": "finished", "outcome": outcome})
        self.redis.hdel(key, "inputs")
        self.redis.expire(key, FINISHED_SECONDS)
        self.redis.zrem(keys.STEPS_UNFINISHED, execution_id)
        self.release(execution_id)

    def unfinished(self, due_before: float, limit: int = 100) -> list[str]:
        found = self.redis.zrangebyscore(
            keys.STEPS_UNFINISHED, "-inf", due_before, start=0, num=limit
        )
        return [_str(item) for item in found]


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
