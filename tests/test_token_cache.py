"""TokenCache on a real Redis, with plain functions standing in for the token endpoint."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from bot.communities import AuthenticationFailed, IssuedToken, Timeout, TokenCache

TOKEN_URL = "http://127.0.0.1:1/oauth2/token"


class Endpoint:
    """Counts requests; each issues a new token after `delay` seconds."""

    def __init__(self, lifetime: float = 3600, delay: float = 0.0) -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self) -> IssuedToken:
        with self._lock:
            self.calls += 1
            number = self.calls
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return IssuedToken(f"token-{number}", self.lifetime)


def cache(store: redis.Redis, endpoint: Endpoint, **options: float) -> TokenCache:
    return TokenCache(store, token_url=TOKEN_URL, client_id="client", fetch=endpoint, **options)


def test_threads_on_a_cold_cache_share_one_fetch(redis_client: redis.Redis) -> None:
    endpoint = Endpoint(delay=0.3)
    tokens = cache(redis_client, endpoint)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(tokens.get())) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert endpoint.calls == 1
    assert got == ["token-1"] * 20


def test_nearly_expired_token_is_used_while_another_process_renews(
    redis_client: redis.Redis,
) -> None:
    endpoint = Endpoint(lifetime=10)
    assert cache(redis_client, endpoint).get() == "token-1"
    tokens = cache(redis_client, endpoint)  # a process that holds no token yet
    redis_client.pexpire(tokens.key, 500)  # inside the 1 s margin, still valid
    redis_client.set(tokens.lock_key, "someone-else", px=5000)
    assert tokens.get() == "token-1"
    assert endpoint.calls == 1
    redis_client.delete(tokens.lock_key)
    assert tokens.get() == "token-2"  # now we renew it ourselves


def test_failed_early_renewal_keeps_the_valid_token(redis_client: redis.Redis) -> None:
    endpoint = Endpoint(lifetime=10)
    cache(redis_client, endpoint).get()
    tokens = cache(redis_client, endpoint)  # a process that holds no token yet
    redis_client.pexpire(tokens.key, 500)
    endpoint.fail = AuthenticationFailed(status=401)
    assert tokens.get() == "token-1"
    tokens.clear()
    with pytest.raises(AuthenticationFailed):
        tokens.get()
    assert not redis_client.exists(tokens.lock_key)  # released after the failure


def test_waiters_give_up_after_a_bounded_time(redis_client: redis.Redis) -> None:
    endpoint = Endpoint()
    tokens = cache(redis_client, endpoint, wait_timeout=0.3)
    redis_client.set(tokens.lock_key, "a-process-that-hangs", px=10_000)
    started = time.monotonic()
    with pytest.raises(Timeout):
        tokens.get()
    assert 0.3 <= time.monotonic() - started < 2.0
    assert endpoint.calls == 0


def test_lock_release_only_by_its_owner(redis_client: redis.Redis) -> None:
    endpoint = Endpoint(delay=0.2)
    tokens = cache(redis_client, endpoint, lock_ttl=0.1)
    # Our lock expires mid-fetch and another process takes it; we must not delete theirs.
    thread = threading.Thread(target=tokens.get)
    thread.start()
    time.sleep(0.15)
    redis_client.set(tokens.lock_key, "next-owner", px=5000)
    thread.join()
    assert redis_client.get(tokens.lock_key) == "next-owner"


def test_namespaces_differ_per_client_and_environment(redis_client: redis.Redis) -> None:
    endpoint = Endpoint()
    acceptance = cache(redis_client, endpoint)
    other = TokenCache(
        redis_client,
        token_url="https://prod.example/oauth2/token",
        client_id="client",
        fetch=endpoint,
    )
    assert acceptance.key != other.key
    assert "client" not in acceptance.key.removeprefix("communities:token:")
    assert acceptance.get() != other.get()
    assert endpoint.calls == 2


def _reads(store: redis.Redis) -> int:
    """GETs and PTTLs Redis has served so far (a token read is one of each)."""
    stats = store.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("get", "pttl"))


def test_a_process_keeps_its_token_without_reading_redis_per_call(
    redis_client: redis.Redis,
) -> None:
    endpoint = Endpoint(lifetime=3600)
    tokens = cache(redis_client, endpoint)
    assert tokens.get() == "token-1"
    before = _reads(redis_client)
    assert {tokens.get() for _ in range(100)} == {"token-1"}
    assert _reads(redis_client) == before
    assert endpoint.calls == 1


def test_a_held_token_is_renewed_once_its_margin_begins(redis_client: redis.Redis) -> None:
    endpoint = Endpoint(lifetime=2)  # renewal margin: 0.2 s
    first, second = cache(redis_client, endpoint), cache(redis_client, endpoint)
    assert first.get() == second.get() == "token-1"
    time.sleep(1.9)  # inside the margin: both processes go back to Redis
    assert first.get() == second.get() == "token-2"
    assert endpoint.calls == 2  # one renewal for both


def test_a_401_in_one_process_is_no_second_renewal_in_another(redis_url: str) -> None:
    """Two processes (own Redis connections) hold token-1. Coolblue refuses it in the first:
    it drops it here and in Redis and renews. The second still holds it until its own call
    is refused; then it drops its copy and takes the renewed one from Redis, no fetch."""
    endpoint = Endpoint()
    one_store, other_store = redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)
    try:
        one, other = cache(one_store, endpoint), cache(other_store, endpoint)
        assert one.get() == other.get() == "token-1"
        assert one.invalidate("token-1") is True  # the first process's 401
        assert one.get() == "token-2"
        assert other.invalidate("token-1") is False  # its own 401: Redis already renewed
        assert other.get() == "token-2"
        assert endpoint.calls == 2
    finally:
        one_store.close()
        other_store.close()


def test_clear_drops_the_token_held_in_the_process(redis_client: redis.Redis) -> None:
    endpoint = Endpoint()
    tokens = cache(redis_client, endpoint)
    assert tokens.get() == "token-1"
    tokens.clear()
    assert tokens.get() == "token-2"
