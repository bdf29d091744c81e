"""Who may do what. Roles are granted to Slack user IDs and user-group IDs.

Group membership comes from a resolver the Slack layer provides (usergroups.users.list)
and is cached for a few minutes in a cache every process shares (Redis, through the
GroupCache port), so an admin manages access in Slack itself and every process sees the
same answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum

from bot.domain.ports import GroupCache


class Role(StrEnum):
    HR = "hr"
    MANAGER = "manager"
    SUPPORT = "support"
    ADMIN = "admin"


GroupResolver = Callable[[str], list[str]]
LOCAL_SECONDS = 5.0


class RoleDirectory:
    def __init__(
        self,
        grants: Mapping[Role, Iterable[str]],
        cache: GroupCache,
        resolve_group: GroupResolver,
        cache_seconds: int = 300,
    ) -> None:
        self.grants = {role: tuple(ids) for role, ids in grants.items()}
        self.cache = cache
        self.resolve_group = resolve_group
        self.cache_seconds = cache_seconds
        self._local: dict[str, tuple[float, frozenset[str]]] = {}

    def roles_of(self, user_id: str) -> frozenset[Role]:
        roles = {role for role, ids in self.grants.items() if self._grants_user(ids, user_id)}
        if Role.ADMIN in roles:
            roles.update(Role)  # admins may do everything the others may
        return frozenset(roles)

    def has(self, user_id: str, *allowed: Role) -> bool:
        return bool(self.roles_of(user_id) & set(allowed))

    def _grants_user(self, ids: tuple[str, ...], user_id: str) -> bool:
        if user_id in ids:
            return True
        return any(user_id in self.group_members(group) for group in ids if group[0] == "S")

    def group_members(self, group_id: str) -> frozenset[str]:
        # Every command and click asks; a few seconds in this process spares Redis a round
        # trip on the ack path, the shared Redis copy spares Slack's API.
        held_until, held = self._local.get(group_id, (0.0, frozenset()))
        if time.monotonic() < held_until:
            return held
        cached = self.cache.get(group_id)
        if cached is not None:
            members = frozenset(cached)
        else:
            members = frozenset(self.resolve_group(group_id))
            if self.cache_seconds:
                self.cache.put(group_id, sorted(members), self.cache_seconds)
        if self.cache_seconds:
            self._local[group_id] = (
                time.monotonic() + min(LOCAL_SECONDS, self.cache_seconds),
                members,
            )
        return members

    def users_with(self, role: Role) -> set[str]:
        """Every user holding `role` directly or through a group (for reminders)."""
        users: set[str] = set()
        for granted in (self.grants.get(role, ()), self.grants.get(Role.ADMIN, ())):
            for item in granted:
                users.update(self.group_members(item) if item[0] == "S" else {item})
        return users
