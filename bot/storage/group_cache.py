"""User-group members cached in Redis, shared by every process (bot.domain.ports.GroupCache)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis

from bot.storage import keys


class RedisGroupCache:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def get(self, group_id: str) -> list[str] | None:
        cached = self.redis.get(keys.group_members(group_id))
        return None if cached is None else list(json.loads(cached))

    def put(self, group_id: str, members: Sequence[str], ttl_seconds: int) -> None:
        self.redis.set(keys.group_members(group_id), json.dumps(list(members)), ex=ttl_seconds)
