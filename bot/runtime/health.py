"""What /healthz reports: Redis, and every part of this process that can die quietly
(the worker loop, the import runner, the Socket Mode connection), each a check returning
"ok" or what is wrong. Answers 503 when any is not ok, so the platform restarts or stops
routing.

/healthz answers within a second whatever Redis does: Redis is probed on connections of
its own with short timeouts (`PROBE_SECONDS`) and no retries, so a frozen Redis (it accepts
connections and never answers) is reported as "unavailable: no answer within 0.5 s"
instead of holding the probe for the main client's 10 s socket timeout and its retries.

The report also says which Redis mode is in use and which node is the primary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.storage.connection import mode_of, primary_of
from bot.storage.keys import WORK_STREAM

Check = Callable[[], str]

PROBE_SECONDS = 0.5


class Health:
    def __init__(self, client: redis.Redis, probe_seconds: float = PROBE_SECONDS) -> None:
        self.redis = client
        self.probe_seconds = probe_seconds
        self._probe = _probe_client(client, probe_seconds)
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

    def close(self) -> None:
        if self._probe is not self.redis:
            self._probe.close()

    def _redis(self) -> str:
        try:
            self._probe.ping()
        except redis.TimeoutError:
            return f"unavailable: no answer within {self.probe_seconds:g} s"
        except redis.ConnectionError as exc:
            return f"unavailable: cannot connect ({type(exc).__name__})"
        except redis.RedisError as exc:
            return f"unavailable ({type(exc).__name__})"
        return "ok"


def _probe_client(client: Any, seconds: float) -> Any:
    """A client of the same server on a small pool of its own: short timeouts, no retries.
    A client without a plain connection pool (a cluster client) is probed as it is."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if pool is None or not isinstance(kwargs, dict):
        return client
    settings = dict(kwargs)
    settings.update(
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
        retry_on_error=[],
        retry_on_timeout=False,
        health_check_interval=0,
    )
    # Blocking: probes that arrive together share its few connections (each waits at most
    # `seconds` for one) instead of being refused as "too many connections".
    probe_pool = redis.BlockingConnectionPool(
        connection_class=pool.connection_class, max_connections=4, timeout=seconds, **settings
    )
    return redis.Redis(connection_pool=probe_pool)


def redis_place(client: redis.Redis) -> dict[str, str]:
    """Which Redis mode is in use and which node is the primary holding the work (the
    ledger's slot in a cluster; Sentinel's primary): host:port, never a password."""
    try:
        primary = primary_of(client, WORK_STREAM)
    except redis.RedisError:
        primary = "unknown"
    return {"redis_mode": mode_of(client), "redis_primary": primary}
