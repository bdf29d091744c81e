"""HTTP mode: /slack/events for Slack, /healthz for the platform and /metrics for
Prometheus (this process's own figures; bot.runtime.metrics), as one WSGI app.

`bot.runtime.http_server.HttpServer` serves it (waitress).

Every request to /slack/events passes the edge below before Bolt sees it, in this order:
the signature headers (missing, malformed or older than five minutes: 401, without reading
the body), the body's size (more than 1 MiB: 413, without reading it), the HMAC of the raw
bytes (wrong, or unverifiable because the Content-Length is broken: 401), then UTF-8 (not
text although signed: 400). Only then is anything parsed. A refused request is logged in
one line that names the reason, never the body nor any header but the timestamp's age.
Bolt's own check is off (bot.slack.app) because this one replaces it and hands Bolt a
re-encoded body in two cases: an interaction's payload, already decoded, as JSON
(`interaction_json`, for speed), and a form Bolt would misread, as JSON (`bolt_safe_body`).

waitress itself reads a whole body before calling the app (and refuses a malformed or
over-1-GB Content-Length itself); the cap here keeps the app from reading or parsing more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from binascii import a2b_qp
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import redis
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest

from bot.runtime.health import Health
from bot.runtime.http_server import WSGIApp
from bot.runtime.metrics import CONTENT_TYPE, Metrics
from bot.slack.ack_gate import ACKS

log = logging.getLogger("bot.web")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are a few KiB; a modal's state at most ~100
MAX_AGE_SECONDS = 300  # Slack's advice: refuse timestamps more than five minutes off
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_NOT_AN_ESCAPE = re.compile("%(?![0-9A-Fa-f]{2})")


class Refused(Exception):
    """A request the edge answers itself: `status`, and a reason for the log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def create_wsgi_app(
    app: App | None,
    client: redis.Redis,
    signing_secret: str | None,
    *,
    health: Health | None = None,
    metrics: Metrics | None = None,
) -> WSGIApp:
    """Slack's requests at /slack/events, checked against `signing_secret` (None refuses
    every request: a Socket Mode process serves only /healthz and /metrics; no `app`: a
    worker's health port, no /slack/events at all), /healthz, and /metrics when given."""
    secret = (signing_secret or "").encode()
    health = health or Health(client)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _healthz(health, start_response)
        if path == "/metrics" and metrics is not None:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                return _plain(start_response, 405, "Method Not Allowed", [("Allow", "GET")])
            return _metrics(metrics, start_response)
        if path != EVENTS_PATH or app is None:
            return _plain(start_response, 404, "Not Found")
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(start_response, 405, "Method Not Allowed", [("Allow", "POST")])
        with ACKS.acking():  # post-ack work waits from here on (bot.slack.ack_gate)
            return _events(app, environ, secret, start_response)

    return wsgi


def _events(
    app: App, environ: dict[str, Any], secret: bytes, start_response: Callable[..., Any]
) -> Iterable[bytes]:
    try:
        body = verified_body(environ, secret)
    except Refused as refused:
        log.warning(
            "refused %s %s: %d %s",
            environ.get("REQUEST_METHOD"),
            EVENTS_PATH,
            refused.status,
            refused.reason,
        )
        return _plain(start_response, refused.status, "Refused")
    return _dispatch(app, environ, body, start_response)


def verified_body(environ: dict[str, Any], secret: bytes, now: float | None = None) -> str:
    """The request's body as text, once its Slack signature is checked; raises Refused."""
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(401, "no valid X-Slack-Request-Timestamp")
    age = int((time.time() if now is None else now) - int(timestamp))
    if abs(age) > MAX_AGE_SECONDS:
        raise Refused(401, f"stale timestamp (signed {age} s ago)")
    if not signature.startswith("v0=") or len(signature) != 67:
        raise Refused(401, "no valid X-Slack-Signature")
    if not secret:
        raise Refused(401, "no signing secret configured")
    raw = _read_capped(environ)
    expected = hmac.new(secret, b"v0:%s:%s" % (timestamp.encode(), raw), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature[3:]):
        raise Refused(401, f"bad signature ({len(raw)} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, f"signed body is not UTF-8 ({len(raw)} bytes)") from None


def _read_capped(environ: dict[str, Any]) -> bytes:
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if stream is None or declared in ("", "0"):
        return b""
    if not declared.isdigit():  # waitress refuses these itself; other servers may not
        raise Refused(401, "unverifiable: bad Content-Length")
    if int(declared) > MAX_BODY_BYTES:
        raise Refused(413, f"body of {declared} bytes exceeds {MAX_BODY_BYTES}")
    raw = bytes(stream.read(int(declared)))
    if len(raw) != int(declared):
        raise Refused(401, f"unverifiable: body shorter than its Content-Length ({declared})")
    return raw


def bolt_safe_body(body: str, content_type: str | None) -> tuple[str, str | None]:
    """Work around slack-bolt 1.30's parse_body (slack_bolt/request/internals.py): it takes
    any form body containing the substring "payload" for an interactivity payload, finds no
    `payload=` field and returns {}, so `/community credit payload.team@example.com` (or a
    channel named #payloads, or a user called payload) is never routed: 404. Such a body is
    handed to Bolt as the same fields in JSON, which Bolt parses as they are. Bodies Bolt
    reads right (JSON, and real `payload=` interactions) pass unchanged.

    Only HTTP mode needs this: Socket Mode hands Bolt the envelope's payload as a dict
    (slack_bolt/adapter/socket_mode/internals.py, run_bolt_app), which never reaches
    parse_body. Remove this once Bolt parses form fields by name."""
    if content_type not in (None, FORM) or body.startswith("{") or "payload" not in body:
        return body, content_type
    if _has_payload_field(body):
        return body, content_type
    return json.dumps(dict(parse_qsl(body, keep_blank_values=True))), JSON


def interaction_json(body: str, content_type: str | None) -> str | None:
    """An interaction's payload (`payload=<percent-encoded JSON>`, a click or a submission)
    as JSON text for Bolt, or None for any other body.

    Bolt decodes the form with urllib, which goes through the payload one `%` at a time: a
    submission carries the whole view, ~1,200 of them, and that was a third of its ack (0.38
    ms of CPU). `binascii.a2b_qp` decodes quoted-printable (`=XX`) in C, the same thing with
    `=` for `%`, in 0.03 ms. It is used only where the two cannot differ: no `=` in the value
    and no `%` without two hex digits after it; anything else goes the usual way."""
    if content_type not in (None, FORM) or not body.startswith("payload=") or "&" in body:
        return None
    value = body[len("payload=") :]
    if not value or "=" in value or _NOT_AN_ESCAPE.search(value):
        return None
    return a2b_qp(value.replace("+", " ").replace("%", "=").encode()).decode("utf-8", "replace")


def _has_payload_field(body: str) -> bool:
    """Is one of the form's fields named `payload`? Only the names are decoded: a click's
    or a submission's payload is the whole message or view, percent-encoded, and decoding
    it is the biggest part of an ack's work (Bolt does it once; here it was done twice)."""
    if body.startswith("payload="):  # what Slack sends for every interaction
        return True
    return any(unquote_plus(field.partition("=")[0]) == "payload" for field in body.split("&"))


def _dispatch(
    app: App, environ: dict[str, Any], body: str, start_response: Callable[..., Any]
) -> Iterable[bytes]:
    http = WsgiHttpRequest(environ)
    headers = http.get_headers()
    content_type = str(headers.get("content-type") or "").split(";")[0].strip() or None
    payload = interaction_json(body, content_type)
    body, new_type = (payload, JSON) if payload is not None else bolt_safe_body(body, content_type)
    if new_type != content_type and new_type is not None:
        headers["content-type"] = new_type
    try:
        request = BoltRequest(body=body, query=http.query_string, headers=headers)
    except ValueError:  # signed, but no JSON or form Bolt can read (JSONDecodeError)
        log.warning("refused POST %s: 400 signed body Bolt cannot parse", EVENTS_PATH)
        return _plain(start_response, 400, "Bad Request")
    response: BoltResponse = app.dispatch(request)
    reply = WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
    start_response(reply.status, reply.get_headers())
    return reply.get_body()


def _plain(
    start_response: Callable[..., Any],
    status: int,
    text: str,
    extra: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    reply = WsgiHttpResponse(status=status, body=text)
    start_response(reply.status, reply.get_headers() + (extra or []))
    return reply.get_body()


def _metrics(metrics: Metrics, start_response: Callable[..., Any]) -> Iterable[bytes]:
    payload = metrics.exposition()
    start_response(
        "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _healthz(health: Health, start_response: Callable[..., Any]) -> Iterable[bytes]:
    ok, parts = health.report()
    status = "200 OK" if ok else "503 Service Unavailable"
    payload = json.dumps({"ok": ok, **parts}).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]
