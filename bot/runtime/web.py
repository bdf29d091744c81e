"""HTTP mode: /slack/events for Slack and /healthz for the platform, as one WSGI app.

`bot.runtime.http_server.HttpServer` serves it (waitress)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import redis
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.runtime.http_server import WSGIApp

log = logging.getLogger("bot.web")


def create_wsgi_app(app: App, client: redis.Redis) -> WSGIApp:
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _healthz(client, start_response)
        return slack(environ, start_response)

    return wsgi


def _healthz(client: redis.Redis, start_response: Callable[..., Any]) -> Iterable[bytes]:
    body: dict[str, object]
    try:
        client.ping()
        status, body = "200 OK", {"ok": True}
    except redis.RedisError:
        status, body = "503 Service Unavailable", {"ok": False, "redis": "unavailable"}
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]
