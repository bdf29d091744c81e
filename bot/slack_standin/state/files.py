"""Files: uploads by the bot (files_upload_v2) and files people attach in a file_input."""

from __future__ import annotations

import copy

from bot.slack_standin.state.directory import Directory
from bot.slack_standin.state.messages import Conversations
from bot.slack_standin.state.models import Message, SharedFile, SlackError
from bot.slack_standin.state.shared import Shared


class Uploads:
    def __init__(self, shared: Shared, directory: Directory, conversations: Conversations) -> None:
        self._shared = shared
        self._directory = directory
        self._conversations = conversations
        self.clear()

    def clear(self) -> None:
        with self._shared.lock:
            self._files: dict[str, SharedFile] = {}
            self._downloads: list[tuple[str, bool]] = []
            # Seconds a download of `url_private` takes (a slow Slack), for tests of the
            # bot's time limit on fetching an attached file.
            self.download_delay = 0.0

    def record_download(self, file_id: str, authorized: bool) -> None:
        """A GET of a file's `url_private`, with the bot token or without."""
        with self._shared.lock:
            self._downloads.append((file_id, authorized))
            self._shared.notify()

    def downloads(self, file_id: str | None = None) -> list[tuple[str, bool]]:
        """(file ID, with the bot token?) of every GET of a `url_private`, in order."""
        with self._shared.lock:
            return [d for d in self._downloads if file_id is None or d[0] == file_id]

    def add_file(self, user_id: str, filename: str, content: bytes = b"", title: str = "") -> str:
        """Register a file (an upload in progress, or one a person attaches); returns its ID."""
        with self._shared.lock:
            file_id = self._shared.next_id("F0")
            self._files[file_id] = SharedFile(
                id=file_id,
                filename=filename,
                title=title or filename,
                content=content,
                user=user_id,
                url_private=f"{self._shared.base_url}/files/{file_id}/{filename}",
                mimetype=_mimetype(filename),
            )
            self._shared.notify()
            return file_id

    def file(self, file_id: str) -> SharedFile | None:
        with self._shared.lock:
            return copy.deepcopy(self._files.get(file_id))

    def set_file_content(self, file_id: str, content: bytes) -> None:
        with self._shared.lock:
            if file_id not in self._files:
                raise SlackError("file_not_found", status=404)
            self._files[file_id].content = content
            self._shared.notify()

    def share_file(
        self, file_id: str, title: str, channel: str | None, comment: str, thread_ts: str | None
    ) -> SharedFile:
        """Complete an upload: the file gets its title and, with a channel, a message there."""
        with self._shared.lock:
            shared = self._files[file_id]
            shared.title = title or shared.filename
            shared.initial_comment = comment
            shared.thread_ts = thread_ts
            if channel:
                shared.channels.append(channel)
                message = Message(channel, self._shared.next_ts(), comment, [], None, thread_ts)
                message.files = [file_id]
                self._conversations.add_message(message)
            self._shared.notify()
            return copy.deepcopy(shared)

    def files(self, channel: str | None = None) -> list[SharedFile]:
        """Files shared into a conversation (any conversation when `channel` is None)."""
        with self._shared.lock:
            resolved = None
            if channel is not None:
                resolved = self._directory.resolve_channel(channel) or channel
            shared = [f for f in self._files.values() if f.channels]
            if resolved is not None:
                shared = [f for f in shared if resolved in f.channels]
            return copy.deepcopy(shared)


def _mimetype(filename: str) -> str:
    known = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}
    return known.get(filename.rsplit(".", 1)[-1].lower(), "text/plain")
