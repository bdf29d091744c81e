"""What the stand-in records: users, messages, files and calls, shaped as Slack shows them."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0001"
TEAM_DOMAIN = "standin"
APP_ID = "A0STANDIN"
VERIFICATION_TOKEN = "standin-verification-token"  # legacy field Slack still sends; unchecked


class SlackError(Exception):
    """A Web API failure: becomes `{"ok": false, "error": ...}` with `status`."""

    def __init__(
        self, error: str, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}


@dataclass(frozen=True)
class StandInUser:
    id: str
    name: str
    real_name: str = ""
    email: str = ""
    tz: str = "Europe/Amsterdam"
    is_bot: bool = False
    deleted: bool = False
    locale: str = "en-US"  # the language the person set in Slack

    def to_slack(self, *, include_locale: bool = False) -> dict[str, Any]:
        """The `user` object of users.info (`locale` only when asked, as Slack does)."""
        real_name = self.real_name or self.name
        extra = {"locale": self.locale} if include_locale else {}
        return extra | {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": real_name,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": real_name,
                "display_name": self.name,
                "email": self.email,
                "team": TEAM_ID,
            },
        }


@dataclass(frozen=True)
class Call:
    """One Web API call as the bot made it (token left out)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)


@dataclass
class Message:
    """A message in a channel or DM. `versions` lists every version in order, the current one
    last, so a test can see what a message looked like before chat.update changed it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    thread_ts: str | None
    user: str = BOT_USER_ID
    versions: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy({"text": self.text, "blocks": self.blocks, "metadata": self.metadata})

    def to_slack(self) -> dict[str, Any]:
        """The message object Slack returns from chat.postMessage and puts in block_actions."""
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": TEAM_ID,
            "blocks": copy.deepcopy(self.blocks),
        }
        if self.user == BOT_USER_ID:
            message.update(bot_id=BOT_ID, app_id=APP_ID)
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.metadata:
            message["metadata"] = copy.deepcopy(self.metadata)
        if len(self.versions) > 1:
            message["edited"] = {"user": self.user, "ts": self.ts}
        if self.files:
            message["files"] = [{"id": file_id} for file_id in self.files]
        return message


@dataclass
class SharedFile:
    id: str
    filename: str
    title: str
    content: bytes
    user: str
    url_private: str
    mimetype: str = "text/plain"
    channels: list[str] = field(default_factory=list)
    initial_comment: str = ""
    thread_ts: str | None = None

    def to_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filename.rsplit(".", 1)[-1] if "." in self.filename else "text",
            "size": len(self.content),
            "user": self.user,
            "url_private": self.url_private,
            "url_private_download": self.url_private,
            "channels": [c for c in self.channels if c.startswith("C")],
            "groups": [c for c in self.channels if c.startswith("G")],
            "ims": [c for c in self.channels if c.startswith("D")],
        }


@dataclass
class ResponseTarget:
    """Where a response_url's replies go: the user who acted and, for clicks, the message."""

    user_id: str
    channel_id: str
    message_ts: str | None = None  # the message that was clicked, if any
    ephemeral: bool = False  # the clicked message is an ephemeral one
    uses: int = 0
    last_reply_ts: str | None = None  # a command's last ephemeral reply (replace_original)


def truthy(value: Any) -> bool:
    """A flag as Slack reads it from JSON or a form: true, "true", "1"..."""
    return value in (True, "true", "True", "1", 1)
