"""The Communities API sandbox as a WSGI app: the contract's behaviour, faults and admin.

Routes are werkzeug's (`Map`/`Rule`), built from the paths in `bot.communities.contract`, so
the sandbox follows any edit made there. They match the path as sent, still
percent-encoded, so an e-mail address holding `%2F` stays one path segment; the segments
are decoded after matching. A method a path does not serve gets 405 with `Allow`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map
from werkzeug.routing.exceptions import RequestRedirect
from werkzeug.wrappers import Request, Response

from bot.communities import contract as c
from bot.runtime.http_server import DropConnection
from bot.sandbox.admin import AdminApp
from bot.sandbox.state import TOKEN_OPERATION, AlreadyMember, FaultPlan, SandboxState
from bot.sandbox.validation import parse_new_member
from bot.sandbox.wire import Exactly, allow, json_reply, parse_json, problem

logger = logging.getLogger("bot.sandbox")

API_PREFIX = "/communities-api"
TOKEN_PATH = "/oauth2/token"
ADMIN_PREFIX = "/_sandbox"
MAX_BODY_BYTES = 1024 * 1024
BASIC_CHALLENGE = 'Basic realm="Communities API"'

Params = dict[str, str]


def _api_rule(template: str, endpoint: str, method: str) -> Exactly:
    """ "/v2/communities/{community_id}/members" -> werkzeug's ".../<community_id>/members"."""
    return Exactly(API_PREFIX + re.sub(r"\{(\w+)\}", r"<\1>", template), endpoint, method)


ROUTES = Map(
    [
        Exactly(TOKEN_PATH, TOKEN_OPERATION, "POST"),
        _api_rule(c.LIST_COMMUNITIES, "listCommunities", "GET"),
        _api_rule(c.MEMBERS, "createMember", "POST"),
        _api_rule(c.MEMBER, "deleteMember", "DELETE"),
        _api_rule(c.MEMBER_CREDIT, "getRemainingCredit", "GET"),
    ],
    strict_slashes=True,
    merge_slashes=False,
    redirect_defaults=False,
)


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


def raw_path(request: Request) -> str:
    """The path as the client sent it, still percent-encoded (waitress passes the request
    target on as REQUEST_URI; other servers get the decoded path encoded again)."""
    target = request.environ.get("REQUEST_URI")
    return urlsplit(target).path if target else quote(request.path)


class SandboxApp:
    """The behaviour of the Communities API, its faults and the admin endpoints."""

    def __init__(
        self, state: SandboxState, base_latency_ms: int, stopping: threading.Event
    ) -> None:
        self.state = state
        self.base_latency_ms = base_latency_ms
        self.stopping = stopping
        self.admin = AdminApp(state)
        self._routes = ROUTES.bind("sandbox")
        self._operations: dict[str, Callable[[Request, bytes, Params], Response | None]] = {
            "listCommunities": self._list_communities,
            "createMember": self._create_member,
            "deleteMember": self._delete_member,
            "getRemainingCredit": self._remaining_credit,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = _Request(environ)
        try:
            response = self.handle(request)
        except DropConnection:
            raise
        except Exception:
            logger.exception("sandbox failed on a %s request", request.method)
            response = problem(500, "The sandbox failed; see its log.")
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            return problem(413, f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
        path = raw_path(request)
        if path.startswith(ADMIN_PREFIX + "/"):
            return self.admin.handle(request, body, path.removeprefix(ADMIN_PREFIX))
        try:
            operation, values = self._routes.match(path, method=request.method)
        except MethodNotAllowed as refused:
            detail = "Use POST." if path == TOKEN_PATH else "Method not allowed on this path."
            return self._unrouted(
                request, body, problem(405, detail, headers=allow(refused.valid_methods))
            )
        except (NotFound, RequestRedirect):
            in_api = path.startswith(API_PREFIX + "/")
            detail = "No such path in the Communities API." if in_api else "No such path."
            return self._unrouted(request, body, problem(404, detail))
        params = {name: unquote(value) for name, value in values.items()}
        return self._operation(request, body, str(operation), params)

    def _unrouted(self, request: Request, body: bytes, reply: Response) -> Response:
        """Logged too: a client calling a wrong path is what a test most wants to see."""
        correlation_id = request.headers.get(c.CORRELATION_HEADER) or str(uuid.uuid4())
        reply.headers[c.CORRELATION_HEADER] = correlation_id
        self._record(request, body, None, reply, correlation_id)
        return reply

    # One operation: count, faults, checks, handler, log ----------------------------

    def _operation(self, request: Request, body: bytes, operation: str, params: Params) -> Response:
        started = time.monotonic()
        self.state.count_operation(operation)
        correlation_id = request.headers.get(c.CORRELATION_HEADER) or str(uuid.uuid4())
        reply = self._faulted_or_handled(request, body, operation, params)
        if reply is not None:
            reply.headers[c.CORRELATION_HEADER] = correlation_id
        self._record(request, body, operation, reply, correlation_id)
        logger.debug(
            "%s -> %s in %.0f ms (correlation %s)",
            operation,
            "dropped" if reply is None else reply.status_code,
            (time.monotonic() - started) * 1000,
            correlation_id,
        )
        if reply is None:
            raise DropConnection
        return reply

    def _faulted_or_handled(
        self, request: Request, body: bytes, operation: str, params: Params
    ) -> Response | None:
        """The reply, or None when the connection is to be dropped without one."""
        plan: FaultPlan = self.state.plan_faults(operation, self.base_latency_ms)
        if self._sleep(plan.latency_seconds) or plan.drop:
            return None
        if plan.status is not None:
            return self._fault_problem(plan)
        if self._sleep(plan.hang_seconds):
            return None
        if operation == TOKEN_OPERATION:
            return self._token(request, body)
        refused = self._unauthorized(request) or self._bad_user_agent(request)
        return refused or self._operations[operation](request, body, params)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True means it is stopping."""
        return seconds > 0 and self.stopping.wait(seconds)

    @staticmethod
    def _fault_problem(plan: FaultPlan) -> Response:
        assert plan.status is not None
        if plan.retry_after_seconds is None:
            return problem(plan.status, "Injected fault: the sandbox was told to fail.")
        return problem(
            plan.status,
            "Too many requests; retry after the Retry-After delay.",
            headers={c.RETRY_AFTER_HEADER: str(plan.retry_after_seconds)},
        )

    def _record(
        self,
        request: Request,
        body: bytes,
        operation: str | None,
        reply: Response | None,
        correlation_id: str,
    ) -> None:
        headers = Headers(request.headers)  # looked up case-insensitively, as HTTP's are
        if operation == TOKEN_OPERATION and "Authorization" in headers:
            scheme = headers["Authorization"].partition(" ")[0]
            headers["Authorization"] = f"{scheme} ***"  # HTTP Basic carries the secret
        self.state.log_request(
            {
                "method": request.method,
                "path": raw_path(request),
                "operation": operation,
                "headers": headers,
                "body": _logged_body(body, operation),
                "status": None if reply is None else reply.status_code,
                "correlation_id": correlation_id,
            }
        )

    # Checks every API call passes ---------------------------------------------------

    def _unauthorized(self, request: Request) -> Response | None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self.state.token_is_valid(token.strip()):
            return None
        return problem(
            401,
            "Missing, invalid, expired or revoked bearer token.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    @staticmethod
    def _bad_user_agent(request: Request) -> Response | None:
        agent = request.headers.get("User-Agent") or ""
        if agent.startswith(c.USER_AGENT_PREFIX) and len(agent) > len(c.USER_AGENT_PREFIX):
            return None
        message = f"The User-Agent header must be {c.USER_AGENT_PREFIX}<YourCompanyName>."
        return problem(400, message, errors={"User-Agent": [message]})

    # The token endpoint --------------------------------------------------------------

    def _token(self, request: Request, body: bytes) -> Response:
        """Client credentials in the form body, or as HTTP Basic (RFC 6749 section 2.3.1);
        one of the two, never both (section 2.3)."""
        form = _form(body)
        header = request.headers.get("Authorization")
        if header is None:
            return self._issue(
                form,
                form.get(c.TOKEN_FIELD_CLIENT_ID),
                form.get(c.TOKEN_FIELD_CLIENT_SECRET),
                basic=False,
            )
        if c.TOKEN_FIELD_CLIENT_SECRET in form:
            return _token_error(
                400,
                "invalid_request",
                "send the client credentials once: in the Authorization header or in the body",
            )
        credentials = basic_credentials(header)
        if credentials is None:
            return _token_error(
                401,
                "invalid_client",
                "the Authorization header holds no HTTP Basic credentials",
                basic=True,
            )
        client_id, secret = credentials
        if form.get(c.TOKEN_FIELD_CLIENT_ID, client_id) != client_id:
            return _token_error(
                400,
                "invalid_request",
                "client_id in the body is not the one in the Authorization header",
            )
        return self._issue(form, client_id, secret, basic=True)

    def _issue(
        self, form: dict[str, str], client_id: str | None, secret: str | None, basic: bool
    ) -> Response:
        grant_type = form.get(c.TOKEN_FIELD_GRANT_TYPE)
        if grant_type is None or client_id is None or secret is None:
            return _token_error(
                400, "invalid_request", "grant_type, client_id and client_secret are required"
            )
        if grant_type != c.TOKEN_GRANT_TYPE:
            return _token_error(
                400, "unsupported_grant_type", f"only {c.TOKEN_GRANT_TYPE} is supported"
            )
        if not (_same(client_id, self.state.client_id) and _same(secret, self.state.client_secret)):
            return _token_error(
                401, "invalid_client", "unknown client or wrong secret", basic=basic
            )
        return json_reply(
            200,
            {
                c.TOKEN_ACCESS_TOKEN: self.state.issue_token(),
                c.TOKEN_TYPE: "Bearer",
                c.TOKEN_EXPIRES_IN: round(self.state.token_lifetime),
            },
            headers={"Cache-Control": "no-store"},
        )

    # The API operations ------------------------------------------------------------

    def _list_communities(self, request: Request, body: bytes, params: Params) -> Response:
        listed = [
            {c.COMMUNITY_ID: cid, c.COMMUNITY_NAME: name} for cid, name in self.state.communities
        ]
        return json_reply(200, {c.COMMUNITIES: listed})

    def _create_member(self, request: Request, body: bytes, params: Params) -> Response | None:
        reply = self._create_reply(body, params["community_id"])
        # Applied (or refused) first, then the answer is lost: the ambiguous failure
        # the client must recover from by looking before it creates again.
        if self.state.take_drop_after_create():
            return None
        return reply

    def _create_reply(self, body: bytes, community_id: str) -> Response:
        if not self.state.has_community(community_id):
            return _unknown_community()
        parsed = parse_new_member(body)
        if isinstance(parsed, dict):
            return problem(400, "The request body failed validation.", errors=parsed)
        try:
            stored = self.state.add_member(
                community_id,
                parsed.email,
                parsed.first_name,
                parsed.last_name,
                parsed.credit,
                parsed.external_reference,
            )
        except AlreadyMember:
            return problem(409, "This e-mail address is already a member of this community.")
        return json_reply(201, member_credit(stored))

    def _delete_member(self, request: Request, body: bytes, params: Params) -> Response:
        community_id, email = params["community_id"], params["email"]
        if not self.state.has_community(community_id):
            return _unknown_community()
        removed = self.state.remove_member(community_id, email)
        if removed is None:
            return _not_a_member()
        return json_reply(
            200, {c.EMAIL_ADDRESS: removed["email"], c.REVOKED_CREDIT: removed["remaining_credit"]}
        )

    def _remaining_credit(self, request: Request, body: bytes, params: Params) -> Response:
        community_id, email = params["community_id"], params["email"]
        if not self.state.has_community(community_id):
            return _unknown_community()
        found = self.state.member(community_id, email)
        return json_reply(200, member_credit(found)) if found else _not_a_member()


def member_credit(member: dict[str, Any]) -> dict[str, Any]:
    """The contract's MemberCredit for a stored member."""
    body: dict[str, Any] = {
        c.EMAIL_ADDRESS: member["email"],
        c.FIRST_NAME: member["first_name"],
        c.LAST_NAME: member["last_name"],
    }
    if member["external_reference"] is not None:
        body[c.EXTERNAL_REFERENCE] = member["external_reference"]
    body[c.REMAINING_CREDIT] = member["remaining_credit"]
    return body


def basic_credentials(header: str) -> tuple[str, str] | None:
    """Client ID and secret from `Authorization: Basic ...`: base64 of the form-urlencoded
    ID, ':', the form-urlencoded secret (RFC 6749 section 2.3.1). None if it is not that."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def _logged_body(body: bytes, operation: str | None) -> Any:
    """The parsed body, for tests to inspect; the client secret is never kept."""
    if operation == TOKEN_OPERATION:
        form = _form(body)
        if c.TOKEN_FIELD_CLIENT_SECRET in form:
            form[c.TOKEN_FIELD_CLIENT_SECRET] = "***"
        return form
    if not body:
        return None
    try:
        return parse_json(body)
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


def _token_error(status: int, error: str, description: str, basic: bool = False) -> Response:
    headers = {"Cache-Control": "no-store"}
    if basic and status == 401:  # RFC 6749 section 5.2: answer the scheme the client used
        headers["WWW-Authenticate"] = BASIC_CHALLENGE
    return json_reply(status, {"error": error, "error_description": description}, headers)


def _unknown_community() -> Response:
    return problem(404, "Unknown community for this client.")


def _not_a_member() -> Response:
    return problem(404, "This e-mail address is not a member of this community.")
