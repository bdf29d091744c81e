"""The audit trail: who did what to which request, when, with what outcome.

Entries are flat field/value lists (as Redis's XADD and the Lua scripts take them); the
trail itself is kept by bot.storage.audit_log. The e-mail address is kept here because
the trail must say whom a request was about; it is the only place personal data is
written outside the request itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from bot.domain.requests import MemberRequest

COLUMNS = [
    "at",
    "request_id",
    "action",
    "actor",
    "operation",
    "community_id",
    "email",
    "credit",
    "status",
    "correlation_id",
    "detail",
]

# A cell starting with one of these is run as a formula by spreadsheets (CWE-1236); a
# leading tab or carriage return hides one from a quick look and some importers strip it.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def entry(
    request: MemberRequest, action: str, actor: str, *, detail: str = "", correlation_id: str = ""
) -> list[str]:
    """A flat field/value list. The store that writes it adds `at` (from the bot's clock)
    and `status` (the state actually reached)."""
    return fields(
        request_id=request.id,
        action=action,
        actor=actor,
        operation=request.operation.value,
        community_id=request.community_id,
        email=request.email,
        credit=str(request.credit or ""),
        correlation_id=correlation_id or request.correlation_id,
        detail=detail,
    )


def fields(**values: str) -> list[str]:
    """Field/value pairs flattened, as XADD and the Lua scripts take them."""
    return [item for pair in values.items() for item in pair]


def write_csv(rows: Iterable[dict[str, str]], out: IO[str]) -> int:
    """Write the trail as CSV, safe to open in a spreadsheet; returns the row count.
    Rows are written as they come, so a long trail never sits in memory whole."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: spreadsheet_safe(row.get(key, "")) for key in COLUMNS})
        count += 1
    return count


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
