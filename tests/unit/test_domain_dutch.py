"""Issue 20 in the domain: refusals and validation in the reader's language (Dutch for a
Dutch reader, English exactly as before), and the audit CSV in the reader's spreadsheet
style."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.domain import audit, imports, steps
from bot.domain.access import Refusal
from bot.domain.bulk import RowResult
from bot.domain.community_policy import PolicyBase
from bot.domain.delegation import away_problem
from bot.domain.forms import parse_add_form, parse_remove_form
from bot.domain.money import InvalidAmount, parse_euros
from bot.domain.policy_describe import describe_book
from bot.domain.policy_file import parse_policy
from bot.domain.requests import Operation
from bot.domain.schedule import Schedule


def _refusal(text: str, **kwargs) -> str:
    with pytest.raises(InvalidAmount) as refused:
        parse_euros(text, **kwargs)
    return str(refused.value)


def test_an_amount_that_reads_two_ways_is_refused_in_dutch():
    with i18n.use("nl-NL"):
        message = _refusal("1.250")
    assert message == (
        "Gebruik hooguit twee decimalen (hele centen). 1.250 kun je op twee manieren lezen: "
        "bedoel je €\u00a01.250,00, schrijf dan 1250 (zonder scheidingsteken voor "
        "duizendtallen)."
    )


def test_an_amount_that_reads_two_ways_is_refused_in_english_as_before():
    assert _refusal("1.250") == (
        "Use at most two decimals (whole cents). 1.250 reads two ways: if you meant "
        "€1,250.00, write 1250 (no thousands separator)."
    )


_REFUSALS = [
    ("0", {}, "Het bedrag moet meer zijn dan €\u00a00,00.", "The amount must be more than €0.00."),
    (
        "abc",
        {},
        "Vul een bedrag in euro's in, bijvoorbeeld 750 of 750,50.",
        "Enter an amount in euros, for example 750 or 750.50.",
    ),
    (
        "2000",
        {"maximum": Decimal("1000")},
        "Het maximale tegoed per medewerker is €\u00a01.000,00.",
        "The maximum credit per employee is €1,000.00.",
    ),
]


@pytest.mark.parametrize(("typed", "kwargs", "dutch", "english"), _REFUSALS)
def test_amount_refusals_follow_the_reader(typed, kwargs, dutch, english):
    with i18n.use("nl"):
        assert _refusal(typed, **kwargs) == dutch
    assert _refusal(typed, **kwargs) == english  # the constant was not translated at import


def test_a_dutch_amount_in_the_add_form_is_read():
    raw = {
        "community_id": "c1",
        "first_name": "Jan",
        "last_name": "Jansen",
        "email": "jan@example.com",
        "credit": "€ 1.250,50",
    }
    with i18n.use("nl"):
        form = parse_add_form(raw, max_credit=Decimal("5000"), communities={"c1"})
    assert not isinstance(form, dict)
    assert form.credit == Decimal("1250.50")


def test_form_validation_in_dutch_and_english():
    raw = {"community_id": "elsewhere", "email": "not an address", "reason": "  "}
    with i18n.use("nl"):
        dutch = parse_remove_form(raw, communities={"c1"})
    english = parse_remove_form(raw, communities={"c1"})
    assert dutch == {
        "reason": "Geef de reden, voor de goedkeurder en het auditlog.",
        "community_id": "Kies een van de community's die deze integratie mag beheren.",
        "email": "Vul een geldig e-mailadres in, zoals jane.doe@example.com.",
    }
    assert english == {
        "reason": "Say why, for the approver and the audit trail.",
        "community_id": "Choose one of the communities this integration may manage.",
        "email": "Enter a valid e-mail address, such as jane.doe@example.com.",
    }


def test_date_problems_in_dutch():
    schedule = Schedule(timezone=ZoneInfo("Europe/Amsterdam"))
    now = 1_800_000_000.0  # 15 January 2027
    with i18n.use("nl"):
        assert schedule.problem(Operation.ADD, date(2020, 1, 1), now) == (
            "Kies vandaag of een latere datum."
        )
        assert away_problem("U1", "U1", date(2027, 2, 1), date(2027, 1, 15)) == (
            "Kies iemand anders: je kunt niet je eigen vervanger zijn."
        )
    assert schedule.problem(Operation.ADD, date(2020, 1, 1), now) == (
        "Choose today or a later date."
    )


_TRAIL = [
    {
        "at": "2026-12-05T10:00:00Z",
        "request_id": "r1",
        "action": "filed",
        "actor": "U1",
        "operation": "add",
        "community_id": "c1",
        "email": "jan@example.com",
        "credit": "1234.56",
        "status": "pending",
        "correlation_id": "x1",
        "detail": "=HYPERLINK()",
    }
]


def _audit_csv() -> str:
    out = io.StringIO(newline="")
    assert audit.write_csv(iter(_TRAIL), out) == 1
    return out.getvalue()


def test_the_audit_csv_for_a_dutch_reader():
    with i18n.use("nl-NL"):
        text = _audit_csv()
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    header, row = text.removeprefix("\ufeff").splitlines()
    assert header == (
        "tijdstip;aanvraag_id;actie;door;handeling;community_id;e-mail;tegoed;status;"
        "correlatie_id;details"
    )
    assert row == (
        "2026-12-05T10:00:00Z;r1;filed;U1;add;c1;jan@example.com;1234,56;pending;x1;'=HYPERLINK()"
    )


def test_the_audit_csv_in_english_is_unchanged():
    assert _audit_csv() == (
        "at,request_id,action,actor,operation,community_id,email,credit,status,"
        "correlation_id,detail\r\n"
        "2026-12-05T10:00:00Z,r1,filed,U1,add,c1,jan@example.com,1234.56,pending,x1,"
        "'=HYPERLINK()\r\n"
    )


def test_an_access_refusal_of_a_step_in_dutch_and_english():
    with i18n.use("nl-BE"):
        dutch = steps._refused(Refusal.ROLE).error
        own = steps._refused(Refusal.EMPLOYEE).error
    assert dutch == "Community: Alleen HR mag aanvragen indienen. Vraag een admin om de rol."
    assert own == (
        "E-mail: Dit is je eigen adres; iemand anders moet een aanvraag over jou indienen."
    )
    assert steps._refused(Refusal.ROLE).error == (
        "Community: Only HR may file requests. Ask an admin for the role."
    )


_DUTCH_SHEET = (
    "Voornaam;Achternaam;E-mailadres;Tegoed\r\n"
    "Jan;Jansen;jan@example.com;€ 1.250,50\r\n"
    "Piet;Pieters;piet@example.com;1.250\r\n"
    "Kees;Kok;JAN@example.com;10\r\n"
).encode("utf-8-sig")


def test_a_dutch_sheet_is_read_and_its_rows_refused_in_dutch():
    with i18n.use("nl"):
        read = imports.read_import(
            _DUTCH_SHEET, Operation.ADD, community_id="c1", max_credit=Decimal("5000")
        )
    assert read.delimiter == ";"
    assert read.rows == []  # the duplicates refuse each other; Piet's amount reads two ways
    reasons = {row.number: row.reason for row in read.invalid}
    assert reasons[2] == "e-mail: hetzelfde e-mailadres staat ook op rij 4"
    assert reasons[3].startswith("tegoed: Gebruik hooguit twee decimalen (hele centen).")


def test_a_file_problem_in_dutch_and_english():
    too_many = b"email\n" + b"".join(b"p%d@example.com\n" % n for n in range(3))
    with i18n.use("nl"), pytest.raises(imports.FileProblem) as dutch:
        imports.open_table(too_many, Operation.REMOVE, max_rows=2)
    with pytest.raises(imports.FileProblem) as english:
        imports.open_table(too_many, Operation.REMOVE, max_rows=2)
    assert str(dutch.value) == (
        "Het bestand heeft 3 rijen; een import neemt er hooguit 2. Splits het in kleinere "
        "bestanden."
    )
    assert str(english.value) == (
        "The file has 3 rows; an import takes at most 2. Split it into smaller files."
    )
    with i18n.use("nl"):
        assert str(imports.too_big(5_000_000, 2_097_152)) == (
            "Het bestand is 4,8 MB; een import neemt hooguit 2,0 MB. Splits het in kleinere "
            "bestanden."
        )


def test_the_refused_rows_file_for_a_dutch_reader_and_in_english():
    rows = [imports.InvalidRow(2, "=jan@example.com", "e-mail: dubbel")]
    out = io.StringIO(newline="")
    with i18n.use("nl"):
        imports.write_invalid_rows(rows, out)
    assert out.getvalue() == "\ufeffrij;e-mail;reden\r\n2;'=jan@example.com;e-mail: dubbel\r\n"
    out = io.StringIO(newline="")
    imports.write_invalid_rows(rows, out)
    assert out.getvalue() == "row,email,reason\r\n2,'=jan@example.com,e-mail: dubbel\r\n"


def test_row_results_in_the_readers_words():
    with i18n.use("nl"):
        assert RowResult.ALREADY_MEMBER.words == "al lid"
    assert RowResult.ALREADY_MEMBER.words == RowResult.ALREADY_MEMBER.value


def test_community_policy_in_dutch_keeps_the_setting_names():
    book = parse_policy(
        '[communities.cc-x]\napprovers = ["U0BOB"]\nescalate_after_hours = 1.5\n'
        'escalate_to = ["U0ANN"]\n',
        PolicyBase(channel="C0ENV", max_credit=Decimal("900.00"), roles={}),
        require_channel=True,
    )
    with i18n.use("nl"):
        lines = describe_book(book)
    assert lines[0] == "Geldend beleid (POLICY_FILE):"
    # the label column widens to the longest Dutch label ("goedkeuringen aanmelden")
    assert "  goedkeurders (manager)   U0BOB" in lines
    assert "  max. tegoed              €\u00a0900,00  (MAX_CREDIT_EUR)" in lines
    assert "  escaleren                na 1,5 u naar U0ANN" in lines
    assert "  verloopt na              72 u  (REQUEST_EXPIRY_HOURS)" in lines
