"""The catalogues: every message the code marks has Dutch, with the same placeholders; the
Dutch catalogue holds nothing the code no longer says; amounts and dates come from CLDR."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

import pytest

from bot import i18n
from bot.i18n.catalogue import read_catalogue
from bot.i18n.extract import messages_in_source


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_every_message_has_dutch():
    dutch = read_catalogue("nl")
    missing = sorted(
        {
            f"{where}:{line}: {message!r}"
            for message, where, line in messages_in_source()
            if dutch.get(message) is None
        }
    )
    assert not missing, f"{len(missing)} messages without Dutch:\n" + "\n".join(missing)


def test_dutch_has_the_same_placeholders():
    dutch = read_catalogue("nl")
    wrong = []
    for message, where, line in messages_in_source():
        translated = dutch.get(message)
        if translated is None:
            continue
        expected = set().union(*(_fields(form) for form in _forms(message)))
        for form in _forms(translated.string):
            if _fields(form) != expected:
                wrong.append(f"{where}:{line}: {message!r} -> {form!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_dutch_catalogue_holds_only_what_the_code_says():
    in_code = {message for message, _, _ in messages_in_source()}
    stale = [m.id for m in read_catalogue("nl") if m.id and m.id not in in_code]
    assert not stale, f"translations of messages the code no longer has: {stale}"


@pytest.mark.parametrize(
    ("language", "amount", "day"),
    [("en", "€1,234.56", "8 December 2026"), ("nl", "€\u00a01.234,56", "8 december 2026")],
)
def test_amounts_and_dates_in_the_readers_locale(language, amount, day):
    with i18n.use(language):
        assert i18n.money(Decimal("1234.56")) == amount
        assert i18n.day(date(2026, 12, 8)) == day


@pytest.mark.parametrize(
    ("locale", "language"),
    [("nl-NL", "nl"), ("nl-BE", "nl"), ("nl", "nl"), ("en-GB", "en"), ("fr-FR", "en"), ("", "en")],
)
def test_slack_locales(locale, language):
    assert i18n.of_locale(locale) == language


def test_the_language_is_the_readers_only_inside_the_block():
    with i18n.use("nl-BE"):
        assert i18n.current() == "nl"
    assert i18n.current() == "en"
