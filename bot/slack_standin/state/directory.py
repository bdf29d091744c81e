"""Users, user groups and conversations: who is there, and which channel IDs exist."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping

from bot.slack_standin.state.models import StandInUser
from bot.slack_standin.state.shared import Shared


class Directory:
    """The workspace's people and groups (set up front; groups may change at runtime), and
    the bot's DM channels, opened on first use like Slack's IMs."""

    def __init__(
        self,
        shared: Shared,
        users: Iterable[StandInUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        channels: Mapping[str, str] | None = None,
    ) -> None:
        self._shared = shared
        self._users = {user.id: user for user in users}
        self._initial_usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        # With no channel list, any C…/G… ID counts as an existing channel (handy for tests).
        self._known_channels = dict(channels) if channels is not None else None
        self.clear()

    def clear(self) -> None:
        """User groups back to how they were configured; DMs forgotten. Users stay."""
        with self._shared.lock:
            self._usergroups = copy.deepcopy(self._initial_usergroups)
            self._dm_by_user: dict[str, str] = {}
            self._dm_owner: dict[str, str] = {}

    @property
    def users(self) -> list[StandInUser]:
        with self._shared.lock:
            return list(self._users.values())

    def user(self, user_id: str) -> StandInUser | None:
        with self._shared.lock:
            return self._users.get(user_id)

    def set_locale(self, user_id: str, locale: str) -> None:
        """The person changes their Slack language (`nl-NL`, `en-GB`)."""
        with self._shared.lock:
            self._users[user_id] = dataclasses.replace(self._users[user_id], locale=locale)

    def user_by_email(self, email: str) -> StandInUser | None:
        with self._shared.lock:
            wanted = email.strip().casefold()
            return next((u for u in self._users.values() if u.email.casefold() == wanted), None)

    def usergroup(self, usergroup_id: str) -> list[str] | None:
        with self._shared.lock:
            members = self._usergroups.get(usergroup_id)
            return None if members is None else list(members)

    def set_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        with self._shared.lock:
            self._usergroups[usergroup_id] = list(members)
            self._shared.notify()

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with this user, created on first use like Slack's IM."""
        with self._shared.lock:
            if user_id not in self._dm_by_user:
                channel = "D" + user_id[1:]
                if channel in self._dm_owner:  # U0X and W0X would collide; fall back to a counter
                    channel = self._shared.next_id("D0DM")
                self._dm_by_user[user_id] = channel
                self._dm_owner[channel] = user_id
                self._shared.notify()
            return self._dm_by_user[user_id]

    def resolve_channel(self, channel: str) -> str | None:
        """The conversation ID for a channel/DM ID, or a user ID meaning the DM with that user;
        None when Slack would say channel_not_found."""
        with self._shared.lock:
            if channel[:1] in ("U", "W"):
                return self.dm_channel(channel) if channel in self._users else None
            if channel.startswith("D"):
                return channel if channel in self._dm_owner else None
            if channel[:1] in ("C", "G"):
                known = self._known_channels
                return channel if known is None or channel in known else None
            return None

    def channel_name(self, channel: str) -> str:
        with self._shared.lock:
            if channel in self._dm_owner:
                return "directmessage"
            return (self._known_channels or {}).get(channel, channel.lower())
