"""The stand-in's HTTP side, a WSGI app routed by werkzeug (served by HttpServer).

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
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.routing.exceptions import RequestRedirect
from werkzeug.wrappers import Request, Response

from bot.slack_standin.state import ResponseUrls, Shared, SlackError, Uploads
from bot.slack_standin.state.responses import MAX_USES
from bot.slack_standin.web_api import WebApi

# Arguments that arrive as JSON strings in form-encoded bodies.
_JSON_ARGS = ("blocks", "view", "metadata", "files", "attachments", "channels", "outputs")
JSON = "application/json; charset=utf-8"


def _rule(path: str, endpoint: str, *methods: str) -> Rule:
    rule = Rule(path, endpoint=endpoint, methods=list(methods))
    rule.methods = set(methods)  # werkzeug adds HEAD to GET routes; Slack's are GET or POST
    return rule


ROUTES = Map(
    [
        _rule("/api/<method>", "api", "GET", "POST"),
        _rule("/upload/<file_id>", "upload", "POST"),
        _rule("/response/<url_id>", "response", "POST"),
        _rule("/files/<file_id>", "download", "GET"),
        _rule("/files/<file_id>/<path:name>", "download", "GET"),
    ],
    strict_slashes=True,
    merge_slashes=False,
    redirect_defaults=False,
)


def _json_reply(payload: Mapping[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(payload).encode(), status, headers, content_type=JSON)


def _text(status: int, body: bytes, content_type: str = "text/plain") -> Response:
    return Response(body, status, content_type=content_type)


class StandInApp:
    def __init__(
        self,
        *,
        web_api: WebApi,
        uploads: Uploads,
        response_urls: ResponseUrls,
        shared: Shared,
        bot_token: str,
    ) -> None:
        self._web_api = web_api
        self._uploads = uploads
        self._response_urls = response_urls
        self._shared = shared
        self._bot_token = bot_token
        self._routes = ROUTES.bind("standin")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.handle(request)
        except Exception as error:  # a stand-in bug must reach the caller
            response = _json_reply({"ok": False, "error": f"standin_error: {error!r}"}, 500)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self._routes.match(request.path, method=request.method)
        except MethodNotAllowed as refused:
            allowed = ", ".join(sorted(refused.valid_methods or []))
            return Response(
                b"method_not_allowed", 405, {"Allow": allowed}, content_type="text/plain"
            )
        except (NotFound, RequestRedirect):
            return _text(404, b"not found")
        body = request.get_data()
        if endpoint == "api":
            return self._api(values["method"], request, body)
        if endpoint == "upload":
            return self._upload(values["file_id"], request, body)
        if endpoint == "response":
            return self._response(values["url_id"], body)
        return self._download(values["file_id"], request)

    def _api(self, method: str, request: Request, body: bytes) -> Response:
        query = request.environ.get("QUERY_STRING", "")
        args = _parse_args(query, request.headers.get("Content-Type", ""), body)
        token = _bearer(request.headers.get("Authorization", "")) or str(args.pop("token", ""))
        args.pop("token", None)
        try:
            reply = self._web_api.call(method, token, args)
        except SlackError as error:
            return _json_reply({"ok": False, "error": error.error}, error.status, **error.headers)
        return _json_reply({"ok": True, **reply})

    def _upload(self, file_id: str, request: Request, body: bytes) -> Response:
        content = _multipart_file(request.headers.get("Content-Type", ""), body)
        try:
            self._uploads.set_file_content(file_id, body if content is None else content)
        except SlackError:
            return _text(404, b"file_not_found")
        return _text(200, f"OK - {len(body)}".encode())

    def _response(self, url_id: str, body: bytes) -> Response:
        target = self._response_urls.target(url_id)
        if target is None:
            return _text(404, b"no_such_response_url")
        if target.uses >= MAX_USES:
            return _text(404, b"used_url")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _text(400, b"invalid_payload")
        try:
            self._response_urls.record(url_id, payload, via="response_url")
        except SlackError as error:
            return _text(404, error.error.encode())
        return _text(200, b"ok", "text/html")

    def _download(self, file_id: str, request: Request) -> Response:
        authorized = _bearer(request.headers.get("Authorization", "")) == self._bot_token
        self._uploads.record_download(file_id, authorized)
        if not authorized:
            # Slack answers an HTML login page rather than an error for private files.
            login = {"Location": f"{self._shared.base_url}/login"}
            return Response(b"", 302, login, content_type="text/html")
        shared = self._uploads.file(file_id)
        if shared is None:
            return _text(404, b"file_not_found")
        if self._uploads.download_delay > 0:  # a slow Slack (outside the lock)
            time.sleep(self._uploads.download_delay)
        return _text(200, shared.content, shared.mimetype)


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


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    """The file part of a multipart upload; None when the body is the raw bytes (slack_sdk)."""
    if not content_type.startswith("multipart/form-data"):
        return None
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    for part in message.iter_parts():
        if part.get_filename():
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
