"""What /healthz reports: Redis, and every part of this process that can die quietly
(the worker loop, the Socket Mode connection), each a check returning "ok" or what is
wrong. Answers 503 when any is not ok, so the platform restarts or stops routing. The
report also says which Redis mode is in use and which node is the primary."""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.storage.connection import mode_of, primary_of
from bot.storage.keys import WORK_STREAM

Check = Callable[[], str]


class Health:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self.checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def report(self) -> tuple[bool, dict[str, str]]:
        parts = {"redis": self._redis()}
        for name, check in self.checks.items():
            try:
                parts[name] = check()
            except Exception as exc:  # a broken check is a failed one, not a 500
                parts[name] = f"check failed ({type(exc).__name__})"
        ok = all(value == "ok" for value in parts.values())
        return ok, {**parts, **redis_place(self.redis)}

    def _redis(self) -> str:
        try:
            self.redis.ping()
        except redis.RedisError:
            return "unavailable"
        return "ok"


def redis_place(client: redis.Redis) -> dict[str, str]:
    """Which Redis mode is in use and which node is the primary holding the work (the
    ledger's slot in a cluster; Sentinel's primary): host:port, never a password."""
    try:
        primary = primary_of(client, WORK_STREAM)
    except redis.RedisError:
        primary = "unknown"
    return {"redis_mode": mode_of(client), "redis_primary": primary}
