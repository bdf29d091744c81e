"""The OAuth2 access token, cached in Redis and shared by every process of the bot.

Coolblue asks integrators to reuse a token until it expires, and a cold start of
several processes with many threads must not stampede the token endpoint. So:

* the token lives under one Redis key per (token URL, client ID) - hashed, so the key
  says nothing about the client, and never derived from the secret;
* the key expires with the token (PX), and Redis' own clock decides "nearly expired"
  via PTTL, so processes on hosts with skewed clocks still agree;
* renewal happens under a Redis lock (SET NX PX, random value, compare-and-delete
  release), and everyone else waits for the new token instead of fetching one;
* each process keeps the token it read in memory until its renewal margin begins (timed
  by the process's own monotonic clock from the PTTL it read, so clocks cannot skew it),
  so a call reads Redis only when the token is new to the process or nearly expired;
* a 401 drops the token in the process that got it and in Redis (unless already
  replaced). Another process still holding it gets its own 401 on its next call, drops its
  copy too, and finds the renewed token in Redis: one renewal for all, and no process goes
  on using a token that Coolblue refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from bot.communities.errors import CommunitiesError, Interrupted, Timeout
from bot.storage import keys

logger = logging.getLogger("bot.communities")

KEY_PREFIX = keys.TOKEN_PREFIX

# Our own cache format in Redis (not part of the API contract).
_CACHE_TOKEN = "token"
_CACHE_LIFETIME_MS = "lifetime_ms"

# Compare-and-delete: only the owner of the lock may release it.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# Drop the cached token only if it is still the one that failed: another process may
# already have replaced it, and deleting that fresh token would cause a second fetch.
_DROP_IF_SAME = """
local value = redis.call('GET', KEYS[1])
if value then
    local ok, decoded = pcall(cjson.decode, value)
    if ok and decoded['token'] == ARGV[1] then
        return redis.call('DEL', KEYS[1])
    end
end
return 0
"""


@dataclass(frozen=True)
class IssuedToken:
    """What the token endpoint returned; `lifetime` is seconds from when we asked."""

    access_token: str
    lifetime: float


TokenFetcher = Callable[[], IssuedToken]
# Told of each renewal this process made: "renewed", or "failed" (the endpoint refused or
# could not be reached). Waiters that got another process's new token are not renewals.
RenewalObserver = Callable[[str], None]


def cache_namespace(token_url: str, client_id: str) -> str:
    """A stable, non-revealing suffix for keys that belong to one client of one environment."""
    digest = hashlib.sha256(f"{token_url}\0{client_id}".encode()).hexdigest()
    return digest[:24]


def renewal_margin_ms(lifetime_ms: int) -> int:
    """Renew at min(60 s, 10% of the lifetime) before expiry: early enough that a call
    in flight does not carry a token that dies on the way, late enough for short tokens."""
    return min(60_000, lifetime_ms // 10)


class TokenCache:
    """Hands out a valid access token; renews it through `fetch` under a Redis lock."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        token_url: str,
        client_id: str,
        fetch: TokenFetcher,
        lock_ttl: float = 60.0,
        wait_timeout: float | None = None,
        poll_interval: float = 0.05,
        on_renewal: RenewalObserver | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        namespace = cache_namespace(token_url, client_id)
        self._redis = redis_client
        self._fetch = fetch
        self.key = KEY_PREFIX + namespace
        self.lock_key = self.key + ":lock"
        self._lock_ttl_ms = int(lock_ttl * 1000)
        # A waiter gives up no sooner than the lock could have expired on its own.
        self._wait_timeout = wait_timeout if wait_timeout is not None else lock_ttl + 1.0
        self._poll_interval = poll_interval
        self._on_renewal = on_renewal
        self._stop = stop  # ends the wait for another process's renewal (Interrupted)
        # The token this process read, and the time.monotonic() until which it is fresh.
        self._held: tuple[str, float] | None = None
        self._held_lock = threading.Lock()
        self._release = redis_client.register_script(_RELEASE_LOCK)
        self._drop_if_same = redis_client.register_script(_DROP_IF_SAME)

    def __repr__(self) -> str:
        return f"TokenCache(key={self.key!r})"

    # Public --------------------------------------------------------------------

    def get(self) -> str:
        """A token that is not about to expire; fetched by at most one process at a time.
        From memory while the one this process holds is fresh, else from Redis."""
        held = self._held
        if held is not None and time.monotonic() < held[1]:
            return held[0]
        deadline = time.monotonic() + self._wait_timeout
        while True:
            token, fresh = self._read()
            if token is not None and fresh:
                return token
            renewed = self._renew_if_lock_free()
            if renewed is not None:
                return renewed
            # Someone else is renewing. A token still inside its margin is valid: use it.
            if token is not None:
                return token
            if time.monotonic() >= deadline:
                raise Timeout(
                    "Could not get an access token from Coolblue in time: another process "
                    "is renewing it and has not finished. Try again in a minute."
                )
            if self._stop is None:
                time.sleep(self._poll_interval)
            elif self._stop.wait(self._poll_interval):
                raise Interrupted()

    def invalidate(self, failed_token: str) -> bool:
        """Forget `failed_token` (after a 401), here and in Redis unless it has already been
        replaced there."""
        dropped = bool(self._drop_if_same(keys=[self.key], args=[failed_token]))
        with self._held_lock:  # after Redis, so a read in between cannot bring it back
            if self._held is not None and self._held[0] == failed_token:
                self._held = None
        return dropped

    def clear(self) -> None:
        self._redis.delete(self.key)
        with self._held_lock:
            self._held = None

    # Internals -----------------------------------------------------------------

    def _read(self) -> tuple[str | None, bool]:
        """The token in Redis and whether it is fresh; a fresh one is held from now on."""
        read_at = time.monotonic()
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self.key)
        pipe.pttl(self.key)
        raw, pttl = pipe.execute()
        cached = _decode(raw)
        if cached is None:
            return None, False
        token, lifetime_ms = cached
        margin = renewal_margin_ms(lifetime_ms)
        # PTTL -1 would mean "no expiry"; we never write that, but it is not stale. Such a
        # token is held no longer than its stated lifetime, then read again.
        fresh_ms = lifetime_ms - margin if pttl == -1 else pttl - margin
        if fresh_ms <= 0:
            return token, False
        self._hold(token, read_at + fresh_ms / 1000)
        return token, True

    def _hold(self, token: str, fresh_until: float) -> None:
        with self._held_lock:
            self._held = (token, fresh_until)

    def _renew_if_lock_free(self) -> str | None:
        owner = secrets.token_hex(16)
        if not self._redis.set(self.lock_key, owner, nx=True, px=self._lock_ttl_ms):
            return None
        try:
            # Another process may have renewed between our read and our lock.
            token, fresh = self._read()
            if token is not None and fresh:
                return token
            try:
                return self._fetch_and_store()
            except CommunitiesError:
                self._renewed("failed")
                # Renewing early failed, but the token we have is still valid: use it
                # and let the next call try again rather than fail this one.
                if token is None:
                    raise
                logger.warning("communities token renewal failed; using the current token")
                return token
        finally:
            self._release(keys=[self.lock_key], args=[owner])

    def _fetch_and_store(self) -> str:
        started = time.monotonic()
        issued = self._fetch()
        # Count the lifetime from when we asked, so our copy never outlives the server's.
        lifetime_ms = int(issued.lifetime * 1000 - (time.monotonic() - started) * 1000)
        self._renewed("renewed")
        if lifetime_ms <= 0:
            return issued.access_token
        value = json.dumps({_CACHE_TOKEN: issued.access_token, _CACHE_LIFETIME_MS: lifetime_ms})
        self._redis.set(self.key, value, px=lifetime_ms)
        margin = renewal_margin_ms(lifetime_ms)
        self._hold(issued.access_token, time.monotonic() + (lifetime_ms - margin) / 1000)
        logger.info("communities token renewed lifetime_s=%.0f", lifetime_ms / 1000)
        return issued.access_token

    def _renewed(self, outcome: str) -> None:
        if self._on_renewal is not None:
            self._on_renewal(outcome)


def _decode(raw: Any) -> tuple[str, int] | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        data = json.loads(raw)
        return str(data[_CACHE_TOKEN]), int(data[_CACHE_LIFETIME_MS])
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable entry is treated as absent and overwritten
