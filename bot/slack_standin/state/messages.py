"""Messages in channels and DMs, and ephemeral messages only one person sees."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.slack_standin.blocks import normalise_blocks
from bot.slack_standin.state.directory import Directory
from bot.slack_standin.state.models import Message, SlackError
from bot.slack_standin.state.shared import Shared


class Conversations:
    """What was posted where. Readers get copies: a test holding a `Message` sees it as it
    was when it asked, never a half-applied update from another thread."""

    def __init__(self, shared: Shared, directory: Directory) -> None:
        self._shared = shared
        self._directory = directory
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._messages: dict[str, list[Message]] = {}
            self._ephemerals: dict[str, list[dict[str, Any]]] = {}

    # Messages -------------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        with self._shared.lock:
            message.blocks = normalise_blocks(message.blocks)
            message.versions = [message.snapshot()]
            self._messages.setdefault(message.channel, []).append(message)
            self._shared.notify()
            return copy.deepcopy(message)

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def edit_message(self, channel: str, ts: str, changes: Mapping[str, Any]) -> Message:
        """Change text/blocks/metadata of a message in place and add a version."""
        with self._shared.lock:
            message = self._find(channel, ts)
            if message is None:
                raise SlackError("message_not_found")
            if "text" in changes:
                message.text = changes["text"] or ""
            if "blocks" in changes:
                message.blocks = normalise_blocks(changes["blocks"])
            if "metadata" in changes:
                message.metadata = changes["metadata"]
            message.versions.append(message.snapshot())
            self._shared.notify()
            return copy.deepcopy(message)

    def delete_message(self, channel: str, ts: str) -> None:
        with self._shared.lock:
            message = self._find(channel, ts)
            if message is None:
                raise SlackError("message_not_found")
            self._messages[channel].remove(message)
            self._shared.notify()

    def messages(self, channel: str) -> list[Message]:
        """Messages in a channel (thread replies included), oldest first. A user ID means the
        DM with that user."""
        with self._shared.lock:
            resolved = self._directory.resolve_channel(channel) or channel
            return copy.deepcopy(self._messages.get(resolved, []))

    def message(self, channel: str, ts: str) -> Message | None:
        with self._shared.lock:
            found = self._find(self._directory.resolve_channel(channel) or channel, ts)
            return copy.deepcopy(found)

    def last_message(self, channel: str) -> Message | None:
        found = self.messages(channel)
        return found[-1] if found else None

    def dms(self, user_id: str) -> list[Message]:
        """Messages the bot posted in its DM with this user."""
        return self.messages(self._directory.dm_channel(user_id))

    # Ephemeral messages ---------------------------------------------------------------------

    def add_ephemeral(
        self, user_id: str, channel: str, payload: Mapping[str, Any], source: str
    ) -> str:
        """Record an only-visible-to-you message; returns its message_ts."""
        with self._shared.lock:
            ephemeral = {
                "ts": self._shared.next_ts(),
                "channel": channel,
                "user": user_id,
                "text": payload.get("text") or "",
                "blocks": normalise_blocks(payload.get("blocks")),
                "source": source,
                "deleted": False,
            }
            self._ephemerals.setdefault(user_id, []).append(ephemeral)
            self._shared.notify()
            return str(ephemeral["ts"])

    def _find_ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        return next((e for e in self._ephemerals.get(user_id, []) if e["ts"] == ts), None)

    def ephemerals(self, user_id: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Ephemeral messages shown to this user, in order: chat.postEphemeral, slash-command
        replies and ephemeral response_url replies. Each has ts, channel, text, blocks, source."""
        with self._shared.lock:
            shown = self._ephemerals.get(user_id, [])
            return copy.deepcopy([e for e in shown if include_deleted or not e["deleted"]])

    def ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        with self._shared.lock:
            return copy.deepcopy(self._find_ephemeral(user_id, ts))

    def delete_ephemeral(self, user_id: str, ts: str) -> None:
        """Take it off the user's screen (it stays listed with `include_deleted`)."""
        with self._shared.lock:
            shown = self._find_ephemeral(user_id, ts)
            if shown is not None:
                shown["deleted"] = True
                self._shared.notify()

    def replace_ephemeral(self, user_id: str, ts: str, text: str, blocks: Any) -> None:
        with self._shared.lock:
            shown = self._find_ephemeral(user_id, ts)
            if shown is not None:
                shown.update(text=text, blocks=normalise_blocks(blocks))
                self._shared.notify()
