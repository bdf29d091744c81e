"""The audit trail: who did what to which request, when, with what outcome.

Entries are flat field/value lists (as Redis's XADD and the Lua scripts take them); the
trail itself is kept by bot.storage.audit_log. The e-mail address is kept here because
the trail must say whom a request was about; it is the only place personal data is
written outside the request itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import IO

from bot.domain.requests import MemberRequest
from bot.i18n import N_, csv_style, current, decimal_for_csv, t

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

# The header row as a reader sees it (the English one is the column names themselves).
HEADERS = {
    "at": N_("at"),
    "request_id": N_("request_id"),
    "action": N_("action"),
    "actor": N_("actor"),
    "operation": N_("operation"),
    "community_id": N_("community_id"),
    "email": N_("email"),
    "credit": N_("credit"),
    "status": N_("status"),
    "correlation_id": N_("correlation_id"),
    "detail": N_("detail"),
}

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
    Rows are written as they come, so a long trail never sits in memory whole.

    In the reader's spreadsheet style (`i18n.csv_style`, the language in force): for a
    Dutch reader `;` between cells, a BOM first (written as U+FEFF, so `out` opened as
    UTF-8 gets the utf-8-sig bytes), Dutch headers and credit as `1234,56`. English is
    written as it always was."""
    style = csv_style()
    if style.encoding == "utf-8-sig":
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=style.delimiter)
    writer.writerow([t(HEADERS[key]) for key in COLUMNS])
    local = current() != "en"
    count = 0
    for row in rows:
        cells = {key: row.get(key, "") for key in COLUMNS}
        if local:
            cells["credit"] = _credit(cells["credit"])
        writer.writerow([spreadsheet_safe(cells[key]) for key in COLUMNS])
        count += 1
    return count


def _credit(text: str) -> str:
    """A stored credit (`1234.56`) as the reader's spreadsheet reads a number."""
    try:
        return decimal_for_csv(Decimal(text)) if text else text
    except InvalidOperation:
        return text


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
