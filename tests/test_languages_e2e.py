"""One flow per language over signed HTTP (issue 20): add, approve, done, credit, import, the
audit trail and refusals, once with everyone's Slack locale `en-US` and once `nl-NL`.

The assertions hold in either language: each text a person reads is compared with what the
catalogue says in their language (`with i18n.use(language): t("<English msgid>")`, the
msgid being today's English text, which stays byte for byte), amounts with CLDR's
(`€1,234.56`, `€ 1.234,56`) and files with the reader's CSV style (`;` and a BOM in
Dutch). Approval messages are in the community's `language`, English by default, whoever
reads them.

The checks named CATALOGUE pass in Dutch only once the Dutch catalogue has that message
(and the code passes the text through t; until then t returns the English msgid, and only
the negative check on the role refusal fails). READER ones need the bot to write in the reader's
language where the work runs later or for someone else (the worker's DMs, files sent by DM,
CSV style); COMMUNITY ones need approval messages written in the community's language
whoever's click or submission led to them. Those checks all run and fail together, naming
each; the plain asserts are independent of all three.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot import i18n
from bot.domain.requests import Status
from bot.i18n import t
from bot.slack_standin import Message
from tests.conftest import ALICE, BOB, CAROL, COMMUNITY, DAVE, FRANK, team
from tests.flows import JANE, click, ephemeral_after, file_request, wait_status
from tests.import_flows import click as click_import
from tests.import_flows import file_import, people_csv, wait_finished

CREDIT = Decimal("1234.56")
TYPED = {"en": "1,234.56", "nl": "1.234,56"}  # as each would type it in the modal
FILED = (
    "Your request was filed and is waiting for approval.",
    "Your request was filed.",
)


class Reader:
    """What a reader of one language should see: the catalogue's words, CLDR's amounts."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.language = i18n.of_locale(locale)

    def t(self, msgid: str, **fields: object) -> str:
        with i18n.use(self.language):
            return t(msgid, **fields)

    def money(self, amount: Decimal) -> str:
        with i18n.use(self.language):
            return i18n.money(amount)


@pytest.fixture(params=["en-US", "nl-NL"])
def reader(request: pytest.FixtureRequest) -> Reader:
    return Reader(request.param)


def reply_to(stack, user: str, text: str) -> str:
    before = len(stack.standin.ephemerals(user))
    assert stack.driver.command(user, text).status_code == 200
    return ephemeral_after(stack, user, before)


def shown(message: Message) -> str:
    return message.text + " " + json.dumps(message.blocks, ensure_ascii=False)


def dms_to(stack, user: str, count: int) -> list[str]:
    """What the first `count` DMs to `user` say (waited for)."""
    found = stack.standin.wait_for(
        lambda: len(dms := stack.standin.dms(user)) >= count and dms,
        description=f"{count} DMs to {user}",
    )
    return [shown(m) for m in found[:count]]


class Checks:
    """The language-dependent checks of one run: each is tried, the failed ones are told
    together at the end (so a run in Dutch names every text not yet in Dutch)."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, name: str, ok: bool, seen: object = "") -> None:
        if not ok:
            self.failed.append(f"{name}: {str(seen)[:300]!r}")


def csv_file(stack, user: str, prefix: str) -> bytes:
    shared = stack.standin.wait_for(
        lambda: [f for f in stack.standin.files(user) if f.filename.startswith(prefix)],
        description=f"a file {prefix}… sent to {user}",
    )
    return bytes(shared[-1].content)


def csv_style_of(content: bytes) -> tuple[bool, bytes]:
    """(starts with a BOM, the header's delimiter: b";" or b",")."""
    header = content.splitlines()[0]
    delimiter = b";" if b";" in header and b"," not in header else b","
    return content.startswith("\ufeff".encode()), delimiter


def test_one_flow_in_each_language(make_stack, reader: Reader) -> None:
    stack = make_stack()
    for person in team():  # as each has set Slack, before the bot first asks
        stack.standin.directory.set_locale(person.id, reader.locale)
    english = Reader("en-US")  # the approval messages' language (no policy: "en")
    dutch = reader.language == "nl"
    check = Checks()
    # Dutch Excel opens a file as columns with `;` and a BOM; English Excel with `,`.
    csv_style = (True, b";") if dutch else (False, b",")

    # add: the modal reads the amount as this person types it.
    request = file_request(stack, ALICE, {**JANE, "credit": TYPED[reader.language]})
    assert request.credit == CREDIT
    approval = stack.standin.message("C0APPROVALS", request.message_ts)
    assert approval is not None
    check(  # the community's language, not alice's
        "COMMUNITY approval message amount",
        english.money(CREDIT) in shown(approval),
        shown(approval),
    )
    (filed,) = dms_to(stack, ALICE, 1)
    check(
        "CATALOGUE filed DM",
        any(reader.t(m) in filed for m in FILED),
        filed,
    )
    check("READER filed DM amount", reader.money(CREDIT) in filed, filed)

    # a refusal: alice may not approve her own request.
    before = len(stack.standin.ephemerals(ALICE))
    click(stack, ALICE, "Approve", request)
    refused = ephemeral_after(stack, ALICE, before)
    assert "Approve" not in refused  # a sentence, not the message again
    check(
        "CATALOGUE own-request refusal",
        reader.t("You filed this request, so someone else has to decide on it.") in refused,
        refused,
    )

    # approve -> done: the worker creates the member; alice hears of it in her language.
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE, timeout=20.0)
    assert stack.sandbox.state.member(COMMUNITY, "jane@example.com") is not None
    approval = stack.standin.message("C0APPROVALS", request.message_ts)
    assert approval is not None
    check(
        "COMMUNITY approval message amount once done",
        english.money(CREDIT) in shown(approval),
        shown(approval),
    )
    done_dm = dms_to(stack, ALICE, 3)[-1]  # filed, approved, done
    check("CATALOGUE READER done DM", reader.t("Your request is done.") in done_dm, done_dm)
    check("READER done DM amount", reader.money(CREDIT) in done_dm, done_dm)

    # credit: carol looks Jane up.
    credit = reply_to(stack, CAROL, "credit jane@example.com")
    assert reader.money(CREDIT) in credit
    assert not dutch or english.money(CREDIT) not in credit
    usage = reply_to(stack, CAROL, "credit not-an-address")
    assert "/community credit jane.doe@example.com" in usage
    check(
        "CATALOGUE credit usage",
        reader.t("Usage: `/community credit jane.doe@example.com` (a valid e-mail address).")
        in usage,
        usage,
    )

    # a refusal by role: frank has none.
    refusal = reply_to(stack, FRANK, "add")
    assert ":no_entry:" in refusal
    if dutch:  # its msgid has fields whose names the translation chooses
        check("CATALOGUE role refusal", "Only HR and admins" not in refusal, refusal)

    # import: a Dutch-Excel file (`;`, BOM, decimal comma) is read in either language.
    imported = file_import(stack, ALICE, people_csv(2, credit="12,50"))
    click_import(stack, BOB, "Approve", imported)
    wait_finished(stack, imported.id)
    assert stack.sandbox.state.member(COMMUNITY, "person1@example.com") is not None
    result = csv_file(stack, ALICE, f"import-{imported.id}-results")
    assert b"person0@example.com" in result and b"person1@example.com" in result
    check("READER import result CSV style", csv_style_of(result) == csv_style, result[:80])

    # the audit trail, by DM as a CSV file in dave's style.
    sent = reply_to(stack, DAVE, "audit")
    check("CATALOGUE audit sent", reader.t("Sent the audit trail to your DMs.") in sent, sent)
    audit = csv_file(stack, DAVE, "community-audit-")
    assert request.id.encode() in audit
    check("READER audit CSV style", csv_style_of(audit) == csv_style, audit[:80])

    assert not check.failed, f"{reader.locale}: " + "\n".join(check.failed)
