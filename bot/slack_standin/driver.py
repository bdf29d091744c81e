"""The driver plays Slack towards the bot: it sends what Slack would send when a person types a
slash command, clicks a button, submits a modal or opens App Home, and applies the bot's
answers to the stand-in the way the Slack client would.

Two transports, one result: over HTTP (`transport="http"`) each payload is a signed request
in Slack's documented shape (slash commands form-encoded; interactions as `payload=<json>`;
events as JSON; signed with `v0=HMAC-SHA256(v0:{ts}:{body})`), and the HTTP answer is the
result. In Socket Mode (`transport="socket"`) the same payload goes to the bot as an
envelope over the stand-in's WebSocket (socket_mode.py), and the ack's payload is the
result, in the same `DriverResult` shape, so a test does not care which mode runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.slack_standin.blocks import (
    build_state_values,
    client_side_problems,
    find_button,
    text_of,
)
from bot.slack_standin.server import SlackStandIn
from bot.slack_standin.socket_mode import EnvelopeType
from bot.slack_standin.state import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    SlackError,
    StandInUser,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

Transport = Literal["http", "socket"]


@dataclass
class DriverResult:
    """The bot's answer to one request, and what the driver made of it. In Socket Mode an
    ack is status 200 with its payload as `json` (and `body`); no ack in time is status 0
    with `error="no_ack"`."""

    status_code: int
    elapsed: float  # seconds until the bot answered (Slack gives up after 3)
    body: str
    json: Any | None
    errors: dict[str, str] | None = None  # view submission: field errors by block_id
    view: dict[str, Any] | None = None  # view submission: the modal now on top, if any
    sent: bool = True  # False when the Slack client itself refused (client_checks)
    error: str | None = None  # a response_action Slack would refuse (e.g. a bad view)
    trigger_id: str | None = None
    response_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.sent and self.status_code == 200


@dataclass(frozen=True)
class PreparedCommand:
    body: bytes
    headers: dict[str, str]
    timestamp: str
    trigger_id: str
    response_url: str
    form: dict[str, str]  # the same fields: a Socket Mode envelope's payload


class SlackDriver:
    def __init__(
        self,
        standin: SlackStandIn,
        bot_url: str,
        signing_secret: str,
        team_id: str = TEAM_ID,
        timeout: float = 10.0,
        transport: Transport = "http",
    ) -> None:
        """`bot_url` and `signing_secret` serve HTTP (and `send`, which is HTTP only);
        `transport="socket"` needs Socket Mode on in the stand-in (an app token)."""
        if transport == "socket" and not standin.socket_mode.enabled:
            raise ValueError("transport='socket' needs the stand-in's Socket Mode enabled")
        self.standin = standin
        self.bot_url = bot_url
        self.team_id = team_id
        self.transport = transport
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # What a person does

    def command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/community",
        channel_id: str | None = None,
    ) -> DriverResult:
        """Type `/command text` in a channel (default: the user's DM with the app). A reply in
        the ack shows up like Slack shows it: ephemeral, or in the channel for in_channel."""
        prepared = self.prepare_command(user_id, text, command, channel_id)
        if self.transport == "socket":
            result = self._over_socket("slash_commands", dict(prepared.form))
        else:
            result = self.send(
                prepared.body,
                FORM,
                timestamp=prepared.timestamp,
                signature=prepared.headers["X-Slack-Signature"],
            )
        return self.command_answered(prepared, result)

    def prepare_command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/community",
        channel_id: str | None = None,
    ) -> PreparedCommand:
        """The signed slash-command request, ready for any HTTP client to send (the
        benchmarks send it from other processes); `command_answered` records the answer."""
        user = self._user(user_id)
        channel = channel_id or self.standin.directory.dm_channel(user_id)
        response_url = self.standin.response_urls.issue(user_id, channel)
        trigger_id = self.standin.views.issue_trigger(user_id)
        form = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel,
            "channel_name": self.standin.directory.channel_name(channel),
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        body = urlencode(form).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self.sign(body, stamp),
        }
        return PreparedCommand(body, headers, stamp, trigger_id, response_url, form)

    def command_answered(self, prepared: PreparedCommand, result: DriverResult) -> DriverResult:
        result.trigger_id, result.response_url = prepared.trigger_id, prepared.response_url
        self._show_command_ack(result, prepared.response_url)
        return result

    def click(
        self,
        user_id: str,
        label: str,
        channel: str,
        ts: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> DriverResult:
        """Click the button labelled `label` (or with that action_id) in the message's current
        blocks, so a click on a button that an update removed fails like it would on screen."""
        message = self.standin.conversations.message(channel, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        return self.click_as_shown(
            user_id, label, message.channel, message.to_slack(), value=value, block_id=block_id
        )

    def click_as_shown(
        self,
        user_id: str,
        label: str,
        channel: str,
        shown: Mapping[str, Any],
        value: str | None = None,
        block_id: str | None = None,
    ) -> DriverResult:
        """Click a button on a message as a client showed it (`Message.to_slack()` taken
        earlier): a stale screen, or many people clicking the same message at once."""
        block, button = find_button(shown["blocks"], label, value=value, block_id=block_id)
        return self._message_click(
            user_id, channel, shown["ts"], block, button, message=dict(shown)
        )

    def click_ephemeral(
        self,
        user_id: str,
        label: str,
        ts: str | None = None,
        value: str | None = None,
        block_id: str | None = None,
    ) -> DriverResult:
        """Click a button in an ephemeral message shown to the user (default: the latest one).
        Slack sends no `message` for these; replies go through the response_url."""
        shown = self.standin.conversations.ephemerals(user_id)
        chosen = [e for e in shown if e["ts"] == ts] if ts else shown[-1:]
        if not chosen:
            raise LookupError(f"no ephemeral message {ts or ''} for {user_id}")
        ephemeral = chosen[0]
        block, button = find_button(ephemeral["blocks"], label, value=value, block_id=block_id)
        return self._message_click(user_id, ephemeral["channel"], ephemeral["ts"], block, button)

    def _message_click(
        self,
        user_id: str,
        channel: str,
        ts: str,
        block: Mapping[str, Any],
        button: Mapping[str, Any],
        message: dict[str, Any] | None = None,
    ) -> DriverResult:
        """block_actions for a message button; `message` is None for an ephemeral one."""
        trigger_id = self.standin.views.issue_trigger(user_id)
        response_url = self.standin.response_urls.issue(
            user_id, channel, message_ts=ts, ephemeral=message is None
        )
        payload = {
            **self._interaction("block_actions", user_id, trigger_id),
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": message is None,
            },
            "channel": {"id": channel, "name": self.standin.directory.channel_name(channel)},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [self._action(block, button)],
        }
        if message is not None:
            payload["message"] = message
        result = self._send_payload(payload)
        result.trigger_id, result.response_url = trigger_id, response_url
        return result

    def click_in_view(
        self,
        user_id: str,
        label: str,
        view_id: str,
        value: str | None = None,
        block_id: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> DriverResult:
        """Click a button in App Home or an open modal. `values` fills the view's inputs first,
        so the click carries them in `view.state` as it would on screen. Slack sends no
        response_url for clicks in views."""
        view = self._visible_view(user_id, view_id)
        if values:
            view["state"] = {"values": self._state_for(user_id, view, values)}
            self.standin.views.set_view_state(view_id, view["state"]["values"])
        block, button = find_button(view["blocks"], label, value=value, block_id=block_id)
        trigger_id = self.standin.views.issue_trigger(user_id)
        payload = {
            **self._interaction("block_actions", user_id, trigger_id),
            "container": {"type": "view", "view_id": view_id},
            "view": view,
            "actions": [self._action(block, button)],
        }
        result = self._send_payload(payload)
        result.trigger_id = trigger_id
        return result

    def fill_and_submit(
        self,
        user_id: str,
        view_id: str | None,
        values: Mapping[str, Any],
        client_checks: bool = False,
    ) -> DriverResult:
        """Fill the open modal (keys: action_id or block_id) and press its submit button.

        Inputs left out keep their initial value, or are empty (None). With `client_checks`,
        empty required fields and malformed e-mails/numbers are refused before sending, as the
        Slack client does; the default sends anything, to test the bot's own validation.
        """
        top = self.standin.views.open_view(user_id)
        if top is None or (view_id is not None and top["id"] != view_id):
            raise LookupError(f"{user_id} is not looking at view {view_id}; top: {_vid(top)}")
        view_id = top["id"]
        state = self._state_for(user_id, top, values)
        self.standin.views.set_view_state(view_id, state)
        if client_checks and (problems := client_side_problems(top["blocks"], state)):
            return DriverResult(0, 0.0, "", None, errors=problems, view=top, sent=False)
        trigger_id = self.standin.views.issue_trigger(user_id)
        payload = {
            **self._interaction("view_submission", user_id, trigger_id),
            "view": {**top, "state": {"values": state}},
            "response_urls": [],
        }
        result = self._send_payload(payload)
        result.trigger_id = trigger_id
        self._apply_submission_answer(user_id, view_id, result)
        return result

    def close_view(self, user_id: str) -> DriverResult | None:
        """Press Cancel on the open modal; Slack tells the bot only if notify_on_close."""
        top = self.standin.views.open_view(user_id)
        if top is None:
            raise LookupError(f"{user_id} has no open modal")
        self.standin.views.close_top_view(user_id)
        if not top.get("notify_on_close"):
            return None
        payload = {
            **self._interaction("view_closed", user_id, None),
            "view": top,
            "is_cleared": False,
        }
        return self._send_payload(payload)

    def open_home(self, user_id: str) -> DriverResult:
        """Open the app's Home tab: an `app_home_opened` event (JSON, like all events)."""
        self._user(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.standin.directory.dm_channel(user_id),
            "tab": "home",
            "event_ts": self.standin.shared.next_ts(),
        }
        home = self.standin.views.home(user_id)
        if home is not None:
            event["view"] = home
        return self._send_event(event)

    def run_step(
        self, user_id: str, callback_id: str, inputs: Mapping[str, Any]
    ) -> tuple[str, DriverResult]:
        """A workflow reaches one of the app's steps (a `function` in manifest.yml), run by
        `user_id`: the stand-in starts an execution and sends `function_executed` as Slack
        does (an event: JSON over HTTP, signed; an events_api envelope in Socket Mode).
        Returns the execution ID and the bot's answer."""
        self._user(user_id)
        execution = self.standin.functions.start(callback_id, dict(inputs))
        spec = self.standin.functions.declared[callback_id]

        def listed(kind: str) -> list[dict[str, Any]]:
            return [{"name": name, **param} for name, param in (spec.get(kind) or {}).items()]

        event: dict[str, Any] = {
            "type": "function_executed",
            "function": {
                "id": f"Fn{callback_id.upper()[:10]}",
                "callback_id": callback_id,
                "title": spec.get("title", callback_id),
                "description": spec.get("description", ""),
                "type": "app",
                "input_parameters": listed("input_parameters"),
                "output_parameters": listed("output_parameters"),
                "app_id": APP_ID,
                "date_created": 1_700_000_000,
                "date_updated": 1_700_000_000,
                "date_deleted": 0,
            },
            "inputs": dict(inputs),
            "function_execution_id": execution.execution_id,
            "workflow_execution_id": f"Wx{execution.execution_id[2:]}",
            "event_ts": self.standin.shared.next_ts(),
            "bot_access_token": execution.token,
        }
        return execution.execution_id, self._send_event(event)

    def _send_event(self, event: dict[str, Any]) -> DriverResult:
        """An Events API event, wrapped as Slack wraps every one."""
        number = self.standin.shared.next_number("event")
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{number:08d}",
            "event_time": int(float(event["event_ts"])),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        if self.transport == "socket":
            return self._over_socket("events_api", envelope)
        return self.send(json.dumps(envelope).encode(), JSON)

    def last_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal the user is looking at (top of the stack)."""
        return self.standin.views.open_view(user_id)

    # -----------------------------------------------------------------------------------------
    # The wire

    def send(
        self,
        body: bytes,
        content_type: str,
        timestamp: str | int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> DriverResult:
        """POST a raw body to the bot over HTTP, whatever the transport. Signed correctly
        unless `signature` is given; an old `timestamp` (still correctly signed) tests replay
        protection."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or self.sign(body, stamp),
            **(headers or {}),
        }
        started = time.perf_counter()
        response = self._http.post(self.bot_url, content=body, headers=sent_headers)
        elapsed = time.perf_counter() - started
        return DriverResult(response.status_code, elapsed, response.text, _parse_json(response))

    def sign(self, body: bytes, timestamp: str) -> str:
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        assert signature is not None  # only None without a signing secret
        return signature

    def _send_payload(self, payload: Mapping[str, Any]) -> DriverResult:
        if self.transport == "socket":
            return self._over_socket("interactive", dict(payload))
        return self.send(urlencode({"payload": json.dumps(payload)}).encode(), FORM)

    def _over_socket(self, kind: EnvelopeType, payload: dict[str, Any]) -> DriverResult:
        """Hand the payload to the bot as a Socket Mode envelope; the ack is the answer."""
        ack = self.standin.socket_mode.deliver(
            kind, payload, timeout=self.timeout, connect_timeout=self.timeout
        )
        if ack is None:
            return DriverResult(0, self.timeout, "", None, error="no_ack")
        body = json.dumps(ack.payload) if ack.payload is not None else ""
        return DriverResult(200, ack.elapsed, body, ack.payload)

    # -----------------------------------------------------------------------------------------
    # Payload pieces

    def _user(self, user_id: str) -> StandInUser:
        user = self.standin.directory.user(user_id)
        if user is None:
            raise LookupError(f"unknown user {user_id}; add it to the stand-in first")
        return user

    def _interaction(self, kind: str, user_id: str, trigger_id: str | None) -> dict[str, Any]:
        """Fields every interaction payload carries."""
        user = self._user(user_id)
        fields: dict[str, Any] = {
            "type": kind,
            "user": {
                "id": user.id,
                "username": user.name,
                "name": user.name,
                "team_id": self.team_id,
            },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if trigger_id:
            fields["trigger_id"] = trigger_id
        return fields

    def _action(self, block: Mapping[str, Any], button: Mapping[str, Any]) -> dict[str, Any]:
        action = {
            "action_id": button["action_id"],
            "block_id": block["block_id"],
            "text": button.get("text") or {"type": "plain_text", "text": ""},
            "type": "button",
            "action_ts": self.standin.shared.next_ts(),
        }
        for optional in ("value", "style", "url"):
            if optional in button:
                action[optional] = button[optional]
        return action

    def _visible_view(self, user_id: str, view_id: str) -> dict[str, Any]:
        view = self.standin.views.view(view_id)
        if view is None or self.standin.views.view_owner(view_id) != user_id:
            raise LookupError(f"{user_id} has no view {view_id}")
        if not self.standin.views.is_view_open(view_id):
            raise LookupError(f"view {view_id} ({text_of(view.get('title'))}) is closed")
        return view

    def _state_for(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        return build_state_values(
            view["blocks"], values, upload=lambda given: self._attach(user_id, given)
        )

    def _attach(self, user_id: str, given: Any) -> list[dict[str, Any]]:
        """Files a person picks in a file_input: `bytes`, `(filename, bytes)`, a
        `{"filename", "content"}` dict, a path (`pathlib.Path`), or a list of these. They
        are stored in the stand-in, so the bot can fetch `url_private` with its token as it
        would from Slack. A dict with `url_private` sends that link instead (a forged or
        odd file object, for tests of what the bot fetches)."""
        items = given if isinstance(given, list) else [given]
        files = []
        for item in items:
            filename, content = _file_parts(item)
            file_id = self.standin.uploads.add_file(user_id, filename, content)
            shared = self.standin.uploads.file(file_id)
            assert shared is not None
            sent = shared.to_slack()
            if isinstance(item, Mapping) and item.get("url_private"):
                sent["url_private"] = sent["url_private_download"] = str(item["url_private"])
            files.append(sent)
        return files

    # -----------------------------------------------------------------------------------------
    # Applying the bot's answers

    def _show_command_ack(self, result: DriverResult, response_url: str) -> None:
        """A slash command's ack may carry a reply; Slack shows it like a response_url reply."""
        if result.status_code != 200 or not result.body.strip():
            return
        payload = result.json if isinstance(result.json, dict) else {"text": result.body}
        if payload.get("text") or payload.get("blocks"):
            url_id = response_url.rsplit("/", 1)[-1]
            self.standin.response_urls.record(url_id, payload, via="ack")

    def _apply_submission_answer(self, user_id: str, view_id: str, result: DriverResult) -> None:
        """Slack keeps the modal open when the bot fails or is slow; otherwise it follows the
        response_action, and an empty 200 closes the modal."""
        if result.status_code == 200:
            answer = result.json if isinstance(result.json, dict) else {}
            try:
                result.errors = self.standin.views.apply_response_action(user_id, view_id, answer)
            except SlackError as error:
                result.error = error.error
        result.view = self.standin.views.open_view(user_id)


def _parse_json(response: httpx.Response) -> Any | None:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _file_parts(item: Any) -> tuple[str, bytes]:
    if isinstance(item, bytes):
        return "upload.csv", item
    if isinstance(item, os.PathLike):  # a file on disk, as a person picks one
        path = Path(item)
        return path.name, path.read_bytes()
    if isinstance(item, tuple):
        name, content = item
        return str(name), content if isinstance(content, bytes) else str(content).encode()
    if isinstance(item, Mapping):
        content = item.get("content", b"")
        data = content if isinstance(content, bytes) else str(content).encode()
        return str(item.get("filename", "upload.csv")), data
    raise TypeError(f"a file is bytes, (filename, bytes) or a dict, not {type(item).__name__}")


def _vid(view: Mapping[str, Any] | None) -> str:
    return "none" if view is None else str(view["id"])
