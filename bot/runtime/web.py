"""HTTP mode: /slack/events for Slack and /healthz for the platform, on waitress."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import create_server
from waitress.server import BaseWSGIServer
from waitress.wasyncore import loop

log = logging.getLogger("bot.web")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_wsgi_app(app: App, client: redis.Redis) -> WSGIApp:
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _healthz(client, start_response)
        return slack(environ, start_response)

    return wsgi


def _healthz(client: redis.Redis, start_response: Callable[..., Any]) -> Iterable[bytes]:
    try:
        client.ping()
        status, body = "200 OK", {"ok": True}
    except redis.RedisError:
        status, body = "503 Service Unavailable", {"ok": False, "redis": "unavailable"}
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


class HttpServer:
    """waitress in a background thread, stoppable (tests, the console, `python -m bot`)."""

    def __init__(self, wsgi: WSGIApp, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 16) -> None:
        self.server: BaseWSGIServer = create_server(  # type: ignore[assignment]
            wsgi, host=host, port=port, threads=threads, ident="community-bot",
            # waitress stops accepting at 100 open connections by default; a proxy or Slack
            # keeping connections alive would hang there.
            connection_limit=1000, clear_untrusted_proxy_headers=True)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serve()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            loop(timeout=0.2, map=self.server._map, use_poll=True, count=1)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for channel in list(self.server._map.values()):
            channel.close()
        self.server.task_dispatcher.shutdown()
