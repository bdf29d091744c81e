"""Slack users' e-mail addresses, cached in Redis (used to stop employees approving
requests about themselves)."""

from __future__ import annotations

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.storage import keys


class UserDirectory:
    def __init__(self, client: WebClient, cache: redis.Redis, ttl_seconds: int = 600) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl_seconds

    def email_of(self, user_id: str) -> str:
        key = keys.user_email(user_id)
        cached = self.cache.get(key)
        if cached is not None:
            return str(cached)
        try:
            profile = self.client.users_info(user=user_id)["user"].get("profile", {})
        except SlackApiError:
            return ""
        email = str(profile.get("email") or "").lower()
        self.cache.set(key, email, ex=self.ttl)
        return email

    def members_of(self, group_id: str) -> list[str]:
        reply = self.client.usergroups_users_list(usergroup=group_id)
        return list(reply.get("users") or [])
