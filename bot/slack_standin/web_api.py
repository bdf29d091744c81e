"""The Slack Web API methods the bot uses, answered from the stand-in's stores.

Each method takes the parsed arguments and returns the reply's extra fields, or raises
`SlackError` with Slack's error name; `WebApi.call` checks the token first and holds the
shared lock around the method, so one call is one atomic change of the world.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.slack_standin.blocks import block_problems
from bot.slack_standin.socket_mode import SocketMode
from bot.slack_standin.state import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    CallLog,
    Conversations,
    Directory,
    Functions,
    Message,
    Shared,
    SlackError,
    Uploads,
    Views,
    truthy,
)
from bot.slack_standin.state.views import MAX_STACK

MAX_TEXT = 40_000  # chat.postMessage: longer text fails with msg_too_long

Method = Callable[[dict[str, Any]], dict[str, Any]]


class WebApi:
    def __init__(
        self,
        *,
        shared: Shared,
        directory: Directory,
        conversations: Conversations,
        views: Views,
        uploads: Uploads,
        call_log: CallLog,
        bot_token: str,
        socket_mode: SocketMode | None = None,
        functions: Functions | None = None,
    ) -> None:
        self._functions = functions
        self._shared = shared
        self._directory = directory
        self._conversations = conversations
        self._views = views
        self._uploads = uploads
        self._call_log = call_log
        self._bot_token = bot_token
        self._socket_mode = socket_mode
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
        }
        if functions is not None:  # Workflow Builder steps (state/functions.py)
            self._methods["functions.completeSuccess"] = functions.complete_success
            self._methods["functions.completeError"] = functions.complete_error

    def call(self, method: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
        """Answer one call and record it; raises SlackError (recorded too) to refuse it."""
        try:
            reply = self._answer(method, token, args)
        except SlackError as error:
            self._call_log.record(method, args, error.error)
            raise
        self._call_log.record(method, args, None)
        return reply

    def _answer(self, method: str, token: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        if not token:
            raise SlackError("not_authed")
        if method == "apps.connections.open":
            self._check_app_token(token)
        elif token != self._bot_token:
            # A step execution's own token works until it completes or 15 minutes pass.
            state = self._functions.token_state(token) if self._functions else "unknown"
            if state == "revoked":
                raise SlackError("token_revoked")
            # Slack refuses an app-level token for the methods that take a bot token.
            if state != "valid":
                raise SlackError(
                    "not_allowed_token_type" if token.startswith("xapp-") else "invalid_auth"
                )
        failure = self._call_log.take_failure(method)
        if failure is not None:
            raise failure
        with self._shared.lock:
            return handler(args)

    # auth, chat ----------------------------------------------------------------------------

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

    # apps.connections.open: Socket Mode, with the app-level token ------------------------

    def _check_app_token(self, token: str) -> None:
        if not token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")  # a bot or user token
        app_token = self._socket_mode.app_token if self._socket_mode is not None else None
        if app_token is None or token != app_token:
            raise SlackError("invalid_auth")

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self._socket_mode is not None  # _check_app_token let the call through
        return {"url": self._socket_mode.open_url()}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        _check_message_content(args)
        message = self._conversations.add_message(
            Message(
                channel,
                self._shared.next_ts(),
                args.get("text") or "",
                args.get("blocks") or [],
                _metadata(args.get("metadata")),
                args.get("thread_ts") or None,
            )
        )
        return {"channel": channel, "ts": message.ts, "message": message.to_slack()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        _check_message_content(args, update=True)
        # Slack keeps what the update leaves out: text, blocks and metadata alike.
        changes: dict[str, Any] = {k: args[k] for k in ("text", "blocks") if k in args}
        if "metadata" in args:
            changes["metadata"] = _metadata(args["metadata"])
        message = self._conversations.edit_message(channel, str(args.get("ts", "")), changes)
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_slack(),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        self._conversations.delete_message(channel, str(args.get("ts", "")))
        return {"channel": channel, "ts": args.get("ts")}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        user_id = str(args.get("user", ""))
        if self._directory.user(user_id) is None:
            raise SlackError("user_not_found")
        _check_message_content(args)
        ts = self._conversations.add_ephemeral(user_id, channel, args, "chat.postEphemeral")
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_arg(args)
        ts = str(args.get("message_ts", ""))
        if self._conversations.message(channel, ts) is None:
            raise SlackError("message_not_found")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    # conversations, users ------------------------------------------------------------------

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": self._channel_arg(args)}}
        users = [u.strip() for u in str(args.get("users", "")).split(",") if u.strip()]
        if len(users) != 1:
            # Group DMs are not part of what the bot does; say so plainly.
            raise SlackError("not_supported_by_standin" if users else "users_list_not_supplied")
        if self._directory.user(users[0]) is None:
            raise SlackError("user_not_found")
        channel = self._directory.dm_channel(users[0])
        if truthy(args.get("return_im")):
            return {"channel": {"id": channel, "is_im": True, "user": users[0]}}
        return {"channel": {"id": channel}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._directory.user(str(args.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_slack(include_locale=truthy(args.get("include_locale")))}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._directory.user_by_email(str(args.get("email", "")))
        if user is None:
            raise SlackError("users_not_found")
        return {"user": user.to_slack()}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = self._directory.usergroup(str(args.get("usergroup", "")))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"users": members}

    # views ---------------------------------------------------------------------------------

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._views.use_trigger(str(args.get("trigger_id", "")))
        view = self._views.build(args.get("view"), user_id, kind="modal")
        self._views.push_view(user_id, view["id"], replace_stack=True)
        return {"view": view}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._views.use_trigger(str(args.get("trigger_id", "")))
        if self._views.stack_depth(user_id) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        previous = self._views.open_view(user_id)
        view = self._views.build(args.get("view"), user_id, kind="modal", previous=previous)
        self._views.push_view(user_id, view["id"])
        return {"view": view}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "") or self._view_by_external_id(args)
        current = self._views.view(view_id)
        if current is None or not self._views.is_view_open(view_id):
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        owner = self._views.view_owner(view_id) or ""
        view = self._views.build(args.get("view"), owner, kind=current["type"], keep=current)
        return {"view": view}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id", ""))
        if self._directory.user(user_id) is None:
            raise SlackError("user_not_found")
        current = self._views.home(user_id)
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._views.build(args.get("view"), user_id, kind="home", keep=current)
        self._views.set_home(user_id, view["id"])
        return {"view": view}

    def _view_by_external_id(self, args: Mapping[str, Any]) -> str:
        external_id = args.get("external_id")
        if not external_id:
            raise SlackError("not_found")
        return self._views.by_external_id(str(external_id)) or ""

    # files ---------------------------------------------------------------------------------

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        if not filename or not str(args.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = self._uploads.add_file(BOT_USER_ID, filename)
        return {"upload_url": f"{self._shared.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = None
        if args.get("channel_id"):
            channel = self._conversation_arg(str(args["channel_id"]))
        if any(self._uploads.file(str(f.get("id"))) is None for f in files):
            raise SlackError("file_not_found")
        shared = [
            self._uploads.share_file(
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
        shared = self._uploads.file(str(args.get("file", "")))
        if shared is None:
            raise SlackError("file_not_found")
        return {"file": shared.to_slack()}

    # argument helpers ----------------------------------------------------------------------

    def _channel_arg(self, args: Mapping[str, Any]) -> str:
        channel = str(args.get("channel") or "")
        resolved = self._directory.resolve_channel(channel) if channel else None
        if resolved is None:
            raise SlackError("channel_not_found")
        return resolved

    def _conversation_arg(self, channel: str) -> str:
        """A conversation ID proper: unlike chat.postMessage, file sharing takes no user IDs."""
        resolved = (
            self._directory.resolve_channel(channel) if channel[:1] not in ("U", "W") else None
        )
        if resolved is None:
            raise SlackError("channel_not_found")
        return resolved


def _check_message_content(args: Mapping[str, Any], update: bool = False) -> None:
    if not update and not args.get("text") and not args.get("blocks"):
        raise SlackError("no_text")
    if len(str(args.get("text") or "")) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if "blocks" in args and block_problems(args["blocks"] or []):
        raise SlackError("invalid_blocks")
    metadata = _metadata(args.get("metadata"))
    if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")):
        raise SlackError("invalid_metadata_format")


def _metadata(raw: Any) -> Any:
    """Message metadata as stored (`{event_type, event_payload}`), None when absent. Anything
    else is returned as is, for `_check_message_content` to refuse."""
    return None if raw in (None, "", {}) else raw
