"""/community audit: the audit trail as CSV, sent to the admin by DM, written for them: in
English as bot.domain.audit writes it; in Dutch with `;`, decimal commas, Dutch column
names and a BOM, so Dutch Excel opens it as columns."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO

from bot import i18n
from bot.domain import audit
from bot.i18n import N_, t
from bot.slack.listeners.commands.invocation import Invocation

# bot.domain.audit.COLUMNS in the reader's words (the English file keeps the names).
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


def send_audit_trail(call: Invocation) -> None:
    channel = call.client.conversations_open(users=call.user_id)["channel"]["id"]
    # The bot's clock, as every time in the trail (the console moves it with `clock +2d`).
    stamp = datetime.fromtimestamp(call.services.clock.now(), UTC).strftime("%Y%m%d-%H%M%S")
    style = i18n.csv_style()
    # Written to a temporary file a page at a time: a long trail never sits in memory whole.
    with tempfile.NamedTemporaryFile(
        "w+", suffix=".csv", newline="", encoding=style.encoding
    ) as out:
        write_for_reader(call.services.audit_log.entries(), out)
        out.flush()
        call.client.files_upload_v2(
            channel=channel,
            file=out.name,
            filename=f"community-audit-{stamp}.csv",
            title=t("Community Bot audit trail"),
            initial_comment=t("The audit trail you asked for."),
        )
    call.respond({"response_type": "ephemeral", "text": t("Sent the audit trail to your DMs.")})


def write_for_reader(rows: Iterable[dict[str, str]], out: IO[str]) -> int:
    """The trail as CSV in the reader's language: English exactly as bot.domain.audit
    writes it; otherwise the reader's separator, column names and decimal mark."""
    if i18n.current() == "en":
        return audit.write_csv(rows, out)
    writer = csv.writer(out, delimiter=i18n.csv_style().delimiter)
    writer.writerow([t(HEADERS[key]) if key in HEADERS else key for key in audit.COLUMNS])
    count = 0
    for row in rows:
        cells = {key: row.get(key, "") for key in audit.COLUMNS}
        if "credit" in cells:
            cells["credit"] = _amount(cells["credit"])
        writer.writerow([audit.spreadsheet_safe(cells[key]) for key in audit.COLUMNS])
        count += 1
    return count


def _amount(text: str) -> str:
    if not text:
        return text
    try:
        return i18n.decimal_for_csv(Decimal(text))
    except (InvalidOperation, ValueError):
        return text
