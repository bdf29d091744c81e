"""The list of communities, cached in Redis for every process and briefly in this one.

Every command and every member call asks which communities exist, and the list changes
only when Coolblue changes it. So the list lives in Redis for five minutes (shared by all
processes) and a few seconds in the process on top of that. The Redis format is ours,
not the API's.
"""

from __future__ import annotations

import json
import time

from redis import Redis

from bot.communities.models import Community, CommunityList

__all__ = [
    "COMMUNITIES_CACHE_PREFIX",
    "COMMUNITIES_CACHE_SECONDS",
    "LOCAL_CACHE_SECONDS",
    "MISS_REFRESH_SECONDS",
    "CommunityCache",
]

COMMUNITIES_CACHE_PREFIX = "communities:list:"
COMMUNITIES_CACHE_SECONDS = 300
LOCAL_CACHE_SECONDS = 5.0
# An unknown ID triggers at most one fresh GET /communities per this many seconds, so a
# community Coolblue just added shows up without letting typos hammer the API.
MISS_REFRESH_SECONDS = 30


class CommunityCache:
    """One client's cached community list; `namespace` tells clients and environments apart."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self.key = COMMUNITIES_CACHE_PREFIX + namespace
        self._local: tuple[float, CommunityList | None] = (0.0, None)

    def __repr__(self) -> str:
        return f"CommunityCache(key={self.key!r})"

    def get(self) -> CommunityList | None:
        """The cached list, or None when there is none (or it is unreadable)."""
        held_until, held = self._local
        if held is not None and time.monotonic() < held_until:
            return held
        raw = self._redis.get(self.key)
        listed = _load(raw) if isinstance(raw, str | bytes) else None
        self._local = (time.monotonic() + LOCAL_CACHE_SECONDS, listed)
        return listed

    def put(self, listed: CommunityList) -> None:
        self._redis.set(self.key, _dump(listed), ex=COMMUNITIES_CACHE_SECONDS)
        self._local = (time.monotonic() + LOCAL_CACHE_SECONDS, listed)

    def may_refresh_on_miss(self) -> bool:
        """True at most once per MISS_REFRESH_SECONDS across all processes."""
        return bool(
            self._redis.set(self.key + ":miss-refresh", "1", nx=True, ex=MISS_REFRESH_SECONDS)
        )


def _dump(listed: CommunityList) -> str:
    return json.dumps(
        {
            "communities": [[c.id, c.name] for c in listed.communities],
            "correlation_id": listed.correlation_id,
        }
    )


def _load(raw: str | bytes) -> CommunityList | None:
    try:
        data = json.loads(raw)
        communities = tuple(Community(str(i), str(n)) for i, n in data["communities"])
        return CommunityList(communities, str(data["correlation_id"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable cache entry: fetch again
