"""The Block Kit builders in Dutch: every sentence is translated, amounts and counts are
CLDR Dutch, and Slack's limits still hold (Dutch is longer than English)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from bot import i18n
from bot.communities import Community
from bot.domain.bulk import ImportRequest, ImportStatus
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.roles import Role
from bot.slack.blocks import imports, modals, requests
from bot.slack.blocks.home import home_view

FILED = 1_800_000_000.0
HOUR = 3600.0
COMMUNITIES = [Community(id="cc-acme-nl", name="Acme NL")]


def member_request(**changes: object) -> MemberRequest:
    values: dict[str, object] = {
        "id": "r1",
        "operation": Operation.ADD,
        "community_id": "cc-acme-nl",
        "community_name": "Acme NL",
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "requester_id": "U0ALICE",
        "created_at": FILED,
        "expires_at": FILED + 72 * HOUR,
        "approvals_required": 1,
        "environment": "SANDBOX",
        "credit": Decimal("1234.56"),
        "note": "Starts Monday",
    }
    values.update(changes)
    return MemberRequest(**values)  # type: ignore[arg-type]


def import_request(**changes: object) -> ImportRequest:
    values: dict[str, object] = {
        "id": "I1",
        "operation": Operation.ADD,
        "community_id": "cc-acme-nl",
        "community_name": "Acme NL",
        "requester_id": "U0ALICE",
        "created_at": FILED,
        "expires_at": FILED + 72 * HOUR,
        "approvals_required": 1,
        "environment": "SANDBOX",
        "file_name": "people.csv",
        "rows_in_file": 1236,
        "total": 1234,
        "total_cents": 123456,
        "invalid_count": 2,
        "invalid_preview": [(3, "no e-mail address"), (9, "credit is not a number")],
        "people_preview": [(2, "Jane Doe", "jane@example.com")],
        "note": "New shop",
    }
    values.update(changes)
    return ImportRequest(**values)  # type: ignore[arg-type]


def running_import() -> ImportRequest:
    return import_request(
        status=ImportStatus.EXECUTING,
        decided_by="U0BOB",
        decided_at=FILED + HOUR,
        started_at=FILED + HOUR,
        done=600,
        failed=3,
    )


BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "add modal": lambda: modals.add_employee_modal(
        COMMUNITIES, "SANDBOX", max_credit=Decimal("1234.56")
    ),
    "remove modal": lambda: modals.remove_employee_modal(COMMUNITIES, "SANDBOX"),
    "away modal": lambda: modals.away_modal("SANDBOX", None, "Europe/Amsterdam"),
    "approval message": lambda: requests.approval_message(member_request()),
    "scheduled approval message": lambda: requests.approval_message(
        member_request(
            status=Status.SCHEDULED,
            decided_by="U0BOB",
            decided_at=FILED + HOUR,
            due_at=FILED + 48 * HOUR,
        )
    ),
    "app home": lambda: home_view(
        frozenset({Role.HR, Role.MANAGER}),
        [member_request()],
        [member_request(id="r2")],
        [],
        "SANDBOX",
    ),
    "import modal": lambda: imports.import_modal(
        COMMUNITIES, "SANDBOX", max_rows=5000, max_bytes=2 * 1024 * 1024
    ),
    "import approval": lambda: imports.approval_message(import_request(), FILED),
    "running import approval": lambda: imports.approval_message(running_import(), FILED + 2 * HOUR),
    "import reject modal": lambda: imports.reject_modal(import_request(), "SANDBOX"),
}


def build(name: str, language: str) -> dict[str, Any]:
    with i18n.use(language):
        return BUILDERS[name]()


def texts(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every plain_text and mrkdwn text, and a message's notification text."""
    if isinstance(node, dict):
        if node.get("type") in {"plain_text", "mrkdwn"} and isinstance(node.get("text"), str):
            yield path, node["text"]
        elif path == "" and isinstance(node.get("text"), str):
            yield "text", node["text"]
        for key, value in node.items():
            yield from texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, f"{path}/{index}")


def is_sentence(text: str) -> bool:
    """Prose a person reads, as opposed to a name, an address, an ID or a badge: three words
    or more once code, mentions, dates and addresses are left out."""
    text = re.sub(r"<[^>]*>", "", text)  # mentions, dates, escaped characters
    text = re.sub(r"`[^`]*`|:[a-z_]+:", " ", text)  # code, emoji
    words = [w for w in text.split() if "@" not in w]
    return len(re.findall(r"[A-Za-z]{3,}", " ".join(words))) >= 3


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_sentence_is_dutch(name):
    english, dutch = dict(texts(build(name, "en"))), dict(texts(build(name, "nl")))
    assert english.keys() == dutch.keys()  # the same blocks, only the words differ
    sentences = {path: text for path, text in english.items() if is_sentence(text)}
    assert sentences, "the builder should have some prose to check"
    untranslated = {path: text for path, text in sentences.items() if dutch[path] == text}
    assert not untranslated


def test_add_modal_in_dutch():
    view = build("add modal", "nl")
    assert view["title"]["text"] == "Medewerker aanmelden"
    assert view["submit"]["text"] == "Indienen"
    assert view["close"]["text"] == "Annuleren"
    all_text = "\n".join(text for _, text in texts(view))
    assert "Maximaal €\u00a01.234,56, in hele centen." in all_text
    assert "Tegoed in euro" in all_text
    credit = next(b for b in view["blocks"] if b.get("block_id") == "credit")
    assert credit["element"]["placeholder"]["text"] == "750,00"


def test_approval_message_in_dutch():
    message = build("approval message", "nl")
    all_text = "\n".join(text for _, text in texts(message))
    assert "*Medewerker aanmelden · `r1`*" in all_text
    assert "*Tegoed*\n€\u00a01.234,56" in all_text
    assert "*Aangevraagd door*\n<@U0ALICE>" in all_text
    assert "Wacht op goedkeuring (0 van 1) · verloopt <!date^" in all_text
    assert "{date_short_pretty} om {time}" in all_text
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    buttons = [element["text"]["text"] for block in actions for element in block["elements"]]
    assert "Goedkeuren" in buttons and "Afwijzen" in buttons
    english = "\n".join(text for _, text in texts(build("approval message", "en")))
    assert "€1,234.56" in english and "{date_short_pretty} at {time}" in english


def test_app_home_in_dutch():
    view = build("app home", "nl")
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert "Wacht op jouw goedkeuring" in headers
    assert "Jouw openstaande aanvragen" in headers
    assert "Recente resultaten" in headers
    all_text = "\n".join(text for _, text in texts(view))
    assert "`r1` *Jane Doe* (jane" in all_text and "aanmelden met €\u00a01.234,56" in all_text
    assert "Niets te zien." in all_text


def test_import_approval_in_dutch():
    message = build("import approval", "nl")
    all_text = "\n".join(text for _, text in texts(message))
    assert "*Bulk aanmelden · `I1`*" in all_text
    assert message["text"] == "Bulk aanmelden I1: wacht op goedkeuring"
    assert "*Bestand*\npeople" in all_text and "csv (1.236 rijen)" in all_text
    assert "*Aan te melden*\n1.234 medewerkers" in all_text
    assert "*Totaal tegoed*\n€\u00a01.234,56" in all_text
    assert "*2 rijen worden niet uitgevoerd*" in all_text
    assert "• rij 3: no e-mail address" in all_text  # the reason is the domain's (i20-domain)
    running = "\n".join(text for _, text in texts(build("running import approval", "nl")))
    assert "600 uitgevoerd · 3 mislukt · nog 631 te gaan" in running
    message_en = build("import approval", "en")
    english = "\n".join(text for _, text in texts(message_en))
    assert "(1,236 rows)" in english and "1,234 employees" in english
    assert message_en["text"].startswith("Bulk onboarding I1")


# Slack's limits: a longer Dutch text would be cut (plain() truncates with "…") or refused.
LIMITS = {"title": 24, "submit": 24, "close": 24, "confirm": 30, "deny": 30}


def limited(node: object, key: str = "") -> Iterator[tuple[str, str, int]]:
    if isinstance(node, dict):
        if node.get("type") == "plain_text" and key:
            limit = LIMITS.get(key)
            if limit:
                yield key, node["text"], limit
        if node.get("type") == "button":
            yield "button", node["text"]["text"], 75
        if node.get("type") == "header":
            yield "header", node["text"]["text"], 150
        for option in node.get("options", []) if isinstance(node.get("options"), list) else []:
            yield "option", option["text"]["text"], 75
        for child_key, value in node.items():
            yield from limited(value, child_key)
    elif isinstance(node, list):
        for value in node:
            yield from limited(value, key)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_slack_limits_hold_in_dutch(name):
    checked = list(limited(build(name, "nl")))
    assert checked
    too_long = [(kind, text) for kind, text, limit in checked if len(text) > limit]
    cut = [(kind, text) for kind, text, _ in checked if text.endswith("…")]
    assert not too_long and not cut


def test_dutch_modal_titles_and_buttons_fit():
    """Every modal title and button the builders can show, not just those built above."""
    with i18n.use("nl"):
        titles = [
            i18n.t(text)
            for text in (
                "Add employee",
                "Remove employee",
                "Change date",
                "Away",
                "Reject request",
                "Import employees",
                "Reject import",
                "Request",
                "Change",
                "Save",
                "Reject",
                "Import",
                "Close",
                "Cancel",
            )
        ]
        buttons = [
            i18n.t(text)
            for text in ("Approve", "Reject", "Retry", "Change date", "Cancel", "Cancel request")
        ]
    assert all(len(text) <= 24 for text in titles), titles
    assert all(len(text) <= 75 for text in buttons), buttons
    assert titles[0] == "Medewerker aanmelden"
