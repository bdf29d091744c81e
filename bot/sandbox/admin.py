"""The sandbox's admin endpoints (not part of the contract): for tests and benchmarks that
drive a sandbox running in another process. Under /_sandbox; never logged as API calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.routing.exceptions import RequestRedirect
from werkzeug.wrappers import Request, Response

from bot.sandbox.state import OPERATIONS, SandboxFaults, SandboxState
from bot.sandbox.wire import Exactly, allow, json_reply, parse_json, problem

_FAULT_TYPES: dict[str, type] = {
    "latency_ms": int,
    "error_rate": float,
    "rate_limit_next": int,
    "retry_after_seconds": int,
    "fail_next": int,
    "fail_status": int,
    "hang_next": int,
    "hang_seconds": float,
    "drop_after_create_next": int,
    "drop_next": int,
    "operation": str,
    "rate_limit_operation": str,
}


ROUTES = Map(
    [
        Exactly("/stats", "stats", "GET"),
        Exactly("/faults", "faults", "GET"),
        Exactly("/faults", "set_faults", "POST"),
        Exactly("/revoke-tokens", "revoke_tokens", "POST"),
        Exactly("/reset", "reset", "POST"),
        Exactly("/members", "members", "GET"),
    ],
    strict_slashes=True,
    merge_slashes=False,
    redirect_defaults=False,
)


class AdminApp:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._routes = ROUTES.bind("sandbox")
        self._endpoints: dict[str, Callable[[Request, bytes], Response]] = {
            "stats": self._stats,
            "faults": self._faults,
            "set_faults": self._set_faults,
            "revoke_tokens": self._revoke_tokens,
            "reset": self._reset,
            "members": self._members,
        }

    def handle(self, request: Request, body: bytes, path: str) -> Response:
        """`path` is relative to /_sandbox."""
        try:
            endpoint, _ = self._routes.match(path, method=request.method)
        except MethodNotAllowed as refused:
            return problem(
                405, "Method not allowed on this path.", headers=allow(refused.valid_methods)
            )
        except (NotFound, RequestRedirect):
            return problem(404, "No such sandbox admin path.")
        return self._endpoints[str(endpoint)](request, body)

    def _stats(self, request: Request, body: bytes) -> Response:
        return json_reply(
            200,
            {
                "token_requests": self.state.token_requests,
                "operations": self.state.operation_counts,
                "members": len(self.state.members()),
            },
        )

    def _faults(self, request: Request, body: bytes) -> Response:
        return json_reply(
            200,
            {spec.name: getattr(self.state.faults, spec.name) for spec in fields(SandboxFaults)},
        )

    def _set_faults(self, request: Request, body: bytes) -> Response:
        try:
            changes = parse_json(body)
        except (ValueError, UnicodeDecodeError):
            changes = None
        errors = _fault_errors(changes)
        if errors:
            return problem(400, "Not a valid set of sandbox faults.", errors=errors)
        assert isinstance(changes, dict)
        for name, value in changes.items():
            setattr(self.state.faults, name, float(value) if _FAULT_TYPES[name] is float else value)
        return self._faults(request, body)

    def _revoke_tokens(self, request: Request, body: bytes) -> Response:
        self.state.revoke_tokens()
        return json_reply(200, {"revoked": True})

    def _reset(self, request: Request, body: bytes) -> Response:
        self.state.reset()
        return json_reply(200, {"reset": True})

    def _members(self, request: Request, body: bytes) -> Response:
        return json_reply(200, self.state.members(request.args.get("community_id")))


def _fault_errors(changes: Any) -> dict[str, list[str]]:
    if not isinstance(changes, dict):
        return {"$": ["Send a JSON object of SandboxFaults fields."]}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        expected = _FAULT_TYPES.get(name)
        if expected is None:
            errors[name] = ["Unknown fault."]
        elif name in ("operation", "rate_limit_operation"):
            if value is not None and value not in OPERATIONS:
                errors[name] = [f"One of {', '.join(OPERATIONS)}, or null."]
        elif not _non_negative(value, allow_fraction=expected is float):
            errors[name] = [f"A non-negative {'number' if expected is float else 'integer'}."]
    return errors


def _non_negative(value: Any, allow_fraction: bool) -> bool:
    accepted = (int, Decimal) if allow_fraction else (int,)
    return not isinstance(value, bool) and isinstance(value, accepted) and value >= 0
