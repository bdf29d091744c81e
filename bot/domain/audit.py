"""The audit trail: who did what to which request, when, with what outcome.

Entries live in a Redis Stream (append-only, ordered, trimmed at a million entries).
The e-mail address is kept here because the trail must say whom a request was about;
it is the only place personal data is written outside the request itself.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import redis

from bot.domain.requests import MemberRequest
from bot.domain.store import AUDIT_STREAM

COLUMNS = ["at", "request_id", "action", "actor", "operation", "community_id", "email",
           "credit", "status", "correlation_id", "detail"]


def entry(request: MemberRequest, action: str, actor: str, *, detail: str = "",
          correlation_id: str = "") -> list[str]:
    """A flat field/value list, as XADD (and the Lua scripts) take it. `status` is added
    by whoever writes it, from the state actually reached."""
    return [
        "at", datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id", request.id,
        "action", action,
        "actor", actor,
        "operation", request.operation.value,
        "community_id", request.community_id,
        "email", request.email,
        "credit", str(request.credit or ""),
        "correlation_id", correlation_id or request.correlation_id,
        "detail", detail,
    ]


def read_entries(client: redis.Redis, request_id: str | None = None) -> list[dict[str, str]]:
    rows = [fields for _, fields in client.xrange(AUDIT_STREAM)]
    if request_id is not None:
        rows = [row for row in rows if row.get("request_id") == request_id]
    return rows


def export_csv(client: redis.Redis) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in read_entries(client):
        # A leading = + - @ would make a spreadsheet run it as a formula.
        writer.writerow({key: _no_formula(row.get(key, "")) for key in COLUMNS})
    return out.getvalue()


def _no_formula(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
