"""What Slack knows about people: their e-mail addresses (so nobody decides a request about
themselves) and user-group members (roles), cached in Redis.

Group membership for the ack path lives in `QuickRoles`: it answers from the cache only and
refreshes off the ack path, so an ack never waits on usergroups.users.list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.ports import GroupCache
from bot.domain.roles import Role, RoleDirectory
from bot.storage import keys

log = logging.getLogger("bot.slack.users")

UNKNOWN = ""  # an e-mail address we could not learn: deciding is refused (fail closed)


class UserDirectory:
    """E-mail addresses and locales from users.info, cached in Redis for `ttl_seconds`.

    Addresses are also remembered in the process until their Redis copy expires: the ack of
    a modal's submission needs the filer's address (bot.domain.access), and the command that
    opened the modal has just learnt it here, so the ack makes no Redis round trip for it
    (one of its two; under 20 submissions at once, its p99 was 35-44 ms with it, 29-44
    without)."""

    REMEMBERED_AT_MOST = 10_000  # addresses; beyond that the process starts afresh

    def __init__(self, client: WebClient, cache: redis.Redis, ttl_seconds: int = 600) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl_seconds
        self._known: dict[str, tuple[str, float]] = {}  # user -> (address, monotonic end)

    def email_of(self, user_id: str) -> str:
        """The user's e-mail address from Slack's profile (cached), or UNKNOWN when Slack
        would not say: an error, a rate limit after the client's retries, no address in the
        profile. UNKNOWN is not cached, so the next click asks again."""
        cached = self.cached_email_of(user_id)
        if cached != UNKNOWN:
            return cached
        return self._fetch(user_id)[0]

    def locale_of(self, user_id: str) -> str:
        """The user's Slack locale (`nl-NL`, `en-US`): cached, else from users.info with
        `include_locale` (one call also learns the e-mail address). "" when Slack would not
        say: the reader gets English, and the next request asks again."""
        return self.cached_locale_of(user_id) or self._fetch(user_id)[1]

    def cached_locale_of(self, user_id: str) -> str:
        """The cached locale only, never a Slack call (for the ack path); "" if none."""
        try:
            cached = self.cache.get(keys.user_locale(user_id))
        except redis.RedisError:  # an outage: the ack (often an error reply) goes on in English
            return ""
        return str(cached) if cached else ""

    def _fetch(self, user_id: str) -> tuple[str, str]:
        """(e-mail address, locale) from users.info, each cached when Slack gave it."""
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"] or {}
        except (SlackClientError, OSError) as error:
            code = error.response.get("error") if isinstance(error, SlackApiError) else None
            log.warning("users.info failed for %s: %s", user_id, code or type(error).__name__)
            return UNKNOWN, ""
        email = str((user.get("profile") or {}).get("email") or "").strip().lower()
        locale = str(user.get("locale") or "").strip()
        with self.cache.pipeline(transaction=False) as pipe:
            if email:
                pipe.set(keys.user_email(user_id), email, ex=self.ttl)
            if locale:
                pipe.set(keys.user_locale(user_id), locale, ex=self.ttl)
            pipe.execute()
        if email:  # only once Redis has it: nothing is known here that is not there
            self._remember(user_id, email, self.ttl)
        else:
            log.warning("users.info for %s has no e-mail address (users:read.email?)", user_id)
        return email, locale

    def cached_email_of(self, user_id: str) -> str:
        """The cached address only, never a Slack call (for the ack path); UNKNOWN if none."""
        known = self._known.get(user_id)
        if known is not None and time.monotonic() < known[1]:
            return known[0]
        with self.cache.pipeline(transaction=False) as pipe:
            pipe.get(keys.user_email(user_id)).pttl(keys.user_email(user_id))
            cached, left_ms = pipe.execute()
        if not cached:
            return UNKNOWN
        self._remember(user_id, str(cached), left_ms / 1000)
        return str(cached)

    def _remember(self, user_id: str, email: str, seconds: float) -> None:
        """Until the Redis copy expires, so no address is older here than there."""
        if seconds <= 0:  # no expiry (-1) or already gone (-2): not ours to keep
            return
        if len(self._known) >= self.REMEMBERED_AT_MOST:
            self._known.clear()
        self._known[user_id] = (email, time.monotonic() + seconds)

    def members_of(self, group_id: str) -> list[str]:
        reply = self.client.usergroups_users_list(usergroup=group_id)
        return list(reply.get("users") or [])


class MembershipUnknown(Exception):
    """A user group's members are not in the cache, so roles cannot be told without asking
    Slack; a refresh has been started off the ack path."""


class QuickRoles:
    """Roles on the ack path: the same grants and the same shared cache as `roles`, but a
    group missing from the cache raises MembershipUnknown instead of calling Slack. Every
    group is refreshed in the background when first seen, when missing and when its copy is
    half its lifetime old, so the cache stays warm and acks keep answering from it."""

    def __init__(self, roles: RoleDirectory, refresher: Executor) -> None:
        self._roles = roles
        self._refresher = refresher
        self._lock = threading.Lock()
        self._fetched: dict[str, float] = {}  # group -> when this process last fetched it
        self._running: set[str] = set()
        self._quick = RoleDirectory(
            {}, _Watched(roles.cache, self._seen), self._missing, roles.cache_seconds
        )
        self._quick.grants = roles.grants  # one dict: grants changed at run time apply here too

    def roles_of(self, user_id: str) -> frozenset[Role]:
        return self._quick.roles_of(user_id)

    def has(self, user_id: str, *allowed: Role) -> bool:
        return self._quick.has(user_id, *allowed)

    def warm(self) -> None:
        """Fetch every granted group now, in the background (at start-up)."""
        for ids in self._roles.grants.values():
            for group_id in ids:
                if group_id.startswith("S"):
                    self._refresh_soon(group_id)

    def _missing(self, group_id: str) -> list[str]:
        self._refresh_soon(group_id)
        raise MembershipUnknown(group_id)

    def _seen(self, group_id: str) -> None:
        fetched = self._fetched.get(group_id)
        if fetched is None or time.monotonic() - fetched > self._roles.cache_seconds / 2:
            self._refresh_soon(group_id)

    def _refresh_soon(self, group_id: str) -> None:
        with self._lock:
            if group_id in self._running:
                return
            self._running.add(group_id)
        self._refresher.submit(self._refresh, group_id)

    def _refresh(self, group_id: str) -> None:
        try:
            members = sorted(set(self._roles.resolve_group(group_id)))
            if self._roles.cache_seconds:
                self._roles.cache.put(group_id, members, self._roles.cache_seconds)
            self._fetched[group_id] = time.monotonic()
        except Exception as error:  # the next ack tries again; the lazy path asks itself
            log.warning("refreshing user group %s failed: %s", group_id, type(error).__name__)
        finally:
            with self._lock:
                self._running.discard(group_id)


class _Watched:
    """The shared group cache, telling QuickRoles which groups the ack path reads."""

    def __init__(self, cache: GroupCache, seen: Callable[[str], None]) -> None:
        self._cache = cache
        self._seen = seen

    def get(self, group_id: str) -> list[str] | None:
        members = self._cache.get(group_id)
        if members is not None:
            self._seen(group_id)
        return members

    def put(self, group_id: str, members: Sequence[str], ttl_seconds: int) -> None:
        self._cache.put(group_id, members, ttl_seconds)
