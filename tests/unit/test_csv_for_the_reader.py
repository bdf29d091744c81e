"""CSV files the Slack side writes for a person: English exactly as before, Dutch as Dutch
Excel opens them (`;`, decimal comma, Dutch column names)."""

from __future__ import annotations

import csv
import io

from bot import i18n
from bot.domain import audit
from bot.slack.import_notifier import _csv_amount, _outcome
from bot.slack.listeners.commands.audit_trail import write_for_reader

ROWS = [
    {
        "at": "2026-12-08T10:00:00Z",
        "request_id": "R1",
        "action": "filed",
        "actor": "U0ALICE",
        "operation": "add",
        "community_id": "acme",
        "email": "jane@example.com",
        "credit": "1234.5",
        "status": "pending",
        "correlation_id": "",
        "detail": "=HYPERLINK(1)",
    }
]


def test_an_english_audit_trail_is_what_the_domain_writes() -> None:
    ours, theirs = io.StringIO(), io.StringIO()
    assert write_for_reader(ROWS, ours) == audit.write_csv(ROWS, theirs) == 1
    assert ours.getvalue() == theirs.getvalue()


def test_a_dutch_audit_trail_has_semicolons_dutch_headers_and_a_decimal_comma() -> None:
    out = io.StringIO()
    with i18n.use("nl"):
        assert write_for_reader(ROWS, out) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))
    assert header[0] == "tijdstip" and header[7] == "tegoed"
    assert row[7] == "1234,50"
    assert row[10] == "'=HYPERLINK(1)"  # still safe to open in a spreadsheet


def test_result_cells_in_the_readers_words() -> None:
    assert (_csv_amount("10.00"), _outcome("created"), _outcome("weird")) == (
        "10.00",
        "created",
        "weird",
    )
    with i18n.use("nl"):
        assert (_csv_amount("10.00"), _outcome("created"), _outcome("refused")) == (
            "10,00",
            "aangemeld",
            "geweigerd",
        )
