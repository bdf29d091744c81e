"""The sandbox conforms to the contract the repository carries
(bot/communities/communities-api.openapi.yaml).

Two halves, both through schemathesis against a real SandboxServer on loopback:
- one deterministic scenario for every documented (operation, status) pair, so each
  response schema and header the contract documents is checked at least once;
- property-based requests for every operation (valid data), each response checked
  against the contract (status documented, content type, schema, headers, no 5xx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.communities import contract as c
from bot.runtime.settings import DEFAULT_SANDBOX_CLIENT_ID, DEFAULT_SANDBOX_CLIENT_SECRET
from bot.sandbox import SandboxServer

CONTRACT = Path(c.__file__).with_name("communities-api.openapi.yaml")

COMMUNITY = "acme-employees"
USER_AGENT = {"User-Agent": "Coolblue-ContractTest"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_path(
    CONTRACT,
    config=schemathesis.Config.from_dict(
        {
            # Known community, so generated requests get past the 404 to the interesting parts.
            "parameters": {"path.communityId": COMMUNITY},
            "generation": {"mode": "positive", "max-examples": 25},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "suppress-health-check": ["too_slow", "filter_too_much"],
        }
    ),
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(communities=[(COMMUNITY, "Acme Employees")]) as server:
        yield server


@pytest.fixture(scope="module")
def auth(sandbox: SandboxServer) -> dict[str, str]:
    reply = httpx.post(
        sandbox.token_url,
        data={
            c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE,
            c.TOKEN_FIELD_CLIENT_ID: sandbox.state.client_id,
            c.TOKEN_FIELD_CLIENT_SECRET: sandbox.state.client_secret,
        },
    )
    return {"Authorization": f"Bearer {reply.json()[c.TOKEN_ACCESS_TOKEN]}"}


def _base_url(sandbox: SandboxServer, path: str) -> str:
    # The token endpoint lives on the environment host (its own `servers` entry).
    return sandbox.root_url if path == "/oauth2/token" else sandbox.base_url


# Deterministic: every documented (operation, status) ------------------------------------


def _documented() -> set[tuple[str, int]]:
    raw = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return {
        (operation["operationId"], int(status))
        for item in raw["paths"].values()
        for method, operation in item.items()
        if isinstance(operation, dict) and method in ("get", "post", "delete", "put")
        for status in operation["responses"]
    }


def _member_body(email: str, credit: Decimal = Decimal("750.00")) -> dict[str, Any]:
    return {
        c.MEMBER_OBJECT: {
            c.EMAIL_ADDRESS: email,
            c.FIRST_NAME: "Jane",
            c.LAST_NAME: "Doe",
            c.EXTERNAL_REFERENCE: "HR-1",
        },
        c.CREDITS: [{c.CREDIT: float(credit)}],
    }


Scenario = Callable[[SandboxServer], dict[str, Any]]
FORM = "application/x-www-form-urlencoded"


def _token_form(**overrides: str) -> dict[str, Any]:
    form = {
        c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE,
        c.TOKEN_FIELD_CLIENT_ID: DEFAULT_SANDBOX_CLIENT_ID,
        c.TOKEN_FIELD_CLIENT_SECRET: DEFAULT_SANDBOX_CLIENT_SECRET,
    }
    return {"body": form | overrides, "media_type": FORM}


def _seeded(email: str) -> Scenario:
    def arrange(sandbox: SandboxServer) -> dict[str, Any]:
        if sandbox.state.member(COMMUNITY, email) is None:
            sandbox.state.add_member(COMMUNITY, email, "Jane", "Doe", Decimal("10.10"), "HR-9")
        return {"path_parameters": {"communityId": COMMUNITY, "emailAddress": email}}

    return arrange


def _rate_limited(operation: str, email: str) -> Scenario:
    def arrange(sandbox: SandboxServer) -> dict[str, Any]:
        sandbox.faults.operation, sandbox.faults.rate_limit_next = operation, 1
        if operation == "createMember":
            return {
                "path_parameters": {"communityId": COMMUNITY},
                "body": _member_body(email),
                "media_type": "application/json",
            }
        return {"path_parameters": {"communityId": COMMUNITY, "emailAddress": email}}

    return arrange


def _fixed(**kwargs: Any) -> Scenario:
    return lambda sandbox: kwargs


def _bad_user_agent(**kwargs: Any) -> Scenario:
    # Malformed rather than missing: schemathesis sends a User-Agent of its own when the
    # case has none (test_sandbox.py sends requests without one).
    return _fixed(headers={"User-Agent": "python-httpx/0.28"}, **kwargs)


MEMBER_PATH = {"communityId": COMMUNITY, "emailAddress": "nobody@example.com"}
SCENARIOS: dict[tuple[str, int], tuple[Scenario, bool]] = {
    # (operation, status): (arrange, send a valid token)
    ("getToken", 200): (_fixed(**_token_form()), False),
    ("getToken", 400): (_fixed(**_token_form(grant_type="password")), False),
    ("getToken", 401): (_fixed(**_token_form(client_secret="wrong")), False),
    ("listCommunities", 200): (_fixed(), True),
    ("listCommunities", 400): (_bad_user_agent(), True),
    ("listCommunities", 401): (_fixed(), False),
    ("createMember", 201): (
        _fixed(
            path_parameters={"communityId": COMMUNITY},
            body=_member_body("new@example.com"),
            media_type="application/json",
        ),
        True,
    ),
    ("createMember", 400): (
        _fixed(
            path_parameters={"communityId": COMMUNITY},
            body=_member_body("not-an-email", Decimal("0.001")),
            media_type="application/json",
        ),
        True,
    ),
    ("createMember", 401): (
        _fixed(
            path_parameters={"communityId": COMMUNITY},
            body=_member_body("x@example.com"),
            media_type="application/json",
        ),
        False,
    ),
    ("createMember", 404): (
        _fixed(
            path_parameters={"communityId": "other-environment"},
            body=_member_body("x@example.com"),
            media_type="application/json",
        ),
        True,
    ),
    ("createMember", 409): (
        lambda sandbox: (
            _seeded("taken@example.com")(sandbox)
            | {
                "path_parameters": {"communityId": COMMUNITY},
                "body": _member_body("TAKEN@example.com"),
                "media_type": "application/json",
            }
        ),
        True,
    ),
    ("createMember", 429): (_rate_limited("createMember", "limited@example.com"), True),
    ("deleteMember", 200): (_seeded("leaver@example.com"), True),
    ("deleteMember", 400): (_bad_user_agent(path_parameters=MEMBER_PATH), True),
    ("deleteMember", 401): (_fixed(path_parameters=MEMBER_PATH), False),
    ("deleteMember", 404): (_fixed(path_parameters=MEMBER_PATH), True),
    ("deleteMember", 429): (_rate_limited("deleteMember", "x@example.com"), True),
    ("getRemainingCredit", 200): (_seeded("stayer@example.com"), True),
    ("getRemainingCredit", 400): (_bad_user_agent(path_parameters=MEMBER_PATH), True),
    ("getRemainingCredit", 401): (_fixed(path_parameters=MEMBER_PATH), False),
    ("getRemainingCredit", 404): (_fixed(path_parameters=MEMBER_PATH), True),
    ("getRemainingCredit", 429): (_rate_limited("getRemainingCredit", "x@example.com"), True),
}


def test_every_documented_status_has_a_scenario() -> None:
    assert set(SCENARIOS) == _documented()


@pytest.mark.parametrize(("operation_id", "status"), sorted(SCENARIOS))
def test_documented_response(
    sandbox: SandboxServer, auth: dict[str, str], operation_id: str, status: int
) -> None:
    arrange, authorized = SCENARIOS[(operation_id, status)]
    operation = schema.find_operation_by_id(operation_id)
    headers = (USER_AGENT | auth) if authorized else dict(USER_AGENT)
    if operation_id != "getToken" and not authorized:
        headers["Authorization"] = "Bearer not-a-token"
    arranged = dict(arrange(sandbox))
    headers |= arranged.pop("headers", {})
    case = schema.make_case(operation=operation, headers=headers, **arranged)
    try:
        response = case.call_and_validate(
            base_url=_base_url(sandbox, operation.path), checks=CHECKS
        )
    finally:
        sandbox.faults.clear()
    assert response.status_code == status, response.text


# Property-based: valid requests of every operation ----------------------------------------


@schema.parametrize()
def test_generated_requests_conform(
    case: schemathesis.Case, sandbox: SandboxServer, auth: dict[str, str]
) -> None:
    headers = auth if case.operation.path != "/oauth2/token" else None
    response = case.call_and_validate(
        base_url=_base_url(sandbox, case.operation.path), headers=headers, checks=CHECKS
    )
    assert response.status_code < 500
