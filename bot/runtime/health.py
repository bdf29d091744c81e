"""What /healthz reports: Redis, and every part of this process that can die quietly
(the worker loop, the Socket Mode connection), each a check returning "ok" or what is
wrong. Answers 503 when any is not ok, so the platform restarts or stops routing."""

from __future__ import annotations

from collections.abc import Callable

import redis

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
        return all(value == "ok" for value in parts.values()), parts

    def _redis(self) -> str:
        try:
            self.redis.ping()
        except redis.RedisError:
            return "unavailable"
        return "ok"
