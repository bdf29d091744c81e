"""The sandbox and its contract agree at every boundary (issue 17, item 12).

Every constrained field of the createMember body in the contract
(bot/communities/communities-api.openapi.yaml) gets its boundary values: the minimum, the
maximum, just past each, and decimals. Each body is sent to a real SandboxServer over
loopback, and the sandbox must accept (201) exactly the bodies the schema accepts (400
otherwise), the schema read with exact decimals.

Numbers are sent twice: as exact text, and as the JSON of the nearest binary float, which
is what schemathesis (and any tool reading the contract with PyYAML) sends. So every
number in the contract must also mean the same as a float: a maximum of
999999999999999.99 is 1e15 to such a tool, which then sends 1000000000000000.0 as a valid
credit, and the sandbox refused it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from bot.communities import contract as c
from bot.sandbox import SandboxServer

CONTRACT = Path(c.__file__).with_name("communities-api.openapi.yaml")
COMMUNITY = "acme-employees"
NUMBER_LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
CENT = Decimal("0.01")
_unique = itertools.count()


class _DecimalLoader(yaml.SafeLoader):
    """YAML with every float read exactly, from its text."""


_DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node))
)


def _contract(loader: type[yaml.SafeLoader]) -> dict[str, Any]:
    return yaml.load(CONTRACT.read_text(encoding="utf-8"), Loader=loader)


EXACT = _contract(_DecimalLoader)
AS_FLOATS = _contract(yaml.SafeLoader)
BODY_SCHEMA = EXACT["components"]["schemas"]["CreateMemberRequest"]


def _constrained(schema: dict[str, Any], path: tuple[Any, ...] = ()) -> Iterator[tuple]:
    """(path in the body, the field's schema) of every field with a limit."""
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from _constrained(sub, (*path, name))
    elif schema.get("type") == "array":
        if "minItems" in schema or "maxItems" in schema:
            yield path, schema
        yield from _constrained(schema["items"], (*path, 0))
    elif any(limit in schema for limit in ("minLength", "maxLength", *NUMBER_LIMITS)):
        yield path, schema


def _email(length: int) -> str:
    """A syntactically valid, unique address of exactly `length` characters (>= 12)."""
    local = (f"u{next(_unique)}x" + "a" * 64)[: min(64, length - 8)]
    left = length - len(local) - 1 - len(".nl")
    labels = []
    while left > 0:
        size = min(63, left if left <= 63 else left - 2)  # keep >= 1 for the next label
        labels.append("b" * size)
        left -= size + 1
    domain = ".".join(labels) + ".nl"
    address = f"{local}@{domain}"
    assert len(address) == length, (len(address), length)
    return address


def _strings(field: str, schema: dict[str, Any]) -> Iterator[str]:
    lowest = int(schema.get("minLength", 0))
    lengths = {lowest, lowest + 1}
    if lowest > 0:
        lengths.add(lowest - 1)
    if "maxLength" in schema:
        highest = int(schema["maxLength"])
        lengths |= {highest - 1, highest, highest + 1}
    for length in sorted(lengths):
        if field == c.EMAIL_ADDRESS:
            if length >= 12:  # a shorter valid address is not a length boundary
                yield _email(length)
        else:
            yield "J" * length


def _numbers(schema: dict[str, Any]) -> Iterator[Decimal]:
    step = schema.get("multipleOf", CENT)
    for limit in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if limit in schema:
            edge = Decimal(schema[limit])
            yield from (edge - step, edge, edge + step, edge - step / 10, edge + step / 10)
    yield from (Decimal("10.1"), Decimal("10.10"), Decimal("10.001"), Decimal("10.005"))
    yield from (Decimal("1"), Decimal("1.000"), Decimal("1E+1"), Decimal("1e-2"), Decimal("-1"))


def _cases() -> Iterator[tuple[tuple[Any, ...], Any]]:
    for path, schema in _constrained(BODY_SCHEMA):
        if schema.get("type") == "array":
            yield path, []  # minItems: 1
            continue
        if schema.get("type") == "string":
            for text in _strings(path[-1], schema):
                yield path, text
        else:
            for number in _numbers(schema):
                yield path, number


CASES = list(_cases())


def _base() -> dict[str, Any]:
    return {
        c.MEMBER_OBJECT: {
            c.EMAIL_ADDRESS: f"base{next(_unique)}@example.com",
            c.FIRST_NAME: "Jane",
            c.LAST_NAME: "Doe",
            c.EXTERNAL_REFERENCE: "HR-1",
        },
        c.CREDITS: [{c.CREDIT: Decimal("10.00")}],
    }


def _with(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def _json(body: Any, number: Any = str) -> str:
    """JSON text; each Decimal written as `number(value)` says (its exact text by default)."""
    raw: list[str] = []

    def mark(value: Any) -> str:
        if isinstance(value, Decimal):
            raw.append(number(value))
            return f"@@{len(raw) - 1}@@"
        raise TypeError(type(value))

    text = json.dumps(body, default=mark)
    for index, found in enumerate(raw):
        text = text.replace(f'"@@{index}@@"', found)
    return text


def _schema_accepts(text: str) -> bool:
    validator = jsonschema.Draft202012Validator(BODY_SCHEMA)
    return validator.is_valid(json.loads(text, parse_float=Decimal))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(communities=[(COMMUNITY, "Acme Employees")]) as server:
        yield server


@pytest.fixture(scope="module")
def headers(sandbox: SandboxServer) -> dict[str, str]:
    reply = httpx.post(
        sandbox.token_url,
        data={
            c.TOKEN_FIELD_GRANT_TYPE: c.TOKEN_GRANT_TYPE,
            c.TOKEN_FIELD_CLIENT_ID: sandbox.state.client_id,
            c.TOKEN_FIELD_CLIENT_SECRET: sandbox.state.client_secret,
        },
    )
    return {
        "Authorization": f"Bearer {reply.json()[c.TOKEN_ACCESS_TOKEN]}",
        "User-Agent": "Coolblue-BoundaryTest",
        "Content-Type": "application/json",
    }


def _numbers_in(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NUMBER_LIMITS:
                yield key, value
            yield from _numbers_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _numbers_in(item)


def test_every_number_in_the_contract_means_the_same_as_a_float() -> None:
    exact = list(_numbers_in(EXACT))
    floats = list(_numbers_in(AS_FLOATS))
    assert exact and len(exact) == len(floats)
    for (name, precise), (_, approximate) in zip(exact, floats, strict=True):
        assert Decimal(repr(approximate)) == Decimal(precise), (
            f"{name}: {precise} in the contract is {approximate!r} to a tool reading floats"
        )


def test_the_cases_cover_every_constrained_field() -> None:
    covered = {path for path, _ in CASES}
    assert covered == {path for path, _ in _constrained(BODY_SCHEMA)}
    assert (c.CREDITS, 0, c.CREDIT) in covered and (c.MEMBER_OBJECT, c.FIRST_NAME) in covered


@pytest.mark.parametrize(
    ("path", "value"), CASES, ids=[f"{'.'.join(map(str, p))}={str(v)[:24]}" for p, v in CASES]
)
def test_the_sandbox_accepts_exactly_what_the_schema_accepts(
    sandbox: SandboxServer, headers: dict[str, str], path: tuple[Any, ...], value: Any
) -> None:
    writings = [str] if not isinstance(value, Decimal) else [str, lambda d: json.dumps(float(d))]
    url = f"{sandbox.base_url}/v2/communities/{COMMUNITY}/members"
    for write in writings:
        text = _json(_with(_base(), path, value), number=write)
        expected = 201 if _schema_accepts(text) else 400
        reply = httpx.post(url, content=text.encode(), headers=headers, timeout=10)
        assert reply.status_code == expected, (text, reply.text)
