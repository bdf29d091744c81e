"""The Communities API sandbox served over real HTTP on loopback.

`SandboxApp` turns one request into one reply (the contract's behaviour, faults and the
admin endpoints); `_Handler` only moves bytes. Paths and JSON field names come from
`bot.communities.contract`, so the sandbox follows any edit made there.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.communities import contract as c
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    DEFAULT_SANDBOX_COMMUNITIES,
    Settings,
)
from bot.domain.money import to_cents
from bot.sandbox.state import (
    OPERATIONS,
    TOKEN_OPERATION,
    AlreadyMember,
    FaultPlan,
    SandboxFaults,
    SandboxState,
)

logger = logging.getLogger("bot.sandbox")

API_PREFIX = "/communities-api"
TOKEN_PATH = "/oauth2/token"
ADMIN_PREFIX = "/_sandbox"
MAX_BODY_BYTES = 1024 * 1024
MAX_CREDIT = Decimal("999999999999999.99")  # the contract sets none; this keeps sums exact
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}",
    re.ASCII,
)


# JSON ------------------------------------------------------------------------------


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonNumber(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """JSON with every fraction as Decimal (never float) and NaN/Infinity refused."""
    return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)


def dumps(value: Any) -> str:
    """JSON text in which money (Decimal) is a number with exactly two decimals: 0.30.

    json.dumps can only write Decimal via float (0.3) or as a string, so containers
    are walked here and every other scalar is left to json.dumps.
    """
    if isinstance(value, Decimal):
        return f"{to_cents(value):f}"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


# Requests and replies ----------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str  # as sent: path (still percent-encoded) and query
    headers: Message
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


def dropped() -> Reply:
    return Reply(status=0, drop=True)


def json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(value).encode(), "application/json", dict(headers or {}))


_PROBLEM_TYPES = {400: "rfc9110#section-15.5.1", 401: "rfc9110#section-15.5.2",
                  404: "rfc9110#section-15.5.5", 405: "rfc9110#section-15.5.6",
                  409: "rfc9110#section-15.5.10", 411: "rfc9110#section-15.5.12",
                  413: "rfc9110#section-15.5.14", 429: "rfc6585#section-4",
                  500: "rfc9110#section-15.6.1", 503: "rfc9110#section-15.6.4"}


def problem(status: int, detail: str, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None) -> Reply:
    """An ASP.NET-style problem details reply (the contract's `Problem`)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    if errors:
        title = "One or more validation errors occurred."
    body: dict[str, Any] = {
        "type": "https://tools.ietf.org/html/" + _PROBLEM_TYPES.get(status, "rfc9110"),
        c.PROBLEM_TITLE: title,
        c.PROBLEM_STATUS: status,
        c.PROBLEM_DETAIL: detail,
        c.PROBLEM_TRACE_ID: f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    }
    if errors:
        body[c.PROBLEM_ERRORS] = errors
    return Reply(status, dumps(body).encode(), c.PROBLEM_CONTENT_TYPE, dict(headers or {}))


# Validation of POST .../members ------------------------------------------------------


@dataclass(frozen=True)
class NewMember:
    email: str
    first_name: str
    last_name: str
    external_reference: str | None
    credit: Decimal


def _string_errors(value: Any, name: str, minimum: int, maximum: int) -> list[str]:
    if not isinstance(value, str):
        return [f"The {name} field must be a string."]
    if not minimum <= len(value) <= maximum:
        return [f"The {name} field must be between {minimum} and {maximum} characters."]
    return []


def _member_errors(member: Any) -> dict[str, list[str]]:
    if not isinstance(member, dict):
        return {c.MEMBER_OBJECT: [f"The {c.MEMBER_OBJECT} field is required (an object)."]}
    errors: dict[str, list[str]] = {}
    limits = {c.EMAIL_ADDRESS: (1, 254), c.FIRST_NAME: (1, 100), c.LAST_NAME: (1, 100)}
    for name, (minimum, maximum) in limits.items():
        path = f"{c.MEMBER_OBJECT}.{name}"
        if name not in member:
            errors[path] = [f"The {name} field is required."]
        elif found := _string_errors(member[name], name, minimum, maximum):
            errors[path] = found
    email = member.get(c.EMAIL_ADDRESS)
    if isinstance(email, str) and f"{c.MEMBER_OBJECT}.{c.EMAIL_ADDRESS}" not in errors \
            and not _is_email(email):
        errors[f"{c.MEMBER_OBJECT}.{c.EMAIL_ADDRESS}"] = [
            f"The {c.EMAIL_ADDRESS} field is not a valid e-mail address."]
    if c.EXTERNAL_REFERENCE in member and (
            found := _string_errors(member[c.EXTERNAL_REFERENCE], c.EXTERNAL_REFERENCE, 0, 100)):
        errors[f"{c.MEMBER_OBJECT}.{c.EXTERNAL_REFERENCE}"] = found
    return errors


def _is_email(text: str) -> bool:
    local, _, _ = text.rpartition("@")
    return len(local) <= 64 and EMAIL.fullmatch(text) is not None


def _is_whole_cents(amount: Decimal) -> bool:
    """Exact for any magnitude: strip trailing zeros instead of quantizing (which rounds)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite: NaN and Infinity never parse
    while exponent < -2 and digits and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return exponent >= -2


def _credit_errors(credits: Any) -> dict[str, list[str]]:
    if not isinstance(credits, list) or not credits:
        return {c.CREDITS: [f"The {c.CREDITS} field must be a list with at least one credit."]}
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(credits):
        path = f"{c.CREDITS}[{index}].{c.CREDIT}"
        if not isinstance(item, dict) or c.CREDIT not in item:
            errors[path] = [f"The {c.CREDIT} field is required."]
            continue
        amount = item[c.CREDIT]
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            errors[path] = [f"The {c.CREDIT} field must be a number."]
        elif amount <= 0:
            errors[path] = [f"The {c.CREDIT} field must be greater than 0."]
        elif amount > MAX_CREDIT:
            errors[path] = [f"The {c.CREDIT} field must be at most {MAX_CREDIT}."]
        elif not _is_whole_cents(Decimal(amount)):
            errors[path] = [f"The {c.CREDIT} field must be a multiple of 0.01."]
    return errors


def parse_new_member(body: bytes) -> NewMember | dict[str, list[str]]:
    """The member to create, or the validation errors keyed by field path."""
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError):
        return {"$": ["The request body is not valid JSON."]}
    if not isinstance(data, dict):
        return {"$": ["The request body must be a JSON object."]}
    errors = _member_errors(data.get(c.MEMBER_OBJECT)) | _credit_errors(data.get(c.CREDITS))
    if errors:
        return errors
    member = data[c.MEMBER_OBJECT]
    total = sum((Decimal(item[c.CREDIT]) for item in data[c.CREDITS]), Decimal(0))
    return NewMember(member[c.EMAIL_ADDRESS], member[c.FIRST_NAME], member[c.LAST_NAME],
                     member.get(c.EXTERNAL_REFERENCE), total)


def member_credit(member: dict[str, Any]) -> dict[str, Any]:
    """The contract's MemberCredit for a stored member."""
    body: dict[str, Any] = {c.EMAIL_ADDRESS: member["email"], c.FIRST_NAME: member["first_name"],
                            c.LAST_NAME: member["last_name"]}
    if member["external_reference"] is not None:
        body[c.EXTERNAL_REFERENCE] = member["external_reference"]
    body[c.REMAINING_CREDIT] = member["remaining_credit"]
    return body


# Routing -----------------------------------------------------------------------------


def _route_pattern(template: str) -> re.Pattern[str]:
    """"/v2/communities/{community_id}/members" -> a regex with one group per segment."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                    for i, part in enumerate(parts))
    return re.compile(regex)


ROUTES: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (_route_pattern(c.LIST_COMMUNITIES), {"GET": "listCommunities"}),
    (_route_pattern(c.MEMBERS), {"POST": "createMember"}),
    (_route_pattern(c.MEMBER), {"DELETE": "deleteMember"}),
    (_route_pattern(c.MEMBER_CREDIT), {"GET": "getRemainingCredit"}),
]


def _allowed(methods: Iterable[str]) -> dict[str, str]:
    return {"Allow": ", ".join(sorted(methods))}


# The application ---------------------------------------------------------------------

Params = dict[str, str]


class SandboxApp:
    """The behaviour of the Communities API, its faults and the admin endpoints."""

    def __init__(self, state: SandboxState, base_latency_ms: int,
                 stopping: threading.Event) -> None:
        self.state = state
        self.base_latency_ms = base_latency_ms
        self.stopping = stopping
        self._operations: dict[str, Callable[[Request, Params], Reply]] = {
            "listCommunities": self._list_communities,
            "createMember": self._create_member,
            "deleteMember": self._delete_member,
            "getRemainingCredit": self._remaining_credit,
        }

    def handle(self, request: Request) -> Reply:
        path = request.path
        if path == TOKEN_PATH:
            if request.method != "POST":
                return self._unrouted(request, problem(405, "Use POST.",
                                                       headers=_allowed(["POST"])))
            return self._operation(request, TOKEN_OPERATION, {})
        if path.startswith(ADMIN_PREFIX + "/"):
            return self._admin(request, path.removeprefix(ADMIN_PREFIX))
        if path.startswith(API_PREFIX + "/"):
            return self._api(request, path.removeprefix(API_PREFIX))
        return self._unrouted(request, problem(404, "No such path."))

    def _api(self, request: Request, path: str) -> Reply:
        for pattern, methods in ROUTES:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if request.method not in methods:
                return self._unrouted(request, problem(
                    405, "Method not allowed on this path.", headers=_allowed(methods)))
            params = {name: unquote(value) for name, value in found.groupdict().items()}
            return self._operation(request, methods[request.method], params)
        return self._unrouted(request, problem(404, "No such path in the Communities API."))

    def _unrouted(self, request: Request, reply: Reply) -> Reply:
        """Logged too: a client calling a wrong path is what a test most wants to see."""
        correlation_id = request.header(c.CORRELATION_HEADER) or str(uuid.uuid4())
        reply.headers[c.CORRELATION_HEADER] = correlation_id
        self._record(request, None, reply, correlation_id)
        return reply

    # One operation: count, faults, checks, handler, log ----------------------------

    def _operation(self, request: Request, operation: str, params: Params) -> Reply:
        started = time.monotonic()
        self.state.count_operation(operation)
        correlation_id = request.header(c.CORRELATION_HEADER) or str(uuid.uuid4())
        reply = self._faulted_or_handled(request, operation, params)
        if not reply.drop:
            reply.headers[c.CORRELATION_HEADER] = correlation_id
        self._record(request, operation, reply, correlation_id)
        logger.debug("%s -> %s in %.0f ms (correlation %s)", operation,
                     "dropped" if reply.drop else reply.status,
                     (time.monotonic() - started) * 1000, correlation_id)
        return reply

    def _faulted_or_handled(self, request: Request, operation: str, params: Params) -> Reply:
        plan: FaultPlan = self.state.plan_faults(operation, self.base_latency_ms)
        if self._sleep(plan.latency_seconds) or plan.drop:
            return dropped()
        if plan.status is not None:
            return self._fault_problem(plan)
        if self._sleep(plan.hang_seconds):
            return dropped()
        if operation == TOKEN_OPERATION:
            return self._token(request)
        refused = self._unauthorized(request) or self._bad_user_agent(request)
        return refused or self._operations[operation](request, params)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True means it is stopping."""
        return seconds > 0 and self.stopping.wait(seconds)

    @staticmethod
    def _fault_problem(plan: FaultPlan) -> Reply:
        assert plan.status is not None
        if plan.retry_after_seconds is None:
            return problem(plan.status, "Injected fault: the sandbox was told to fail.")
        return problem(plan.status, "Too many requests; retry after the Retry-After delay.",
                       headers={c.RETRY_AFTER_HEADER: str(plan.retry_after_seconds)})

    def _record(self, request: Request, operation: str | None, reply: Reply,
                correlation_id: str) -> None:
        self.state.log_request({
            "method": request.method, "path": request.path, "operation": operation,
            "headers": dict(request.headers.items()), "body": _logged_body(request, operation),
            "status": None if reply.drop else reply.status, "correlation_id": correlation_id,
        })

    # Checks every API call passes ---------------------------------------------------

    def _unauthorized(self, request: Request) -> Reply | None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self.state.token_is_valid(token.strip()):
            return None
        return problem(401, "Missing, invalid, expired or revoked bearer token.",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    @staticmethod
    def _bad_user_agent(request: Request) -> Reply | None:
        agent = request.header("User-Agent") or ""
        if agent.startswith(c.USER_AGENT_PREFIX) and len(agent) > len(c.USER_AGENT_PREFIX):
            return None
        message = f"The User-Agent header must be {c.USER_AGENT_PREFIX}<YourCompanyName>."
        return problem(400, message, errors={"User-Agent": [message]})

    # The token endpoint --------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        form = _form(request.body)
        grant_type = form.get(c.TOKEN_FIELD_GRANT_TYPE)
        client_id = form.get(c.TOKEN_FIELD_CLIENT_ID)
        secret = form.get(c.TOKEN_FIELD_CLIENT_SECRET)
        if grant_type is None or client_id is None or secret is None:
            return _token_error(400, "invalid_request",
                                "grant_type, client_id and client_secret are required")
        if grant_type != c.TOKEN_GRANT_TYPE:
            return _token_error(400, "unsupported_grant_type",
                                f"only {c.TOKEN_GRANT_TYPE} is supported")
        if not (_same(client_id, self.state.client_id)
                and _same(secret, self.state.client_secret)):
            return _token_error(401, "invalid_client", "unknown client or wrong secret")
        return json_reply(200, {c.TOKEN_ACCESS_TOKEN: self.state.issue_token(),
                                c.TOKEN_TYPE: "Bearer",
                                c.TOKEN_EXPIRES_IN: round(self.state.token_lifetime)},
                          headers={"Cache-Control": "no-store"})

    # The API operations ------------------------------------------------------------

    def _list_communities(self, request: Request, params: Params) -> Reply:
        listed = [{c.COMMUNITY_ID: cid, c.COMMUNITY_NAME: name}
                  for cid, name in self.state.communities]
        return json_reply(200, {c.COMMUNITIES: listed})

    def _create_member(self, request: Request, params: Params) -> Reply:
        reply = self._create_reply(request, params["community_id"])
        # Applied (or refused) first, then the answer is lost: the ambiguous failure
        # the client must recover from by looking before it creates again.
        if self.state.take_drop_after_create():
            return dropped()
        return reply

    def _create_reply(self, request: Request, community_id: str) -> Reply:
        if not self.state.has_community(community_id):
            return _unknown_community()
        parsed = parse_new_member(request.body)
        if isinstance(parsed, dict):
            return problem(400, "The request body failed validation.", errors=parsed)
        try:
            stored = self.state.add_member(community_id, parsed.email, parsed.first_name,
                                           parsed.last_name, parsed.credit,
                                           parsed.external_reference)
        except AlreadyMember:
            return problem(409, "This e-mail address is already a member of this community.")
        return json_reply(201, member_credit(stored))

    def _delete_member(self, request: Request, params: Params) -> Reply:
        community_id, email = params["community_id"], params["email"]
        if not self.state.has_community(community_id):
            return _unknown_community()
        removed = self.state.remove_member(community_id, email)
        if removed is None:
            return _not_a_member()
        return json_reply(200, {c.EMAIL_ADDRESS: removed["email"],
                                c.REVOKED_CREDIT: removed["remaining_credit"]})

    def _remaining_credit(self, request: Request, params: Params) -> Reply:
        community_id, email = params["community_id"], params["email"]
        if not self.state.has_community(community_id):
            return _unknown_community()
        found = self.state.member(community_id, email)
        return json_reply(200, member_credit(found)) if found else _not_a_member()

    # Admin endpoints (not part of the contract; for tests in other processes) --------

    def _admin(self, request: Request, path: str) -> Reply:
        routes: dict[str, dict[str, Callable[[Request], Reply]]] = {
            "/stats": {"GET": self._admin_stats},
            "/faults": {"GET": self._admin_faults, "POST": self._admin_set_faults},
            "/revoke-tokens": {"POST": self._admin_revoke_tokens},
            "/reset": {"POST": self._admin_reset},
            "/members": {"GET": self._admin_members},
        }
        methods = routes.get(path)
        if methods is None:
            return problem(404, "No such sandbox admin path.")
        if request.method not in methods:
            return problem(405, "Method not allowed on this path.", headers=_allowed(methods))
        return methods[request.method](request)

    def _admin_stats(self, request: Request) -> Reply:
        return json_reply(200, {"token_requests": self.state.token_requests,
                                "operations": self.state.operation_counts,
                                "members": len(self.state.members())})

    def _admin_faults(self, request: Request) -> Reply:
        return json_reply(200, {spec.name: getattr(self.state.faults, spec.name)
                                for spec in fields(SandboxFaults)})

    def _admin_set_faults(self, request: Request) -> Reply:
        try:
            changes = parse_json(request.body)
        except (ValueError, UnicodeDecodeError):
            changes = None
        errors = _fault_errors(changes)
        if errors:
            return problem(400, "Not a valid set of sandbox faults.", errors=errors)
        assert isinstance(changes, dict)
        for name, value in changes.items():
            setattr(self.state.faults, name, float(value) if _FAULT_TYPES[name] is float
                    else value)
        return self._admin_faults(request)

    def _admin_revoke_tokens(self, request: Request) -> Reply:
        self.state.revoke_tokens()
        return json_reply(200, {"revoked": True})

    def _admin_reset(self, request: Request) -> Reply:
        self.state.reset()
        return json_reply(200, {"reset": True})

    def _admin_members(self, request: Request) -> Reply:
        wanted = parse_qs(urlsplit(request.target).query).get("community_id", [None])[0]
        return json_reply(200, self.state.members(wanted))


_FAULT_TYPES: dict[str, type] = {
    "latency_ms": int, "error_rate": float, "rate_limit_next": int,
    "retry_after_seconds": int, "fail_next": int, "fail_status": int, "hang_next": int,
    "hang_seconds": float, "drop_after_create_next": int, "drop_next": int, "operation": str,
}


def _fault_errors(changes: Any) -> dict[str, list[str]]:
    if not isinstance(changes, dict):
        return {"$": ["Send a JSON object of SandboxFaults fields."]}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        expected = _FAULT_TYPES.get(name)
        if expected is None:
            errors[name] = ["Unknown fault."]
        elif name == "operation":
            if value is not None and value not in OPERATIONS:
                errors[name] = [f"One of {', '.join(OPERATIONS)}, or null."]
        elif not _non_negative(value, allow_fraction=expected is float):
            errors[name] = [f"A non-negative {'number' if expected is float else 'integer'}."]
    return errors


def _non_negative(value: Any, allow_fraction: bool) -> bool:
    accepted = (int, Decimal) if allow_fraction else (int,)
    return not isinstance(value, bool) and isinstance(value, accepted) and value >= 0


def _logged_body(request: Request, operation: str | None) -> Any:
    """The parsed body, for tests to inspect; the client secret is never kept."""
    if operation == TOKEN_OPERATION:
        form = _form(request.body)
        if c.TOKEN_FIELD_CLIENT_SECRET in form:
            form[c.TOKEN_FIELD_CLIENT_SECRET] = "***"
        return form
    if not request.body:
        return None
    try:
        return parse_json(request.body)
    except (ValueError, UnicodeDecodeError):
        return None


def _form(body: bytes) -> dict[str, str]:
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in parsed.items()}


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _token_error(status: int, error: str, description: str) -> Reply:
    return json_reply(status, {"error": error, "error_description": description},
                      headers={"Cache-Control": "no-store"})


def _unknown_community() -> Reply:
    return problem(404, "Unknown community for this client.")


def _not_a_member() -> Reply:
    return problem(404, "This e-mail address is not a member of this community.")


# HTTP plumbing -----------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 refuses benchmark bursts


    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition()
        self._closing = False
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, a DNS round trip we don't need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def track(self, connection: socket.socket) -> None:
        with self._idle:
            self._connections.add(connection)
            if self._closing:  # accepted just before shutdown: end it like the others
                _hang_up(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._idle:
            self._connections.discard(connection)
            self._idle.notify_all()

    def close_connections(self, timeout: float) -> None:
        """End kept-alive connections so their handler threads finish, then wait for them."""
        with self._idle:
            self._closing = True
            for connection in self._connections:
                _hang_up(connection)
            self._idle.wait_for(lambda: not self._connections, timeout)


def _hang_up(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK, adding ~40 ms to every reply on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "CommunitiesSandbox/1"
    sys_version = ""
    timeout = 60  # an idle kept-alive connection does not hold a thread forever
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Silenced: the default access log goes to stderr and names e-mails in paths."""

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def _dispatch(self) -> None:
        body = self._read_body()
        if isinstance(body, Reply):
            self.close_connection = True  # the unread body would corrupt the next request
            self._write(body)
            return
        try:
            reply = self.server.app.handle(Request(self.command, self.path, self.headers, body))
        except Exception:
            logger.exception("sandbox failed on a %s request", self.command)
            reply = problem(500, "The sandbox failed; see its log.")
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

    def _read_body(self) -> bytes | Reply:
        if self.headers.get("Transfer-Encoding"):
            return problem(411, "Send a Content-Length; chunked bodies are not supported.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return problem(400, "Content-Length is not a number.")
        if length < 0:
            return problem(400, "Content-Length is negative.")
        if length > MAX_BODY_BYTES:
            return problem(413, f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
        return self.rfile.read(length)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)


# The public server -------------------------------------------------------------------


def default_communities() -> list[tuple[str, str]]:
    return Settings.model_construct(
        sandbox_communities=DEFAULT_SANDBOX_COMMUNITIES).sandbox_community_pairs()


class SandboxServer:
    """The Communities API sandbox on a loopback port, served from a daemon thread."""

    def __init__(self, communities: Iterable[tuple[str, str]] | None = None,
                 client_id: str = DEFAULT_SANDBOX_CLIENT_ID,
                 client_secret: str = DEFAULT_SANDBOX_CLIENT_SECRET,
                 token_lifetime: float = 3600, latency_ms: int = 0,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        pairs = list(communities) if communities is not None else default_communities()
        self.state = SandboxState(pairs, client_id, client_secret, token_lifetime)
        self.faults: SandboxFaults = self.state.faults
        self.latency_ms = latency_ms  # a base latency that reset() keeps
        self.host = host
        self.port = port
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        if self.port == 0:
            raise RuntimeError("the sandbox has no port yet: start() it first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.root_url + TOKEN_PATH

    @property
    def admin_url(self) -> str:
        return self.root_url + ADMIN_PREFIX

    def start(self) -> SandboxServer:
        """Bind and serve; the socket is listening when this returns."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox is already started")
        self._stopping.clear()
        app = SandboxApp(self.state, self.latency_ms, self._stopping)
        self._httpd = _HTTPServer((self.host, self.port), app)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="communities-sandbox", daemon=True)
        self._thread.start()
        logger.info("Communities API sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving: wakes hung requests, ends kept-alive connections. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections(timeout=5)
        httpd.server_close()
        thread.join()
        self._httpd = self._thread = None
        logger.info("Communities API sandbox stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
