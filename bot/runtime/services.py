"""The objects every entry point shares, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.communities import CommunitiesClient
from bot.runtime.settings import Settings
from bot.domain.approvals import RequestService
from bot.domain.policy import Policy
from bot.domain.roles import RoleDirectory
from bot.domain.store import RequestStore
from bot.slack.notifier import SlackNotifier
from bot.slack.users import UserDirectory


@dataclass
class Services:
    settings: Settings
    redis: redis.Redis
    store: RequestStore
    roles: RoleDirectory
    requests: RequestService
    notifier: SlackNotifier
    users: UserDirectory
    api: CommunitiesClient
    policy: Policy

    def __deepcopy__(self, memo: dict[int, object]) -> Services:
        # Bolt deep-copies the request context for lazy listeners; the services are shared,
        # thread-safe and must stay one instance (connection pools, caches).
        return self

    @property
    def environment(self) -> str:
        return self.settings.environment_label
