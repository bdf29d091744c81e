"""`SlackStandIn`: a local Slack on loopback. The bot talks to it through slack_sdk's
WebClient at `api_url`; tests and the local console read what the bot did from its stores.

It composes the stores (state/), the Web API methods (web_api.py) and the WSGI app
(app.py), served by `bot.runtime.http_server.HttpServer` (waitress).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from bot.runtime.http_server import HttpServer
from bot.slack_standin.app import StandInApp
from bot.slack_standin.socket_mode import SocketMode
from bot.slack_standin.state import (
    Call,
    CallLog,
    Conversations,
    Directory,
    Functions,
    Message,
    ResponseUrls,
    Shared,
    SharedFile,
    StandInUser,
    Uploads,
    Views,
)
from bot.slack_standin.state.functions import DEFAULT_MANIFEST
from bot.slack_standin.web_api import WebApi

T = TypeVar("T")

THREADS = 32  # the bot's web and worker threads, and benchmark senders, call at once


class SlackStandIn:
    """A local Slack: start it, point a WebClient at `api_url`, read what the bot did.

    What it remembers lives in one store per concern: `directory` (users, user groups,
    conversations), `conversations` (messages, ephemeral messages), `views` (modals, App
    Home, trigger_ids), `uploads` (files), `response_urls`, `call_log` (Web API calls,
    injected failures). The few readers below are for the callers outside the stand-in
    (end-to-end tests, the console, benchmarks); everything else is on the stores.
    """

    def __init__(
        self,
        users: Iterable[StandInUser] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        bot_token: str = "xoxb-standin",
        host: str = "127.0.0.1",
        port: int = 0,
        channels: Mapping[str, str] | None = None,
        trigger_ttl: float | None = None,
        app_token: str | None = None,
        manifest: Path | None = DEFAULT_MANIFEST,
    ) -> None:
        self.bot_token = bot_token
        self.shared = Shared()
        self.directory = Directory(self.shared, users, usergroups, channels)
        self.conversations = Conversations(self.shared, self.directory)
        self.views = Views(self.shared, trigger_ttl)
        self.uploads = Uploads(self.shared, self.directory, self.conversations)
        self.response_urls = ResponseUrls(self.shared, self.conversations)
        self.call_log = CallLog(self.shared)
        self.functions = Functions(self.shared, manifest)  # Workflow Builder steps
        self.socket_mode = SocketMode(self.shared, host)  # on with an app token (xapp-…)
        self._app_token = app_token
        self._address = (host, port)
        self._http: HttpServer | None = None

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        if self._http is not None:
            return self
        web_api = WebApi(
            shared=self.shared,
            directory=self.directory,
            conversations=self.conversations,
            views=self.views,
            uploads=self.uploads,
            call_log=self.call_log,
            bot_token=self.bot_token,
            socket_mode=self.socket_mode,
            functions=self.functions,
        )
        app = StandInApp(
            web_api=web_api,
            uploads=self.uploads,
            response_urls=self.response_urls,
            shared=self.shared,
            bot_token=self.bot_token,
        )
        host, port = self._address
        self._http = HttpServer(
            app, host=host, port=port, threads=THREADS, name="slack-standin", ident="SlackStandIn/1"
        )
        self.shared.base_url = self._http.url
        self._http.start()
        if self._app_token is not None:
            self.socket_mode.enable(self._app_token)
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self.socket_mode.stop()
        self._http.stop()
        self._http = None

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
    def base_url(self) -> str:
        return self.shared.base_url

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)`; slack_sdk needs the trailing slash."""
        if not self.shared.base_url:
            raise RuntimeError("the stand-in is not started")
        return f"{self.shared.base_url}/api/"

    # Across the stores ----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything recorded (calls, messages, views, files, failures) and restart the
        counters; users stay, user groups go back to how they were configured."""
        with self.shared.lock:
            self.shared.clear()
            for store in (
                self.directory,
                self.conversations,
                self.views,
                self.uploads,
                self.response_urls,
                self.call_log,
                self.functions,
            ):
                store.clear()
            self.shared.notify()

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, description: str = ""
    ) -> T:
        """Wait until `predicate()` is truthy and return its value. The predicate runs with the
        lock held and again after every recorded change; TimeoutError names what was awaited
        and the last calls, which is usually enough to see why it never happened."""
        deadline = time.monotonic() + timeout
        with self.shared.changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(predicate, timeout, description))
                self.shared.changed.wait(remaining)

    def _timeout_message(self, predicate: Callable[[], Any], timeout: float, what: str) -> str:
        name = what or getattr(predicate, "__name__", "condition")
        recent = [
            f"{c.method}({', '.join(sorted(c.args))})" + ("" if c.ok else f" -> {c.error}")
            for c in self.call_log.calls[-8:]
        ]
        return f"{name} not met within {timeout}s; last Web API calls: {recent or 'none'}"

    # Readers for callers outside the stand-in (delegating to the stores) -----------------------

    @property
    def users(self) -> list[StandInUser]:
        return self.directory.users

    def dm_channel(self, user_id: str) -> str:
        return self.directory.dm_channel(user_id)

    def messages(self, channel: str) -> list[Message]:
        return self.conversations.messages(channel)

    def message(self, channel: str, ts: str) -> Message | None:
        return self.conversations.message(channel, ts)

    def last_message(self, channel: str) -> Message | None:
        return self.conversations.last_message(channel)

    def dms(self, user_id: str) -> list[Message]:
        return self.conversations.dms(user_id)

    def ephemerals(self, user_id: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return self.conversations.ephemerals(user_id, include_deleted)

    def ephemeral(self, user_id: str, ts: str) -> dict[str, Any] | None:
        return self.conversations.ephemeral(user_id, ts)

    def issue_trigger(self, user_id: str) -> str:
        return self.views.issue_trigger(user_id)

    def open_view(self, user_id: str) -> dict[str, Any] | None:
        return self.views.open_view(user_id)

    def close_top_view(self, user_id: str) -> str | None:
        return self.views.close_top_view(user_id)

    def view(self, view_id: str) -> dict[str, Any] | None:
        return self.views.view(view_id)

    def is_view_open(self, view_id: str) -> bool:
        return self.views.is_view_open(view_id)

    def home(self, user_id: str) -> dict[str, Any] | None:
        return self.views.home(user_id)

    def files(self, channel: str | None = None) -> list[SharedFile]:
        return self.uploads.files(channel)

    def file(self, file_id: str) -> SharedFile | None:
        return self.uploads.file(file_id)

    @property
    def responses(self) -> list[dict[str, Any]]:
        return self.response_urls.responses

    @property
    def calls(self) -> list[Call]:
        return self.call_log.calls

    def calls_to(self, method: str) -> list[Call]:
        return self.call_log.calls_to(method)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        count: int = 1,
        status: int | None = None,
        retry_after: int = 1,
    ) -> None:
        self.call_log.fail_next(method, error, count, status, retry_after)
