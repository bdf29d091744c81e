"""The stand-in's world: everything Slack would remember, recorded under one lock.

`StandInState` holds users, channels, messages, views, files and every Web API call, and offers
the read helpers tests and the local console use. Each change wakes `wait_for`, because the bot
answers many interactions asynchronously, after it has already acknowledged the HTTP request.

Read helpers return copies: a test that holds a `Message` sees the message as it was when it
asked, never a half-applied update from another thread.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from bot.slack_standin.blocks import normalise_blocks

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0001"
TEAM_DOMAIN = "standin"
APP_ID = "A0STANDIN"
VERIFICATION_TOKEN = "standin-verification-token"  # legacy field Slack still sends; unchecked

# ts values look like Slack's ("1700000000.000100") and only ever grow.
_TS_EPOCH = 1_700_000_000
_TS_STEP = 100  # microseconds between two consecutive ts values

T = TypeVar("T")


class SlackError(Exception):
    """A Web API failure: becomes `{"ok": false, "error": ...}` with `status`."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None):
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

    def to_slack(self) -> dict[str, Any]:
        """The `user` object of users.info."""
        real_name = self.real_name or self.name
        return {
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


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class _Failure:
    error: str
    count: int
    status: int
    retry_after: int


class StandInState:
    """Users, conversations, messages, views and files, plus the record of every call."""

    def __init__(
        self,
        users: Iterable[StandInUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        channels: Mapping[str, str] | None = None,
        trigger_ttl: float | None = None,
    ) -> None:
        # One re-entrant lock for everything; the condition wakes `wait_for` on every change.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._users = {user.id: user for user in users}
        self._initial_usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        # With no channel list, any C…/G… ID counts as an existing channel (handy for tests).
        self._known_channels = dict(channels) if channels is not None else None
        self.trigger_ttl = trigger_ttl  # Slack's is 3 s; None keeps slow test machines happy
        self.base_url = ""  # set by the server once it knows its port
        self._clear()

    def _clear(self) -> None:
        self._counters: dict[str, int] = {}
        self._usergroups = copy.deepcopy(self._initial_usergroups)
        self._calls: list[Call] = []
        self._messages: dict[str, list[Message]] = {}
        self._dm_by_user: dict[str, str] = {}
        self._dm_owner: dict[str, str] = {}
        self._ephemerals: dict[str, list[dict[str, Any]]] = {}
        self._responses: list[dict[str, Any]] = []
        self._response_targets: dict[str, ResponseTarget] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._view_owner: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._files: dict[str, SharedFile] = {}
        self._failures: dict[str, _Failure] = {}

    # -----------------------------------------------------------------------------------------
    # Set-up and control

    def reset(self) -> None:
        """Forget everything recorded (calls, messages, views, files, failures) and restart the
        counters; users stay, user groups go back to how they were configured."""
        with self._lock:
            self._clear()
            self._notify()

    def add_user(self, user: StandInUser) -> None:
        with self._lock:
            self._users[user.id] = user
            self._notify()

    def set_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        with self._lock:
            self._usergroups[usergroup_id] = list(members)
            self._notify()

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        count: int = 1,
        status: int | None = None,
        retry_after: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` fail. `ratelimited` answers HTTP 429 with
        Retry-After, as Slack does; other errors answer 200 with ok false unless `status`."""
        default_status = 429 if error == "ratelimited" else 200
        with self._lock:
            self._failures[method] = _Failure(error, count, status or default_status, retry_after)

    def take_failure(self, method: str) -> SlackError | None:
        """The injected failure for this call, if one is pending (used by the server)."""
        with self._lock:
            failure = self._failures.get(method)
            if failure is None:
                return None
            failure.count -= 1
            if failure.count <= 0:
                del self._failures[method]
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return SlackError(failure.error, status=failure.status, headers=headers)

    # -----------------------------------------------------------------------------------------
    # Waiting

    def _notify(self) -> None:
        self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, description: str = ""
    ) -> T:
        """Wait until `predicate()` is truthy and return its value. The predicate runs with the
        lock held and again after every recorded change; TimeoutError names what was awaited
        and the last calls, which is usually enough to see why it never happened."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(predicate, timeout, description))
                self._changed.wait(remaining)

    def _timeout_message(self, predicate: Callable[[], Any], timeout: float, what: str) -> str:
        name = what or getattr(predicate, "__name__", "condition")
        recent = [
            f"{c.method}({', '.join(sorted(c.args))})" + ("" if c.ok else f" -> {c.error}")
            for c in self._calls[-8:]
        ]
        return f"{name} not met within {timeout}s; last Web API calls: {recent or 'none'}"

    # -----------------------------------------------------------------------------------------
    # IDs and timestamps (deterministic, so transcripts are stable)

    def next_number(self, kind: str) -> int:
        with self._lock:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            return self._counters[kind]

    def next_ts(self) -> str:
        micros = self.next_number("ts") * _TS_STEP
        return f"{_TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str, width: int = 4) -> str:
        return f"{prefix}{self.next_number(prefix):0{width}d}"

    # -----------------------------------------------------------------------------------------
    # Calls

    def record_call(self, method: str, args: Mapping[str, Any], error: str | None) -> None:
        with self._lock:
            self._calls.append(Call(method, copy.deepcopy(dict(args)), error is None, error))
            self._notify()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    # -----------------------------------------------------------------------------------------
    # Users and conversations

    def user(self, user_id: str) -> StandInUser | None:
        with self._lock:
            return self._users.get(user_id)

    @property
    def users(self) -> list[StandInUser]:
        with self._lock:
            return list(self._users.values())

    def user_by_email(self, email: str) -> StandInUser | None:
        with self._lock:
            wanted = email.strip().casefold()
            return next((u for u in self._users.values() if u.email.casefold() == wanted), None)

    def usergroup(self, usergroup_id: str) -> list[str] | None:
        with self._lock:
            members = self._usergroups.get(usergroup_id)
            return None if members is None else list(members)

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with this user, created on first use like Slack's IM."""
        with self._lock:
            if user_id not in self._dm_by_user:
                channel = "D" + user_id[1:]
                if channel in self._dm_owner:  # U0X and W0X would collide; fall back to a counter
                    channel = self.next_id("D0DM")
                self._dm_by_user[user_id] = channel
                self._dm_owner[channel] = user_id
                self._notify()
            return self._dm_by_user[user_id]

    def dm_owner(self, channel: str) -> str | None:
        with self._lock:
            return self._dm_owner.get(channel)

    def resolve_channel(self, channel: str) -> str | None:
        """The conversation ID for a channel/DM ID, or a user ID meaning the DM with that user;
        None when Slack would say channel_not_found."""
        with self._lock:
            if channel[:1] in ("U", "W"):
                return self.dm_channel(channel) if channel in self._users else None
            if channel.startswith("D"):
                return channel if channel in self._dm_owner else None
            if channel[:1] in ("C", "G"):
                known = self._known_channels
                return channel if known is None or channel in known else None
            return None

    def channel_name(self, channel: str) -> str:
        with self._lock:
            if channel in self._dm_owner:
                return "directmessage"
            return (self._known_channels or {}).get(channel, channel.lower())

    # -----------------------------------------------------------------------------------------
    # Messages

    def add_message(self, message: Message) -> Message:
        with self._lock:
            message.blocks = normalise_blocks(message.blocks)
            message.versions = [message.snapshot()]
            self._messages.setdefault(message.channel, []).append(message)
            self._notify()
            return message

    def _find_message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def edit_message(self, channel: str, ts: str, changes: Mapping[str, Any]) -> Message:
        """Change text/blocks/metadata of a message in place and add a version."""
        with self._lock:
            message = self._find_message(channel, ts)
            if message is None:
                raise SlackError("message_not_found")
            if "text" in changes:
                message.text = changes["text"] or ""
            if "blocks" in changes:
                message.blocks = normalise_blocks(changes["blocks"])
            if "metadata" in changes:
                message.metadata = changes["metadata"]
            message.versions.append(message.snapshot())
            self._notify()
            return copy.deepcopy(message)

    def delete_message(self, channel: str, ts: str) -> None:
        with self._lock:
            message = self._find_message(channel, ts)
            if message is None:
                raise SlackError("message_not_found")
            self._messages[channel].remove(message)
            self._notify()

    def messages(self, channel: str) -> list[Message]:
        """Messages in a channel (thread replies included), oldest first. A user ID means the
        DM with that user."""
        with self._lock:
            resolved = self.resolve_channel(channel) or channel
            return copy.deepcopy(self._messages.get(resolved, []))

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            found = self._find_message(self.resolve_channel(channel) or channel, ts)
            return copy.deepcopy(found)

    def last_message(self, channel: str) -> Message | None:
        found = self.messages(channel)
        return found[-1] if found else None

    def dms(self, user_id: str) -> list[Message]:
        """Messages the bot posted in its DM with this user."""
        return self.messages(self.dm_channel(user_id))

    # -----------------------------------------------------------------------------------------
    # Ephemeral messages and response_url replies

    def add_ephemeral(self, user_id: str, channel: str, payload: Mapping[str, Any], source: str):
        """Record an only-visible-to-you message; returns its message_ts."""
        with self._lock:
            ephemeral = {
                "ts": self.next_ts(),
                "channel": channel,
                "user": user_id,
                "text": payload.get("text") or "",
                "blocks": normalise_blocks(payload.get("blocks")),
                "source": source,
                "deleted": False,
            }
            self._ephemerals.setdefault(user_id, []).append(ephemeral)
            self._notify()
            return ephemeral["ts"]

    def _find_ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        return next((e for e in self._ephemerals.get(user_id, []) if e["ts"] == ts), None)

    def ephemerals(self, user_id: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Ephemeral messages shown to this user, in order: chat.postEphemeral, slash-command
        replies and ephemeral response_url replies. Each has ts, channel, text, blocks, source."""
        with self._lock:
            shown = self._ephemerals.get(user_id, [])
            return copy.deepcopy([e for e in shown if include_deleted or not e["deleted"]])

    def ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._find_ephemeral(user_id, ts))

    def issue_response_url(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> str:
        """A fresh response_url served by the stand-in, bound to who acted and where."""
        if not self.base_url:
            raise RuntimeError("start the stand-in before issuing response URLs")
        with self._lock:
            url_id = self.next_id("R")
            self._response_targets[url_id] = ResponseTarget(
                user_id, channel_id, message_ts, ephemeral
            )
            return f"{self.base_url}/response/{url_id}"

    def response_target(self, url_id: str) -> ResponseTarget | None:
        with self._lock:
            target = self._response_targets.get(url_id)
            return None if target is None else replace(target)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Every response_url reply (and slash-command ack reply), in order, each with the
        `user` and `channel` it belongs to."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def record_response(self, url_id: str, payload: Mapping[str, Any], via: str) -> None:
        """Apply a reply sent to a response_url (or in a command's ack) the way Slack would:
        delete or replace the original, post in the channel, or show it ephemerally."""
        with self._lock:
            target = self._response_targets.get(url_id)
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
            self._apply_response(target, payload)
            self._notify()

    def _apply_response(self, target: ResponseTarget, payload: Mapping[str, Any]) -> None:
        original = target.message_ts or target.last_reply_ts
        original_is_ephemeral = target.ephemeral or target.message_ts is None
        if payload.get("delete_original") and original:
            self._delete_original(target, original, original_is_ephemeral)
        elif _truthy(payload.get("replace_original")) and original:
            self._replace_original(target, original, original_is_ephemeral, payload)
        elif payload.get("response_type") == "in_channel":
            self.add_message(
                Message(
                    target.channel_id,
                    self.next_ts(),
                    payload.get("text") or "",
                    list(payload.get("blocks") or []),
                    None,
                    payload.get("thread_ts"),
                )
            )
        else:
            ts = self.add_ephemeral(target.user_id, target.channel_id, payload, "response_url")
            if target.message_ts is None:
                target.last_reply_ts = ts

    def _delete_original(self, target: ResponseTarget, ts: str, ephemeral: bool) -> None:
        if ephemeral:
            shown = self._find_ephemeral(target.user_id, ts)
            if shown is not None:
                shown["deleted"] = True
        else:
            self.delete_message(target.channel_id, ts)

    def _replace_original(
        self, target: ResponseTarget, ts: str, ephemeral: bool, payload: Mapping[str, Any]
    ) -> None:
        # Slack replaces text and blocks together: leaving blocks out removes them.
        changes = {"text": payload.get("text") or "", "blocks": payload.get("blocks") or []}
        if not ephemeral:
            self.edit_message(target.channel_id, ts, changes)
            return
        shown = self._find_ephemeral(target.user_id, ts)
        if shown is not None:
            shown.update(text=changes["text"], blocks=normalise_blocks(changes["blocks"]))

    # -----------------------------------------------------------------------------------------
    # Triggers and views

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id as Slack puts in interactions; views.open/push accept it once."""
        with self._lock:
            number = self.next_number("trigger")
            trigger_id = f"{number}.{TEAM_ID}.standin{number:04d}"
            self._triggers[trigger_id] = _Trigger(user_id, time.monotonic())
            return trigger_id

    def use_trigger(self, trigger_id: str) -> str:
        """The user a trigger belongs to; it cannot be used again."""
        with self._lock:
            trigger = self._triggers.get(trigger_id or "")
            if trigger is None:
                raise SlackError("invalid_trigger_id")
            if trigger.used:
                raise SlackError("trigger_exchanged")
            age = time.monotonic() - trigger.issued_at
            if self.trigger_ttl is not None and age > self.trigger_ttl:
                raise SlackError("expired_trigger_id")
            trigger.used = True
            return trigger.user_id

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view the bot ever opened or published, by view_id (current content)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def view_owner(self, view_id: str) -> str | None:
        with self._lock:
            return self._view_owner.get(view_id)

    def view_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The user's open modals, bottom first."""
        with self._lock:
            return copy.deepcopy([self._views[v] for v in self._stacks.get(user_id, [])])

    def open_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal the user is looking at (top of the stack), or None."""
        stack = self.view_stack(user_id)
        return stack[-1] if stack else None

    def home(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self._homes.get(user_id)
            return None if view_id is None else copy.deepcopy(self._views[view_id])

    def is_view_open(self, view_id: str) -> bool:
        with self._lock:
            owner = self._view_owner.get(view_id, "")
            return view_id in self._stacks.get(owner, []) or self._homes.get(owner) == view_id

    def store_view(self, view: dict[str, Any], user_id: str) -> dict[str, Any]:
        """Add or replace a view (the server builds the Slack view object)."""
        with self._lock:
            self._views[view["id"]] = view
            self._view_owner[view["id"]] = user_id
            self._notify()
            return copy.deepcopy(view)

    def push_view(self, user_id: str, view_id: str, *, replace_stack: bool = False) -> None:
        with self._lock:
            if replace_stack:
                self._stacks[user_id] = []
            self._stacks.setdefault(user_id, []).append(view_id)
            self._notify()

    def set_home(self, user_id: str, view_id: str) -> None:
        with self._lock:
            self._homes[user_id] = view_id
            self._notify()

    def home_view_id(self, user_id: str) -> str | None:
        with self._lock:
            return self._homes.get(user_id)

    def stack_depth(self, user_id: str) -> int:
        with self._lock:
            return len(self._stacks.get(user_id, []))

    def close_top_view(self, user_id: str) -> str | None:
        """Pop the user's top modal (submitted or cancelled); returns its view_id."""
        with self._lock:
            stack = self._stacks.get(user_id, [])
            view_id = stack.pop() if stack else None
            self._notify()
            return view_id

    def clear_views(self, user_id: str) -> None:
        with self._lock:
            self._stacks[user_id] = []
            self._notify()

    def set_view_state(self, view_id: str, values: dict[str, Any]) -> None:
        """Remember what the person typed, as Slack keeps it in `view.state`."""
        with self._lock:
            self._views[view_id]["state"] = {"values": copy.deepcopy(values)}
            self._notify()

    # -----------------------------------------------------------------------------------------
    # Files

    def add_file(self, user_id: str, filename: str, content: bytes = b"", title: str = "") -> str:
        """Register a file (an upload in progress, or one a person attaches); returns its ID."""
        with self._lock:
            file_id = self.next_id("F0")
            self._files[file_id] = SharedFile(
                id=file_id,
                filename=filename,
                title=title or filename,
                content=content,
                user=user_id,
                url_private=f"{self.base_url}/files/{file_id}/{filename}",
                mimetype=_mimetype(filename),
            )
            self._notify()
            return file_id

    def file(self, file_id: str) -> SharedFile | None:
        with self._lock:
            return copy.deepcopy(self._files.get(file_id))

    def set_file_content(self, file_id: str, content: bytes) -> None:
        with self._lock:
            if file_id not in self._files:
                raise SlackError("file_not_found", status=404)
            self._files[file_id].content = content
            self._notify()

    def share_file(
        self, file_id: str, title: str, channel: str | None, comment: str, thread_ts: str | None
    ) -> SharedFile:
        """Complete an upload: the file gets its title and, with a channel, a message there."""
        with self._lock:
            shared = self._files[file_id]
            shared.title = title or shared.filename
            shared.initial_comment = comment
            shared.thread_ts = thread_ts
            if channel:
                shared.channels.append(channel)
                message = Message(channel, self.next_ts(), comment, [], None, thread_ts)
                message.files = [file_id]
                self.add_message(message)
            self._notify()
            return copy.deepcopy(shared)

    def files(self, channel: str | None = None) -> list[SharedFile]:
        """Files shared into a conversation (any conversation when `channel` is None)."""
        with self._lock:
            resolved = None if channel is None else self.resolve_channel(channel) or channel
            shared = [f for f in self._files.values() if f.channels]
            if resolved is not None:
                shared = [f for f in shared if resolved in f.channels]
            return copy.deepcopy(shared)


def _truthy(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


def _mimetype(filename: str) -> str:
    known = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}
    return known.get(filename.rsplit(".", 1)[-1].lower(), "text/plain")
