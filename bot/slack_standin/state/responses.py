"""response_urls: issued to the bot with each command and click, and what its replies do."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.slack_standin.state.messages import Conversations
from bot.slack_standin.state.models import Message, ResponseTarget, SlackError, truthy
from bot.slack_standin.state.shared import Shared

MAX_USES = 5  # a response_url accepts five replies


class ResponseUrls:
    def __init__(self, shared: Shared, conversations: Conversations) -> None:
        self._shared = shared
        self._conversations = conversations
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._responses: list[dict[str, Any]] = []
            self._targets: dict[str, ResponseTarget] = {}

    def issue(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A fresh response_url served by the stand-in, bound to who acted and where."""
        if not self._shared.base_url:
            raise RuntimeError("start the stand-in before issuing response URLs")
        with self._shared.lock:
            url_id = self._shared.next_id("R")
            self._targets[url_id] = ResponseTarget(user_id, channel_id, message_ts, ephemeral)
            return f"{self._shared.base_url}/response/{url_id}"

    def target(self, url_id: str) -> ResponseTarget | None:
        with self._shared.lock:
            found = self._targets.get(url_id)
            return None if found is None else replace(found)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Every response_url reply (and slash-command ack reply), in order, each with the
        `user` and `channel` it belongs to."""
        with self._shared.lock:
            return copy.deepcopy(self._responses)

    def record(self, url_id: str, payload: Mapping[str, Any], via: str) -> None:
        """Apply a reply sent to a response_url (or in a command's ack) the way Slack would:
        delete or replace the original, post in the channel, or show it ephemerally."""
        with self._shared.lock:
            target = self._targets.get(url_id)
            if target is None:
                raise SlackError("no_such_response_url", status=404)
            if via == "response_url":  # a command's ack reply is not one of the five uses
                target.uses += 1
            self._responses.append(
                {
                    "url_id": url_id,
                    "via": via,
                    "user": target.user_id,
                    "channel": target.channel_id,
                    **copy.deepcopy(dict(payload)),
                }
            )
            self._apply(target, payload)
            self._shared.notify()

    def _apply(self, target: ResponseTarget, payload: Mapping[str, Any]) -> None:
        original = target.message_ts or target.last_reply_ts
        original_is_ephemeral = target.ephemeral or target.message_ts is None
        conversations = self._conversations
        if payload.get("delete_original") and original:
            if original_is_ephemeral:
                conversations.delete_ephemeral(target.user_id, original)
            else:
                conversations.delete_message(target.channel_id, original)
        elif truthy(payload.get("replace_original")) and original:
            # Slack replaces text and blocks together: leaving blocks out removes them.
            text, blocks = payload.get("text") or "", payload.get("blocks") or []
            if original_is_ephemeral:
                conversations.replace_ephemeral(target.user_id, original, text, blocks)
            else:
                conversations.edit_message(
                    target.channel_id, original, {"text": text, "blocks": blocks}
                )
        elif payload.get("response_type") == "in_channel":
            conversations.add_message(
                Message(
                    target.channel_id,
                    self._shared.next_ts(),
                    payload.get("text") or "",
                    list(payload.get("blocks") or []),
                    None,
                    payload.get("thread_ts"),
                )
            )
        else:
            ts = conversations.add_ephemeral(
                target.user_id, target.channel_id, payload, "response_url"
            )
            if target.message_ts is None:
                target.last_reply_ts = ts
