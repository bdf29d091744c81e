"""The Communities API sandbox, driven over real HTTP on loopback with httpx."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from bot.communities import contract as c
from bot.sandbox import SandboxFaults, SandboxServer
from bot.storage.redis_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMUNITY = "acme-employees"
OTHER = "globex"
USER_AGENT = "Coolblue-Acme"
JANE = "jane@example.com"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(communities=[(COMMUNITY, "Acme Employees"), (OTHER, "Globex")]) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def token_form(**overrides: str | None) -> dict[str, str]:
    form: dict[str, str | None] = {
        c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE,
        c.TOKEN_FIELD_CLIENT_ID: "sandbox-client",
        c.TOKEN_FIELD_CLIENT_SECRET: "sandbox-secret",
    }
    form.update(overrides)
    return {name: value for name, value in form.items() if value is not None}


def member_json(email: str = JANE, credits: tuple[str, ...] = ("750.00",), **member: Any) -> bytes:
    """A create body with credits as literal JSON number text (no float on the way)."""
    fields = {c.EMAIL_ADDRESS: email, c.FIRST_NAME: "Jane", c.LAST_NAME: "Doe"} | member
    items = ",".join(f'{{"{c.CREDIT}": {credit}}}' for credit in credits)
    return f'{{"{c.MEMBER_OBJECT}": {json.dumps(fields)}, "{c.CREDITS}": [{items}]}}'.encode()


@dataclass
class Api:
    """A minimal caller of the sandbox, so each test states only what it is about."""

    sandbox: SandboxServer
    client: httpx.Client

    def token(self) -> str:
        reply = self.client.post(self.sandbox.token_url, data=token_form())
        return str(reply.json()[c.TOKEN_ACCESS_TOKEN])

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", "User-Agent": USER_AGENT} | extra

    def url(self, path: str) -> str:
        return self.sandbox.base_url + path

    def create(
        self, body: bytes | None = None, community: str = COMMUNITY, **headers: str
    ) -> httpx.Response:
        return self.client.post(
            self.url(c.members_path(community)),
            content=body if body is not None else member_json(),
            headers=self.headers(**headers) | {"Content-Type": "application/json"},
        )

    def credit(self, email: str = JANE, community: str = COMMUNITY) -> httpx.Response:
        return self.client.get(
            self.url(c.member_credit_path(community, email)), headers=self.headers()
        )

    def delete(self, email: str = JANE, community: str = COMMUNITY) -> httpx.Response:
        return self.client.delete(self.url(c.member_path(community, email)), headers=self.headers())

    def communities(self, **headers: str) -> httpx.Response:
        return self.client.get(self.url(c.LIST_COMMUNITIES), headers=headers)


@pytest.fixture
def api(sandbox: SandboxServer, client: httpx.Client) -> Api:
    return Api(sandbox, client)


def assert_problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == c.PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = reply.json()
    assert body[c.PROBLEM_STATUS] == status
    assert body[c.PROBLEM_TITLE] and body[c.PROBLEM_DETAIL] and body[c.PROBLEM_TRACE_ID]
    assert body["type"].startswith("https://")
    return body


# Token ---------------------------------------------------------------------------------


def test_token_is_issued_for_client_credentials(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    reply = client.post(sandbox.token_url, data=token_form())
    assert reply.status_code == 200
    body = reply.json()
    assert body[c.TOKEN_TYPE] == "Bearer"
    assert body[c.TOKEN_EXPIRES_IN] == 3600
    assert len(body[c.TOKEN_ACCESS_TOKEN]) >= 32
    assert reply.headers["Cache-Control"] == "no-store"
    assert sandbox.state.token_requests == 1
    assert sandbox.token_url.endswith("/oauth2/token")
    assert not sandbox.token_url.startswith(sandbox.base_url)


@pytest.mark.parametrize(
    "wrong", [{c.TOKEN_FIELD_CLIENT_SECRET: "guess"}, {c.TOKEN_FIELD_CLIENT_ID: "someone-else"}]
)
def test_token_refused_for_wrong_credentials(
    sandbox: SandboxServer, client: httpx.Client, wrong: dict[str, str]
) -> None:
    reply = client.post(sandbox.token_url, data=token_form(**wrong))
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"
    assert sandbox.state.token_requests == 0
    assert sandbox.state.operation_counts["getToken"] == 1


def test_token_refused_for_other_grant_type(sandbox: SandboxServer, client: httpx.Client) -> None:
    reply = client.post(sandbox.token_url, data=token_form(grant_type="password"))
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "missing", [c.TOKEN_FIELD_GRANT_TYPE, c.TOKEN_FIELD_CLIENT_ID, c.TOKEN_FIELD_CLIENT_SECRET]
)
def test_token_request_missing_a_field_is_invalid(
    sandbox: SandboxServer, client: httpx.Client, missing: str
) -> None:
    reply = client.post(sandbox.token_url, data=token_form(**{missing: None}))
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


def test_token_endpoint_only_takes_post(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert_problem(client.get(sandbox.token_url), 405)


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic client authentication as RFC 6749 section 2.3.1 has it: each part
    form-urlencoded, joined by ':', base64'd."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def test_token_is_issued_for_http_basic_client_credentials(client: httpx.Client) -> None:
    client_id, secret = "acme:bot+1", "s3cr=t/é %"  # every character that needs encoding
    with SandboxServer(client_id=client_id, client_secret=secret) as server:
        reply = client.post(
            server.token_url,
            data={c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE},
            headers={"Authorization": basic(client_id, secret)},
        )
        assert reply.status_code == 200, reply.text
        token = reply.json()[c.TOKEN_ACCESS_TOKEN]
        assert reply.headers["Cache-Control"] == "no-store"
        listed = client.get(
            server.base_url + c.LIST_COMMUNITIES,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
        )
        assert listed.status_code == 200
        [entry] = [r for r in server.state.requests if r["operation"] == "getToken"]
        assert entry["headers"]["Authorization"] == "Basic ***"
        assert basic(client_id, secret).split()[1] not in repr(server.state.requests)


def test_basic_client_id_may_be_repeated_in_the_body(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    reply = client.post(
        sandbox.token_url,
        data=token_form(client_secret=None),
        headers={"Authorization": basic("sandbox-client", "sandbox-secret")},
    )
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    "authorization",
    [
        basic("sandbox-client", "guess"),
        basic("someone-else", "sandbox-secret"),
        "Basic not*base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer sandbox-secret",
    ],
)
def test_token_refused_for_wrong_basic_credentials(
    sandbox: SandboxServer, client: httpx.Client, authorization: str
) -> None:
    reply = client.post(
        sandbox.token_url,
        data={c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE},
        headers={"Authorization": authorization},
    )
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"
    # RFC 6749 section 5.2: a client that tried the Authorization header is told the scheme.
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")
    assert sandbox.state.token_requests == 0


def test_form_credentials_refused_are_not_challenged(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    reply = client.post(sandbox.token_url, data=token_form(client_secret="guess"))
    assert reply.status_code == 401
    assert "WWW-Authenticate" not in reply.headers


@pytest.mark.parametrize(
    "body", [token_form(), token_form(client_id="someone-else", client_secret=None)]
)
def test_token_request_with_two_sets_of_credentials_is_invalid(
    sandbox: SandboxServer, client: httpx.Client, body: dict[str, str]
) -> None:
    # RFC 6749 section 2.3: a client uses one authentication method per request.
    reply = client.post(
        sandbox.token_url,
        data=body,
        headers={"Authorization": basic("sandbox-client", "sandbox-secret")},
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"
    assert sandbox.state.token_requests == 0


def test_basic_token_request_still_needs_a_grant_type(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    headers = {"Authorization": basic("sandbox-client", "sandbox-secret")}
    missing = client.post(sandbox.token_url, data={}, headers=headers)
    other = client.post(
        sandbox.token_url, data={c.TOKEN_FIELD_GRANT_TYPE: "password"}, headers=headers
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (other.status_code, other.json()["error"]) == (400, "unsupported_grant_type")


def test_token_expires_after_its_lifetime(client: httpx.Client) -> None:
    with SandboxServer(token_lifetime=1) as server:
        api = Api(server, client)
        token = api.token()
        headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        assert client.get(api.url(c.LIST_COMMUNITIES), headers=headers).status_code == 200
        time.sleep(1.2)
        assert_problem(client.get(api.url(c.LIST_COMMUNITIES), headers=headers), 401)


def test_revoked_token_is_refused(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    assert api.communities(**headers).status_code == 200
    sandbox.state.revoke_tokens()
    assert_problem(api.communities(**headers), 401)
    assert api.communities(**api.headers()).status_code == 200  # a new token works


def test_request_log_never_keeps_the_client_secret(api: Api, sandbox: SandboxServer) -> None:
    api.token()
    [entry] = sandbox.state.requests
    assert entry["operation"] == "getToken"
    assert entry["body"][c.TOKEN_FIELD_CLIENT_SECRET] == "***"
    assert "sandbox-secret" not in repr(sandbox.state.requests)


# Checks every API call passes ----------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic c2FuZGJveA=="])
def test_api_call_without_a_valid_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {"User-Agent": USER_AGENT}
    if authorization:
        headers["Authorization"] = authorization
    reply = api.communities(**headers)
    assert_problem(reply, 401)
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("agent", ["python-httpx/0.28", "Coolblue-", "coolblue-acme"])
def test_user_agent_must_name_the_company(api: Api, agent: str) -> None:
    body = assert_problem(api.communities(**api.headers(**{"User-Agent": agent})), 400)
    assert list(body[c.PROBLEM_ERRORS]) == ["User-Agent"]


OPERATIONS: list[tuple[str, str, str]] = [  # operationId, method, path under the base URL
    ("listCommunities", "GET", c.LIST_COMMUNITIES),
    ("createMember", "POST", c.members_path(COMMUNITY)),
    ("deleteMember", "DELETE", c.member_path(COMMUNITY, JANE)),
    ("getRemainingCredit", "GET", c.member_credit_path(COMMUNITY, JANE)),
]


@pytest.mark.parametrize(
    ("operation", "method", "path"), OPERATIONS, ids=[operation for operation, _, _ in OPERATIONS]
)
def test_every_operation_without_a_user_agent_is_400(
    api: Api, sandbox: SandboxServer, operation: str, method: str, path: str
) -> None:
    if operation != "createMember":
        sandbox.state.add_member(COMMUNITY, JANE, "Jane", "Doe", Decimal("10"))
    headers = {"Authorization": f"Bearer {api.token()}", "Content-Type": "application/json"}
    # http.client sends no User-Agent of its own (httpx would send python-httpx/...).
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        connection.request(
            method,
            "/communities-api" + path,
            headers=headers,
            body=member_json() if method == "POST" else None,
        )
        reply = connection.getresponse()
        body = json.loads(reply.read())
    finally:
        connection.close()
    assert reply.status == 400
    assert reply.getheader("Content-Type") == c.PROBLEM_CONTENT_TYPE
    assert list(body[c.PROBLEM_ERRORS]) == ["User-Agent"]
    assert sandbox.state.requests[-1]["operation"] == operation
    assert len(sandbox.state.members()) == (0 if operation == "createMember" else 1)


def test_correlation_id_is_echoed(api: Api) -> None:
    sent = str(uuid.uuid4())
    ok = api.communities(**api.headers(**{c.CORRELATION_HEADER: sent}))
    refused = api.communities(**{c.CORRELATION_HEADER: sent})
    assert ok.headers[c.CORRELATION_HEADER] == sent
    assert refused.headers[c.CORRELATION_HEADER] == sent


def test_correlation_id_is_generated_when_absent(api: Api) -> None:
    first = api.communities(**api.headers()).headers[c.CORRELATION_HEADER]
    second = api.communities(**api.headers()).headers[c.CORRELATION_HEADER]
    assert uuid.UUID(first).version == 4
    assert first != second


# Operations ----------------------------------------------------------------------------


def test_list_communities(api: Api) -> None:
    reply = api.communities(**api.headers())
    assert reply.status_code == 200
    assert reply.json() == {
        c.COMMUNITIES: [
            {c.COMMUNITY_ID: COMMUNITY, c.COMMUNITY_NAME: "Acme Employees"},
            {c.COMMUNITY_ID: OTHER, c.COMMUNITY_NAME: "Globex"},
        ]
    }


def test_default_community_comes_from_config(client: httpx.Client) -> None:
    with SandboxServer() as server:
        reply = Api(server, client).communities(**Api(server, client).headers())
    assert reply.json()[c.COMMUNITIES] == [
        {c.COMMUNITY_ID: "acme-employees", c.COMMUNITY_NAME: "Acme Employees"}
    ]


def test_create_member(api: Api, sandbox: SandboxServer) -> None:
    reply = api.create(member_json(**{c.EXTERNAL_REFERENCE: "HR-123456"}))
    assert reply.status_code == 201
    assert reply.json() == {
        c.EMAIL_ADDRESS: JANE,
        c.FIRST_NAME: "Jane",
        c.LAST_NAME: "Doe",
        c.EXTERNAL_REFERENCE: "HR-123456",
        c.REMAINING_CREDIT: 750.0,
    }
    assert f'"{c.REMAINING_CREDIT}":750.00' in reply.text
    stored = sandbox.state.member(COMMUNITY, JANE)
    assert stored is not None
    assert stored["remaining_credit"] == Decimal("750.00")
    assert stored["external_reference"] == "HR-123456"
    assert sandbox.state.members(OTHER) == []


def test_create_member_without_reference_omits_it(api: Api) -> None:
    reply = api.create(member_json(credits=("750",)))
    assert reply.status_code == 201
    assert c.EXTERNAL_REFERENCE not in reply.json()
    assert f'"{c.REMAINING_CREDIT}":750.00' in reply.text


def test_money_is_exact_decimal_with_two_places(api: Api, sandbox: SandboxServer) -> None:
    created = api.create(member_json(credits=("0.10", "0.20")))
    assert f'"{c.REMAINING_CREDIT}":0.30}}' in created.text
    assert f'"{c.REMAINING_CREDIT}":0.30}}' in api.credit().text
    assert sandbox.state.member(COMMUNITY, JANE)["remaining_credit"] == Decimal("0.30")  # type: ignore[index]
    [logged] = [r for r in sandbox.state.requests if r["operation"] == "createMember"]
    assert logged["body"][c.CREDITS][0][c.CREDIT] == Decimal("0.10")


INVALID_BODIES: list[tuple[str, bytes, set[str]]] = [
    ("bad e-mail", member_json("not-an-email"), {"Member.EmailAddress"}),
    ("e-mail too long", member_json("a" * 64 + "@" + "b" * 186 + ".com"), {"Member.EmailAddress"}),
    ("e-mail not a string", member_json(email=42), {"Member.EmailAddress"}),  # type: ignore[arg-type]
    ("empty first name", member_json(**{c.FIRST_NAME: ""}), {"Member.FirstName"}),
    ("long last name", member_json(**{c.LAST_NAME: "x" * 101}), {"Member.LastName"}),
    (
        "long reference",
        member_json(**{c.EXTERNAL_REFERENCE: "x" * 101}),
        {"Member.ExternalReference"},
    ),
    ("no credits", member_json(credits=()), {"Credits"}),
    ("zero", member_json(credits=("0",)), {"Credits[0].Credit"}),
    ("negative", member_json(credits=("-1.00",)), {"Credits[0].Credit"}),
    ("sub-cent", member_json(credits=("0.001",)), {"Credits[0].Credit"}),
    ("string credit", member_json(credits=('"10.00"',)), {"Credits[0].Credit"}),
    ("second credit", member_json(credits=("1.00", "true")), {"Credits[1].Credit"}),
    ("two fields", member_json("x", credits=("0",)), {"Member.EmailAddress", "Credits[0].Credit"}),
    ("no member", b'{"Credits": [{"Credit": 1}]}', {"Member"}),
    ("not JSON", b"{nope", {"$"}),
    ("NaN", member_json(credits=("NaN",)), {"$"}),
    ("array", b"[]", {"$"}),
]


@pytest.mark.parametrize(
    ("body", "fields"),
    [(body, fields) for _, body, fields in INVALID_BODIES],
    ids=[name for name, _, _ in INVALID_BODIES],
)
def test_create_member_validation_names_the_field(
    api: Api, sandbox: SandboxServer, body: bytes, fields: set[str]
) -> None:
    problem = assert_problem(api.create(body), 400)
    assert set(problem[c.PROBLEM_ERRORS]) == fields
    assert all(problem[c.PROBLEM_ERRORS][name] for name in fields)
    assert sandbox.state.members() == []


def test_create_member_accepts_trailing_zeros_beyond_cents(api: Api) -> None:
    reply = api.create(member_json(credits=("12.3400", "1E+2")))
    assert reply.status_code == 201
    assert f'"{c.REMAINING_CREDIT}":112.34' in reply.text


def test_create_in_unknown_community_is_404(api: Api, sandbox: SandboxServer) -> None:
    assert_problem(api.create(community="other-environment"), 404)
    assert sandbox.state.members() == []


def test_create_existing_member_is_409_case_insensitive(api: Api) -> None:
    assert api.create().status_code == 201
    assert_problem(api.create(member_json(JANE.upper())), 409)
    assert api.create(community=OTHER).status_code == 201  # other community, other member


def test_concurrent_creates_store_one_member(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers() | {"Content-Type": "application/json"}

    def create(_: int) -> int:
        with httpx.Client(timeout=5) as own:
            return own.post(
                api.url(c.members_path(COMMUNITY)), content=member_json(), headers=headers
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [201] + [409] * 7
    assert len(sandbox.state.members()) == 1


def test_delete_member_revokes_the_credit(api: Api, sandbox: SandboxServer) -> None:
    api.create(member_json(credits=("750.00",)))
    reply = api.delete(JANE.upper())
    assert reply.status_code == 200
    assert reply.json() == {c.EMAIL_ADDRESS: JANE, c.REVOKED_CREDIT: 750.0}
    assert f'"{c.REVOKED_CREDIT}":750.00' in reply.text
    assert sandbox.state.member(COMMUNITY, JANE) is None
    assert_problem(api.delete(), 404)


def test_remaining_credit(api: Api, sandbox: SandboxServer) -> None:
    sandbox.state.add_member(COMMUNITY, JANE, "Jane", "Doe", Decimal("10.5"), "HR-1")
    reply = api.credit()
    assert reply.status_code == 200
    assert reply.json()[c.EMAIL_ADDRESS] == JANE
    assert reply.json()[c.EXTERNAL_REFERENCE] == "HR-1"
    assert f'"{c.REMAINING_CREDIT}":10.50' in reply.text


def test_unknown_member_is_404(api: Api) -> None:
    assert_problem(api.credit("nobody@example.com"), 404)
    assert_problem(api.delete("nobody@example.com"), 404)


def test_member_of_another_community_is_404(api: Api, sandbox: SandboxServer) -> None:
    sandbox.state.add_member(OTHER, JANE, "Jane", "Doe", Decimal("1"))
    assert_problem(api.credit(community=COMMUNITY), 404)
    assert_problem(api.credit(community="unknown"), 404)
    assert_problem(api.delete(community="unknown"), 404)
    assert sandbox.state.member(OTHER, JANE) is not None


def test_percent_encoded_email_round_trip(api: Api, sandbox: SandboxServer) -> None:
    email = "jane+test@example.com"
    assert api.create(member_json(email)).status_code == 201
    reply = api.credit(email)
    assert reply.status_code == 200
    assert reply.json()[c.EMAIL_ADDRESS] == email
    assert sandbox.state.requests[-1]["path"].endswith("/members/jane%2Btest%40example.com/credit")
    shouted = api.client.get(
        api.url(f"/v2/communities/{COMMUNITY}/members/JANE%2BTEST%40EXAMPLE.COM/credit"),
        headers=api.headers(),
    )
    assert shouted.json()[c.EMAIL_ADDRESS] == email
    # A literal + in the path is a plus, not a space (unquote, not unquote_plus).
    literal = api.client.get(
        api.url(f"/v2/communities/{COMMUNITY}/members/jane+test@example.com/credit"),
        headers=api.headers(),
    )
    assert literal.status_code == 200
    assert api.delete(email).json()[c.EMAIL_ADDRESS] == email


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", c.members_path(COMMUNITY)),
        ("GET", c.members_path(COMMUNITY)),
        ("POST", c.member_path(COMMUNITY, JANE)),
        ("DELETE", c.LIST_COMMUNITIES),
    ],
)
def test_wrong_method_is_405(api: Api, method: str, path: str) -> None:
    reply = api.client.request(method, api.url(path), headers=api.headers())
    assert_problem(reply, 405)
    assert reply.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/communities-api" + c.LIST_COMMUNITIES, "GET"),
        ("PUT", "/communities-api" + c.member_path(COMMUNITY, JANE), "DELETE"),
        ("PATCH", "/communities-api" + c.members_path(COMMUNITY), "POST"),
        ("OPTIONS", "/communities-api" + c.member_credit_path(COMMUNITY, JANE), "GET"),
        ("HEAD", "/communities-api" + c.LIST_COMMUNITIES, "GET"),  # not documented: not served
        ("TRACE", "/oauth2/token", "POST"),
        ("PUT", "/oauth2/token", "POST"),
        ("TRACE", "/_sandbox/faults", "GET, POST"),
        ("PUT", "/_sandbox/reset", "POST"),
    ],
)
def test_unserved_method_is_405_with_allow_never_501(
    api: Api, sandbox: SandboxServer, method: str, path: str, allowed: str
) -> None:
    reply = api.client.request(method, sandbox.root_url + path, headers=api.headers())
    assert reply.status_code == 405
    assert reply.headers["Allow"] == allowed
    if method != "HEAD":  # a reply to HEAD has no body
        assert_problem(reply, 405)


@pytest.mark.parametrize(
    "path", ["/communities-api/nowhere", "/communities-api/communities/", "/elsewhere", "/"]
)
def test_unknown_path_is_404(api: Api, sandbox: SandboxServer, path: str) -> None:
    assert_problem(
        api.client.get(sandbox.admin_url.removesuffix("/_sandbox") + path, headers=api.headers()),
        404,
    )


def test_operations_are_counted_even_when_they_fail(api: Api, sandbox: SandboxServer) -> None:
    api.communities()  # 401
    api.create(community="unknown")  # token + 404
    api.credit()  # token + 404
    api.delete()  # token + 404
    assert sandbox.state.operation_counts == {
        "listCommunities": 1,
        "getToken": 3,
        "createMember": 1,
        "getRemainingCredit": 1,
        "deleteMember": 1,
    }


def test_requests_to_wrong_paths_are_logged_too(api: Api, sandbox: SandboxServer) -> None:
    api.client.get(api.url("/v1/communities"), headers={c.CORRELATION_HEADER: "corr-2"})
    [entry] = sandbox.state.requests
    assert (entry["path"], entry["operation"], entry["status"]) == (
        "/communities-api/v1/communities",
        None,
        404,
    )
    assert entry["correlation_id"] == "corr-2"


def test_request_log_has_raw_path_headers_body_status(api: Api, sandbox: SandboxServer) -> None:
    api.create(
        member_json("jane+x@example.com", credits=("1.10",)), **{c.CORRELATION_HEADER: "corr-1"}
    )
    entry = sandbox.state.requests[-1]
    assert entry["method"] == "POST"
    assert entry["path"] == "/communities-api" + c.members_path(COMMUNITY)
    assert entry["headers"]["User-Agent"] == USER_AGENT
    assert entry["headers"][c.CORRELATION_HEADER] == "corr-1"
    assert entry["body"][c.CREDITS][0][c.CREDIT] == Decimal("1.10")
    assert entry["status"] == 201


# Connections ---------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        statuses = []
        sockets = []
        for _ in range(3):
            connection.request("GET", "/communities-api/communities", headers=headers)
            reply = connection.getresponse()
            reply.read()
            statuses.append(reply.status)
            sockets.append(connection.sock)
        assert statuses == [200, 200, 200]
        assert sockets[0] is not None and sockets.count(sockets[0]) == 3
    finally:
        connection.close()


def test_kept_alive_replies_are_not_delayed(api: Api, sandbox: SandboxServer) -> None:
    """Nagle's algorithm with the client's delayed ACK would hold each reply ~40 ms on a
    kept-alive connection (waitress sets TCP_NODELAY; see bot.runtime.http_server)."""
    headers = api.headers()
    body = member_json()
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    timings = []
    try:
        for index in range(20):
            started = time.perf_counter()
            if index % 2:
                connection.request("GET", "/communities-api" + c.LIST_COMMUNITIES, headers=headers)
            else:
                connection.request(
                    "POST",
                    "/communities-api" + c.members_path(COMMUNITY),
                    body=body,
                    headers=headers | {"Content-Type": "application/json"},
                )
            connection.getresponse().read()
            timings.append(time.perf_counter() - started)
    finally:
        connection.close()
    assert sorted(timings)[len(timings) // 2] < 0.02, timings


def test_stop_ends_idle_connections_and_frees_the_port(client: httpx.Client) -> None:
    before = set(threading.enumerate())
    server = SandboxServer().start()
    api = Api(server, client)
    assert api.communities(**api.headers()).status_code == 200  # leaves a kept-alive socket
    server.stop()
    assert "communities-sandbox" not in [t.name for t in threading.enumerate()]
    # Its request threads are gone too: stopping did not wait for the idle connection.
    assert not set(threading.enumerate()) - before
    with pytest.raises(httpx.TransportError):
        httpx.get(server.base_url + c.LIST_COMMUNITIES, timeout=1)
    server.stop()  # idempotent


# Faults --------------------------------------------------------------------------------


def test_rate_limit_next_gives_429_with_retry_after(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.rate_limit_next, sandbox.faults.retry_after_seconds = 2, 3
    for _ in range(2):
        reply = api.communities(**headers)
        assert_problem(reply, 429)
        assert reply.headers[c.RETRY_AFTER_HEADER] == "3"
    assert api.communities(**headers).status_code == 200
    assert sandbox.faults.rate_limit_next == 0


def test_fail_next_answers_the_chosen_status(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.fail_next, sandbox.faults.fail_status = 1, 502
    reply = api.communities(**headers)
    assert_problem(reply, 502)
    assert reply.headers[c.CORRELATION_HEADER]
    assert api.communities(**headers).status_code == 200


def test_fault_filtered_by_operation(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.fail_next, sandbox.faults.operation = 1, "createMember"
    assert api.communities(**headers).status_code == 200
    assert_problem(api.create(), 503)
    assert sandbox.state.members() == []
    assert api.create().status_code == 201


def test_faults_spare_the_token_endpoint_unless_aimed_at_it(
    api: Api, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next = 1
    assert api.client.post(sandbox.token_url, data=token_form()).status_code == 200
    assert sandbox.faults.fail_next == 1
    sandbox.faults.operation = "getToken"
    assert_problem(api.client.post(sandbox.token_url, data=token_form()), 503)
    assert sandbox.state.token_requests == 1


def test_error_rate(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.error_rate = 1.0
    assert_problem(api.communities(**headers), 503)
    sandbox.faults.error_rate = 0.0
    assert api.communities(**headers).status_code == 200


def test_hang_next_outlasts_a_client_timeout(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.hang_next, sandbox.faults.hang_seconds = 1, 10
    with httpx.Client(timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(api.url(c.LIST_COMMUNITIES), headers=headers)
    started = time.monotonic()
    assert api.communities(**headers).status_code == 200
    assert time.monotonic() - started < 1


def test_hang_answers_normally_after_the_delay(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    sandbox.faults.hang_next, sandbox.faults.hang_seconds = 1, 0.3
    started = time.monotonic()
    assert api.communities(**headers).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_stop_ends_a_hang_early(client: httpx.Client) -> None:
    server = SandboxServer().start()
    api = Api(server, client)
    headers = api.headers()
    server.faults.hang_next, server.faults.hang_seconds = 1, 60
    errors: queue.Queue[BaseException] = queue.Queue()

    def hung_call() -> None:
        try:
            httpx.get(api.url(c.LIST_COMMUNITIES), headers=headers, timeout=30)
        except httpx.TransportError as exc:
            errors.put(exc)

    caller = threading.Thread(target=hung_call)
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    caller.join(timeout=10)
    assert time.monotonic() - started < 5
    assert not caller.is_alive()
    assert isinstance(errors.get_nowait(), httpx.RemoteProtocolError)


def test_drop_after_create_applies_then_closes(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()  # token fetched first, so the create is the next request
    sandbox.faults.drop_after_create_next = 1
    with pytest.raises(httpx.RemoteProtocolError):
        api.client.post(
            api.url(c.members_path(COMMUNITY)),
            content=member_json(),
            headers=headers | {"Content-Type": "application/json"},
        )
    assert sandbox.state.member(COMMUNITY, JANE) is not None
    assert sandbox.faults.drop_after_create_next == 0
    assert sandbox.state.requests[-1]["status"] is None
    assert_problem(api.create(), 409)  # the retry a careless client would make


def test_drop_next_applies_nothing(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers() | {"Content-Type": "application/json"}
    sandbox.faults.drop_next = 1
    with pytest.raises(httpx.RemoteProtocolError):
        api.client.post(api.url(c.members_path(COMMUNITY)), content=member_json(), headers=headers)
    assert sandbox.state.members() == []
    assert sandbox.faults.drop_next == 0
    assert (
        api.client.post(
            api.url(c.members_path(COMMUNITY)), content=member_json(), headers=headers
        ).status_code
        == 201
    )


def test_latency_is_added_to_every_request(client: httpx.Client) -> None:
    with SandboxServer(latency_ms=100) as server:
        server.faults.latency_ms = 100
        started = time.monotonic()
        token = Api(server, client).token()
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        client.get(
            server.base_url + c.LIST_COMMUNITIES,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
        )
        assert time.monotonic() - started >= 0.2


def test_faults_clear_restores_defaults() -> None:
    faults = SandboxFaults(fail_next=3, operation="createMember", hang_seconds=1)
    faults.clear()
    assert faults == SandboxFaults()


# Admin endpoints -----------------------------------------------------------------------


def test_admin_stats(api: Api, sandbox: SandboxServer) -> None:
    api.create()
    reply = api.client.get(sandbox.admin_url + "/stats")
    assert reply.json() == {
        "token_requests": 1,
        "members": 1,
        "operations": {"getToken": 1, "createMember": 1},
    }


def test_admin_sets_faults(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    reply = api.client.post(
        sandbox.admin_url + "/faults",
        json={
            "rate_limit_next": 1,
            "retry_after_seconds": 7,
            "error_rate": 0,
            "operation": "listCommunities",
        },
    )
    assert reply.status_code == 200
    assert reply.json()["rate_limit_next"] == 1
    assert sandbox.faults.error_rate == 0.0 and isinstance(sandbox.faults.error_rate, float)
    assert api.communities(**headers).headers[c.RETRY_AFTER_HEADER] == "7"
    assert api.client.get(sandbox.admin_url + "/faults").json()["rate_limit_next"] == 0


@pytest.mark.parametrize(
    "changes",
    [{"explode": 1}, {"fail_next": -1}, {"fail_next": "2"}, {"operation": "deleteEverything"}, [1]],
)
def test_admin_refuses_bad_faults(api: Api, sandbox: SandboxServer, changes: Any) -> None:
    reply = api.client.post(sandbox.admin_url + "/faults", json=changes)
    assert_problem(reply, 400)
    assert sandbox.faults == SandboxFaults()


def test_admin_revokes_tokens(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    assert api.client.post(sandbox.admin_url + "/revoke-tokens").status_code == 200
    assert_problem(api.communities(**headers), 401)


def test_admin_reset(api: Api, sandbox: SandboxServer) -> None:
    headers = api.headers()
    api.create()
    sandbox.faults.fail_next = 5
    assert api.client.post(sandbox.admin_url + "/reset").status_code == 200
    assert sandbox.state.members() == []
    assert sandbox.state.token_requests == 0
    assert sandbox.state.operation_counts == {}
    assert sandbox.state.requests == []
    assert sandbox.faults == SandboxFaults()
    assert_problem(api.communities(**headers), 401)  # tokens are forgotten too


def test_admin_lists_members_with_money_as_two_decimals(api: Api, sandbox: SandboxServer) -> None:
    sandbox.state.add_member(COMMUNITY, JANE, "Jane", "Doe", Decimal("10.1"))
    reply = api.client.get(sandbox.admin_url + "/members")
    assert '"remaining_credit":10.10' in reply.text
    assert reply.json()[0]["email"] == JANE
    assert (
        api.client.get(sandbox.admin_url + "/members", params={"community_id": OTHER}).json() == []
    )


def test_admin_unknown_path_and_method(api: Api, sandbox: SandboxServer) -> None:
    assert_problem(api.client.get(sandbox.admin_url + "/nothing"), 404)
    assert_problem(api.client.get(sandbox.admin_url + "/reset"), 405)


# Logging -------------------------------------------------------------------------------


def test_nothing_personal_is_logged(
    api: Api, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.sandbox"):
        api.create(member_json("secret.person@example.com", **{c.FIRST_NAME: "Zebediah"}))
        api.credit("secret.person@example.com")
        api.delete("secret.person@example.com")
    assert any(record.name == "bot.sandbox" for record in caplog.records)
    captured = capfd.readouterr()
    for text in (caplog.text, captured.out, captured.err):
        assert "secret.person" not in text
        assert "Zebediah" not in text


def test_a_dropped_reply_is_logged_without_its_path(
    api: Api, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    headers = api.headers()
    sandbox.faults.drop_next = 1
    with caplog.at_level(logging.DEBUG), pytest.raises(httpx.RemoteProtocolError):
        # waitress logs the drop before it closes the connection
        api.client.get(
            api.url(c.member_credit_path(COMMUNITY, "secret.person@example.com")), headers=headers
        )
    logged = [record.getMessage() for record in caplog.records if record.name == "waitress"]
    assert logged  # "Client disconnected"
    assert not [line for line in logged if "secret.person" in line or "members" in line]


# The standalone process ----------------------------------------------------------------

LAUNCHER = (
    "import sys; from bot.sandbox.cli import run_standalone; "
    "run_standalone('127.0.0.1', int(sys.argv[1]))"
)


@dataclass
class Standalone:
    process: subprocess.Popen[str]
    lines: queue.Queue[str]
    output: list[str]

    def wait_for(self, fragment: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if fragment in line:
                return line
        raise AssertionError(f"no line with {fragment!r} in: {''.join(self.output)}")


def _start_standalone(tmp_path: Path, port: int, env: dict[str, str]) -> Standalone:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COMMUNITIES_", "SANDBOX_", "COMMUNITY_"))
    }
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(port)],
        cwd=tmp_path,
        text=True,
        env=clean | {"PYTHONPATH": str(REPO_ROOT)} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return Standalone(process, lines, output)


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[list[Standalone]]:
    started: list[Standalone] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=10)


def test_standalone_with_credentials_from_environment(
    tmp_path: Path, standalone: list[Standalone]
) -> None:
    port = free_port()
    run = _start_standalone(
        tmp_path,
        port,
        {
            "COMMUNITIES_CLIENT_ID": "env-client",
            "COMMUNITIES_CLIENT_SECRET": "env-secret-xyz",
            "SANDBOX_COMMUNITIES": "team-a:Team A,team-b:Team B",
        },
    )
    standalone.append(run)
    api_line = run.wait_for("COMMUNITIES_API_URL=")
    base_url = api_line.split("=", 1)[1].strip()
    assert base_url == f"http://127.0.0.1:{port}/communities-api"
    run.wait_for("Ctrl+C")
    token = httpx.post(
        f"http://127.0.0.1:{port}/oauth2/token",
        data=token_form(client_id="env-client", client_secret="env-secret-xyz"),
    )
    listed = httpx.get(
        base_url + c.LIST_COMMUNITIES,
        headers={
            "Authorization": f"Bearer {token.json()[c.TOKEN_ACCESS_TOKEN]}",
            "User-Agent": USER_AGENT,
        },
    )
    assert [item[c.COMMUNITY_ID] for item in listed.json()[c.COMMUNITIES]] == ["team-a", "team-b"]
    os.kill(run.process.pid, signal.SIGTERM)
    assert run.process.wait(timeout=10) == 0
    run.wait_for("Stopped.")
    printed = "".join(run.output)
    assert "SANDBOX" in printed
    assert f"COMMUNITIES_TOKEN_URL=http://127.0.0.1:{port}/oauth2/token" in printed
    assert "team-a (Team A)" in printed
    assert "(from COMMUNITIES_CLIENT_SECRET)" in printed
    assert "env-secret-xyz" not in printed


def test_standalone_with_defaults_prints_them_and_stops_on_sigint(
    tmp_path: Path, standalone: list[Standalone]
) -> None:
    port = free_port()
    run = _start_standalone(tmp_path, port, {})
    standalone.append(run)
    run.wait_for("Ctrl+C")
    reply = httpx.post(f"http://127.0.0.1:{port}/oauth2/token", data=token_form())
    assert reply.status_code == 200
    os.kill(run.process.pid, signal.SIGINT)
    assert run.process.wait(timeout=10) == 0
    printed = "".join(run.output)
    assert "sandbox-client" in printed and "sandbox-secret" in printed
    assert "acme-employees (Acme Employees)" in printed
