"""The one place a Redis client is built, for every process: a single Redis (standalone),
a Redis Cluster or Valkey cluster (cluster: the URL is a seed node), or the primary that
Sentinel names (sentinel). Each honours rediss:// and REDIS_TLS_VERIFY.

Every mode hands back an object with redis.Redis's commands: redis-py's RedisCluster routes
each command by its key's slot (every script and transaction keeps to one slot, see
bot.storage.keys), and Sentinel's client asks the Sentinels for the primary again when the
one it knew stops answering. The stores need nothing else.

`confirmed` runs a write and then WAIT on the same connection: at a failover, a write the
primary acknowledged but had not yet sent to a replica is lost (replication is
asynchronous). The writes that record an attempt at Coolblue go through it (docs/redis.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.sentinel import Sentinel, SentinelConnectionPool

log = logging.getLogger("bot.redis")

MODES = ("standalone", "cluster", "sentinel")


class NotReplicated(redis.RedisError):  # type: ignore[misc]
    """No replica confirmed a write in time: it could be lost at a failover, so what
    depends on it does not happen yet (the caller retries later). `reply`: the write's."""

    def __init__(self, message: str, reply: Any = None) -> None:
        super().__init__(message)
        self.reply = reply


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is. `url`: the server (standalone), a seed node (cluster); in sentinel
    mode only its scheme, credentials and database count (the Sentinels name the host).
    `wait_replicas`: replicas that must confirm the writes that record an attempt (0: no
    wait)."""

    url: str
    mode: str = "standalone"
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    tls_verify: bool = True
    socket_timeout: float = 10.0
    wait_replicas: int = 0
    wait_ms: int = 1000


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` -> ((host, port), ...); ValueError naming what is wrong."""
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port")
        found.append((host, int(port)))
    if not found:
        raise ValueError("no host:port given")
    return tuple(found)


def connect(target: RedisTarget) -> redis.Redis:
    """A client of `target` (nothing is sent yet). It carries the target's `wait_replicas`
    and `wait_ms` for `confirmed`: the stores are handed the client alone."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": 2,
        "socket_timeout": target.socket_timeout,
    }
    tls: dict[str, Any] = {}
    if target.url.startswith("rediss://") and not target.tls_verify:
        tls = {"ssl_cert_reqs": "none", "ssl_check_hostname": False}
    if target.mode == "cluster":
        cluster = RedisCluster.from_url(target.url, **common, **tls)
        client = cast(redis.Redis, cluster)
    elif target.mode == "sentinel":
        client = _sentinel_primary(target, common, tls)
    else:
        client = redis.Redis.from_url(
            target.url, health_check_interval=30, retry_on_timeout=False, **common, **tls
        )
    client.wait_replicas = target.wait_replicas
    client.wait_ms = target.wait_ms
    return client


def _sentinel_primary(
    target: RedisTarget, common: dict[str, Any], tls: dict[str, Any]
) -> redis.Redis:
    parts = urlsplit(target.url)
    db = int(parts.path.strip("/") or 0)
    secure = parts.scheme == "rediss"
    auth: dict[str, Any] = {"username": parts.username, "password": parts.password}
    link = {**common, "ssl": secure, **tls} if secure else dict(common)
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={k: v for k, v in link.items() if k != "decode_responses"},
        **link,
    )
    return sentinel.master_for(target.master, db=db, **auth, **link)


def mode_of(client: redis.Redis) -> str:
    if isinstance(client, RedisCluster):
        return "cluster"
    if isinstance(client.connection_pool, SentinelConnectionPool):
        return "sentinel"
    return "standalone"


def primary_of(client: redis.Redis, key: str) -> str:
    """host:port of the primary that holds `key` (never a password)."""
    if isinstance(client, RedisCluster):
        node = client.get_node_from_key(key)
        return f"{node.host}:{node.port}"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        host, port = pool.get_master_address()
        return f"{host}:{port}"
    kwargs = pool.connection_kwargs
    return f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}".rstrip(":")


def confirmed(
    client: redis.Redis, script: Script, keys: Sequence[str], args: Sequence[object]
) -> Any:
    """Run `script`, then WAIT on the same connection for the client's `wait_replicas`, or
    for as many as the primary has connected when fewer (none connected: no replica can be
    promoted without this write, as after a failover until the old primary comes back).
    Raises NotReplicated (after the write) when fewer confirm it in time."""
    replicas = int(getattr(client, "wait_replicas", 0))
    if replicas <= 0:
        return script(keys=list(keys), args=list(args))
    node: redis.Redis = client
    if isinstance(client, RedisCluster):  # the primary of the keys' slot, straight
        node = client.get_redis_connection(client.get_node_from_key(keys[0]))
    try:
        role = node.execute_command("ROLE")
    except redis.ResponseError as exc:  # a managed service that refuses ROLE
        return _without_wait(client, script, keys, args, exc)
    wanted = min(replicas, len(role[2]) if role and str(role[0]) == "master" else 0)
    if wanted == 0:
        return script(keys=list(keys), args=list(args), client=node)
    pipe = node.pipeline(transaction=False)
    script(keys=list(keys), args=list(args), client=pipe)
    pipe.execute_command("WAIT", wanted, int(getattr(client, "wait_ms", 1000)))
    reply, acked = pipe.execute(raise_on_error=False)
    if isinstance(reply, Exception):
        raise reply
    if isinstance(acked, redis.ResponseError):  # ... or WAIT: the write itself is done
        _without_wait(client, None, keys, args, acked)
        return reply
    if int(acked) < wanted:
        raise NotReplicated(f"{acked} of {wanted} replicas confirmed the write in time", reply)
    return reply


def _without_wait(
    client: redis.Redis,
    script: Script | None,
    keys: Sequence[str],
    args: Sequence[object],
    exc: redis.ResponseError,
) -> Any:
    """This Redis refuses ROLE or WAIT: say so once, and stop asking (REDIS_WAIT_REPLICAS=0
    silences it)."""
    client.wait_replicas = 0
    log.warning(
        "Redis refused ROLE or WAIT (%s): writes that record an attempt are not confirmed "
        "by a replica; set REDIS_WAIT_REPLICAS=0 if this service offers no WAIT",
        exc,
    )
    return None if script is None else script(keys=list(keys), args=list(args))


def confirmed_or_logged(
    client: redis.Redis, script: Script, keys: Sequence[str], args: Sequence[object]
) -> Any:
    """`confirmed`, for a write that stands whether or not a replica confirmed it (an
    approval): the reply as soon as a replica holds it, or after the wait, logged."""
    try:
        return confirmed(client, script, keys, args)
    except NotReplicated as exc:
        log.warning("a write was not confirmed by a replica: %s", exc)
        return exc.reply
