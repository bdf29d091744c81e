"""The Slack Web API stand-in: an HTTP server answering slack_sdk's WebClient on loopback.

Routes (all under `api_url`'s host):
- `POST|GET /api/<method>` : Web API methods, form-encoded, JSON or query-string arguments
- `POST /upload/<file_id>` : the upload URL handed out by files.getUploadURLExternal
- `POST /response/<id>`    : response_urls issued to the bot by the driver
- `GET  /files/<id>/<name>`: `url_private` of files (bot token required, as in Slack)

Replies are shaped like Slack's: `{"ok": true, ...}` or `{"ok": false, "error": "..."}`.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from bot.slack_standin.blocks import MAX_VIEW_BLOCKS, block_problems, normalise_blocks
from bot.slack_standin.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Message,
    SlackError,
    StandInState,
    StandInUser,
)

# Arguments that arrive as JSON strings in form-encoded bodies.
_JSON_ARGS = ("blocks", "view", "metadata", "files", "attachments", "channels")
_MAX_TEXT = 40_000  # chat.postMessage: longer text fails with msg_too_long
_MAX_VIEW_STACK = 3  # views.push: Slack allows three modals on top of each other
_MAX_RESPONSES = 5  # a response_url accepts five replies


@dataclass
class HttpReply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(payload: Mapping[str, Any], status: int = 200, **headers: str) -> HttpReply:
    return HttpReply(status, json.dumps(payload).encode(), headers=dict(headers))


class SlackStandIn(StandInState):
    """A local Slack: start it, point a WebClient at `api_url`, read what the bot did."""

    def __init__(
        self,
        users: Iterable[StandInUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        bot_token: str = "xoxb-standin",
        host: str = "127.0.0.1",
        port: int = 0,
        channels: Mapping[str, str] | None = None,
        trigger_ttl: float | None = None,
    ) -> None:
        super().__init__(users, usergroups, channels, trigger_ttl)
        self.bot_token = bot_token
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -----------------------------------------------------------------------------------------
    # Lifecycle

    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(self._address, _Handler)
        server.daemon_threads = True  # a hung keep-alive connection must not block stop()
        server.standin = self  # type: ignore[attr-defined]
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)`; slack_sdk needs the trailing slash."""
        if not self.base_url:
            raise RuntimeError("the stand-in is not started")
        return f"{self.base_url}/api/"

    # -----------------------------------------------------------------------------------------
    # HTTP routing

    def handle_http(
        self, verb: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpReply:
        route, _, rest = path.lstrip("/").partition("/")
        if route == "api" and rest:
            return self._handle_api(rest, query, headers, body)
        if route == "upload" and verb == "POST":
            return self._handle_upload(rest, headers, body)
        if route == "response" and verb == "POST":
            return self._handle_response(rest, body)
        if route == "files" and verb == "GET":
            return self._handle_download(rest, headers)
        return HttpReply(404, b"not found", "text/plain")

    def _handle_api(
        self, method: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpReply:
        args = _parse_args(query, headers.get("Content-Type", ""), body)
        token = _bearer(headers.get("Authorization", "")) or str(args.pop("token", ""))
        args.pop("token", None)
        try:
            reply = self._call(method, token, args)
        except SlackError as error:
            self.record_call(method, args, error.error)
            return _json_reply({"ok": False, "error": error.error}, error.status, **error.headers)
        self.record_call(method, args, None)
        return _json_reply({"ok": True, **reply})

    def _call(self, method: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = _METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        if not token:
            raise SlackError("not_authed")
        if token != self.bot_token:
            raise SlackError("invalid_auth")
        failure = self.take_failure(method)
        if failure is not None:
            raise failure
        with self._lock:  # one method call is one atomic change of the world
            return handler(self, args)

    def _handle_upload(self, file_id: str, headers: Mapping[str, str], body: bytes) -> HttpReply:
        content = _multipart_file(headers.get("Content-Type", ""), body)
        try:
            self.set_file_content(file_id, body if content is None else content)
        except SlackError:
            return HttpReply(404, b"file_not_found", "text/plain")
        return HttpReply(200, f"OK - {len(body)}".encode(), "text/plain")

    def _handle_response(self, url_id: str, body: bytes) -> HttpReply:
        target = self.response_target(url_id)
        if target is None:
            return HttpReply(404, b"no_such_response_url", "text/plain")
        if target.uses >= _MAX_RESPONSES:
            return HttpReply(404, b"used_url", "text/plain")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return HttpReply(400, b"invalid_payload", "text/plain")
        try:
            self.record_response(url_id, payload, via="response_url")
        except SlackError as error:
            return HttpReply(404, error.error.encode(), "text/plain")
        return HttpReply(200, b"ok", "text/html")

    def _handle_download(self, rest: str, headers: Mapping[str, str]) -> HttpReply:
        if _bearer(headers.get("Authorization", "")) != self.bot_token:
            # Slack answers an HTML login page rather than an error for private files.
            return HttpReply(302, b"", "text/html", {"Location": f"{self.base_url}/login"})
        shared = self.file(rest.partition("/")[0])
        if shared is None:
            return HttpReply(404, b"file_not_found", "text/plain")
        return HttpReply(200, shared.content, shared.mimetype)

    # -----------------------------------------------------------------------------------------
    # Web API methods. Each takes the parsed arguments and returns the reply's extra fields
    # or raises SlackError; `_call` holds the lock around them.

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Stand-in workspace",
            "user": "community-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        self._check_message_content(args)
        message = self.add_message(
            Message(
                channel,
                self.next_ts(),
                args.get("text") or "",
                args.get("blocks") or [],
                _metadata(args.get("metadata")),
                args.get("thread_ts") or None,
            )
        )
        return {"channel": channel, "ts": message.ts, "message": message.to_slack()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        self._check_message_content(args, update=True)
        # Slack keeps what the update leaves out: text, blocks and metadata alike.
        changes = {k: args[k] for k in ("text", "blocks") if k in args}
        if "metadata" in args:
            changes["metadata"] = _metadata(args["metadata"])
        message = self.edit_message(channel, str(args.get("ts", "")), changes)
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_slack(),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        self.delete_message(channel, str(args.get("ts", "")))
        return {"channel": channel, "ts": args.get("ts")}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        user_id = str(args.get("user", ""))
        if self.user(user_id) is None:
            raise SlackError("user_not_found")
        self._check_message_content(args)
        ts = self.add_ephemeral(user_id, channel, args, "chat.postEphemeral")
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        ts = str(args.get("message_ts", ""))
        if self.message(channel, ts) is None:
            raise SlackError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": self._channel_arg(args)}}
        users = [u.strip() for u in str(args.get("users", "")).split(",") if u.strip()]
        if len(users) != 1:
            # Group DMs are not part of what the bot does; say so plainly.
            raise SlackError("not_supported_by_standin" if users else "users_list_not_supplied")
        if self.user(users[0]) is None:
            raise SlackError("user_not_found")
        channel = self.dm_channel(users[0])
        if _truthy(args.get("return_im")):
            return {"channel": {"id": channel, "is_im": True, "user": users[0]}}
        return {"channel": {"id": channel}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.user(str(args.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_slack()}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.user_by_email(str(args.get("email", "")))
        if user is None:
            raise SlackError("users_not_found")
        return {"user": user.to_slack()}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = self.usergroup(str(args.get("usergroup", "")))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"users": members}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self.use_trigger(str(args.get("trigger_id", "")))
        view = self._new_view(args.get("view"), user_id, kind="modal")
        self.push_view(user_id, view["id"], replace_stack=True)
        return {"view": view}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self.use_trigger(str(args.get("trigger_id", "")))
        if self.stack_depth(user_id) >= _MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        stack = self.view_stack(user_id)
        previous = stack[-1] if stack else None
        view = self._new_view(args.get("view"), user_id, kind="modal", previous=previous)
        self.push_view(user_id, view["id"])
        return {"view": view}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "") or self._view_by_external_id(args)
        current = self.view(view_id)
        if current is None or not self.is_view_open(view_id):
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        owner = self.view_owner(view_id) or ""
        view = self._new_view(args.get("view"), owner, kind=current["type"], keep=current)
        return {"view": view}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id", ""))
        if self.user(user_id) is None:
            raise SlackError("user_not_found")
        current_id = self.home_view_id(user_id)
        current = self.view(current_id) if current_id else None
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._new_view(args.get("view"), user_id, kind="home", keep=current)
        self.set_home(user_id, view["id"])
        return {"view": view}

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        if not filename or not str(args.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = self.add_file(BOT_USER_ID, filename)
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = None
        if args.get("channel_id"):
            channel = self._conversation_arg(str(args["channel_id"]))
        if any(self.file(str(f.get("id"))) is None for f in files):
            raise SlackError("file_not_found")
        shared = [
            self.share_file(
                str(f["id"]),
                str(f.get("title") or ""),
                channel,
                str(args.get("initial_comment") or ""),
                args.get("thread_ts"),
            )
            for f in files
        ]
        return {"files": [f.to_slack() for f in shared]}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        shared = self.file(str(args.get("file", "")))
        if shared is None:
            raise SlackError("file_not_found")
        return {"file": shared.to_slack()}

    # -----------------------------------------------------------------------------------------
    # What Slack does with the bot's answer to a view submission (called by the driver)

    def apply_response_action(
        self, user_id: str, view_id: str, ack: Mapping[str, Any]
    ) -> dict[str, str] | None:
        """Apply `response_action`; returns the field errors for "errors" (the modal stays).
        No response_action closes the submitted modal, as an empty 200 does in Slack."""
        action = ack.get("response_action")
        with self._lock:
            if action == "errors":
                return {str(k): str(v) for k, v in dict(ack.get("errors") or {}).items()}
            if action == "update":
                self._new_view(ack.get("view"), user_id, kind="modal", keep=self.view(view_id))
            elif action == "push":
                if self.stack_depth(user_id) >= _MAX_VIEW_STACK:
                    raise SlackError("push_limit_reached")
                view = self._new_view(
                    ack.get("view"), user_id, kind="modal", previous=self.view(view_id)
                )
                self.push_view(user_id, view["id"])
            elif action == "clear":
                self.clear_views(user_id)
            else:
                self.close_top_view(user_id)
            return None

    # -----------------------------------------------------------------------------------------
    # Helpers for the methods

    def _channel_arg(self, args: Mapping[str, Any]) -> str:
        channel = str(args.get("channel") or "")
        resolved = self.resolve_channel(channel) if channel else None
        if resolved is None:
            raise SlackError("channel_not_found")
        return resolved

    def _conversation_arg(self, channel: str) -> str:
        """A conversation ID proper: unlike chat.postMessage, file sharing takes no user IDs."""
        resolved = self.resolve_channel(channel) if channel[:1] not in ("U", "W") else None
        if resolved is None:
            raise SlackError("channel_not_found")
        return resolved

    def _check_message_content(self, args: Mapping[str, Any], update: bool = False) -> None:
        if not update and not args.get("text") and not args.get("blocks"):
            raise SlackError("no_text")
        if len(str(args.get("text") or "")) > _MAX_TEXT:
            raise SlackError("msg_too_long")
        if "blocks" in args and block_problems(args["blocks"] or []):
            raise SlackError("invalid_blocks")
        metadata = _metadata(args.get("metadata"))
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")):
            raise SlackError("invalid_metadata_format")

    def _view_by_external_id(self, args: Mapping[str, Any]) -> str:
        external_id = args.get("external_id")
        if not external_id:
            raise SlackError("not_found")
        found = [v for v in self.views.values() if v.get("external_id") == external_id]
        return found[-1]["id"] if found else ""

    def _new_view(
        self,
        spec: Any,
        user_id: str,
        *,
        kind: str,
        previous: Mapping[str, Any] | None = None,
        keep: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build and store the Slack view object. `keep` is the view being updated (its ID and
        position stay); `previous` is the modal a pushed view sits on."""
        _check_view_spec(spec, kind)
        view_id = keep["id"] if keep else self.next_id("V0", width=6)
        root = (keep or previous or {}).get("root_view_id") or view_id
        number = self.next_number("hash")
        view = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": kind,
            "blocks": normalise_blocks(spec.get("blocks")),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{1_700_000_000 + number}.standin{number:04d}",
            "title": spec.get("title"),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "external_id": spec.get("external_id", ""),
            "previous_view_id": (keep or {}).get("previous_view_id") or (previous or {}).get("id"),
            "root_view_id": root,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return self.store_view(view, user_id)


def _check_view_spec(spec: Any, kind: str) -> None:
    """Refuse views Slack would refuse, with Slack's error name."""
    if not isinstance(spec, dict) or spec.get("type") != kind:
        raise SlackError("invalid_arguments")
    if kind == "modal" and not spec.get("title"):
        raise SlackError("invalid_arguments")
    if block_problems(spec.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS):
        raise SlackError("invalid_arguments")
    if len(str(spec.get("private_metadata", ""))) > 3000:
        raise SlackError("invalid_arguments")
    for key in ("title", "submit", "close"):
        if spec.get(key) and len(str(spec[key].get("text", ""))) > 24:
            raise SlackError("invalid_arguments")


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackStandIn._auth_test,
    "chat.postMessage": SlackStandIn._chat_post_message,
    "chat.update": SlackStandIn._chat_update,
    "chat.delete": SlackStandIn._chat_delete,
    "chat.postEphemeral": SlackStandIn._chat_post_ephemeral,
    "chat.getPermalink": SlackStandIn._chat_get_permalink,
    "conversations.open": SlackStandIn._conversations_open,
    "users.info": SlackStandIn._users_info,
    "users.lookupByEmail": SlackStandIn._users_lookup_by_email,
    "usergroups.users.list": SlackStandIn._usergroups_users_list,
    "views.open": SlackStandIn._views_open,
    "views.push": SlackStandIn._views_push,
    "views.update": SlackStandIn._views_update,
    "views.publish": SlackStandIn._views_publish,
    "files.getUploadURLExternal": SlackStandIn._files_get_upload_url_external,
    "files.completeUploadExternal": SlackStandIn._files_complete_upload_external,
    "files.info": SlackStandIn._files_info,
}


# ---------------------------------------------------------------------------------------------
# Request parsing


def _parse_args(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Arguments from the query string and a form or JSON body. In form bodies, structured
    arguments (blocks, view, metadata, files) are JSON strings; decode them like Slack does."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if "json" in content_type:
        parsed = json.loads(body or b"{}")
        args.update(parsed if isinstance(parsed, dict) else {})
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
            # A malformed value stays a string; the method then refuses it as Slack would.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _metadata(raw: Any) -> Any:
    """Message metadata as stored (`{event_type, event_payload}`), None when absent. Anything
    else is returned as is, for `_check_message_content` to refuse."""
    return None if raw in (None, "", {}) else raw


def _truthy(value: Any) -> bool:
    return value in (True, "true", "True", "1", 1)


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    """The file part of a multipart upload; None when the body is the raw bytes (slack_sdk)."""
    if not content_type.startswith("multipart/form-data"):
        return None
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        if part.get_filename():
            return part.get_payload(decode=True)  # type: ignore[no-any-return]
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so every reply carries Content-Length
    # Headers and body are two writes: with Nagle on, the body would wait for the client's
    # delayed ACK (~40 ms a reply on a kept-alive connection).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the name http.server looks for
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        standin: SlackStandIn = self.server.standin  # type: ignore[attr-defined]
        try:
            reply = standin.handle_http(self.command, path, query, self.headers, body)
        except Exception as error:  # noqa: BLE001 - a stand-in bug must reach the caller
            reply = _json_reply({"ok": False, "error": f"standin_error: {error!r}"}, 500)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the recorded calls are the log."""
