"""CSV files the Slack side writes for a person: English exactly as before, Dutch as Dutch
Excel opens them (`;`, decimal comma, Dutch column names)."""

from __future__ import annotations

from bot import i18n
from bot.slack.import_notifier import _csv_amount, _outcome

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
