"""What the sandbox puts on the wire: JSON with exact money, problem details replies, and
the routes' 405s."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from bot.communities import contract as c
from bot.domain.money import money_json

JSON = "application/json"


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonNumber(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """JSON with every fraction as Decimal (never float) and NaN/Infinity refused."""
    return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)


def dumps(value: Any) -> str:
    """JSON text with money (Decimal) as a number with exactly two decimals: 0.30."""
    return money_json(value, allow_float=True)


def json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value).encode(), status, headers, content_type=JSON)


_PROBLEM_TYPES = {
    400: "rfc9110#section-15.5.1",
    401: "rfc9110#section-15.5.2",
    404: "rfc9110#section-15.5.5",
    405: "rfc9110#section-15.5.6",
    409: "rfc9110#section-15.5.10",
    413: "rfc9110#section-15.5.14",
    429: "rfc6585#section-4",
    500: "rfc9110#section-15.6.1",
    503: "rfc9110#section-15.6.4",
}


def problem(
    status: int,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
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
    return Response(dumps(body).encode(), status, headers, content_type=c.PROBLEM_CONTENT_TYPE)


class Exactly(Rule):
    """A route for exactly one method. werkzeug would also answer HEAD wherever GET is
    served; the contract documents no HEAD, so it gets the 405 any other method gets."""

    def __init__(self, string: str, endpoint: str, method: str) -> None:
        super().__init__(string, endpoint=endpoint, methods=[method])
        self.methods = {method}


def allow(methods: Iterable[str] | None) -> dict[str, str]:
    """The `Allow` header of a 405, from what werkzeug's router found for the path."""
    return {"Allow": ", ".join(sorted(methods or []))}
