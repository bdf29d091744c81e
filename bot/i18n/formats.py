"""Amounts, dates and CSV in the reader's locale, from Babel's CLDR data (never by hand):
Dutch `€ 1.234,56` and `8 december 2026`, English `€1,234.56` and `8 December 2026`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.i18n.language import current

_CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    """The one way the bot shows money to people: euros, two places, the reader's locale."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    return format_currency(cents, "EUR", locale=current())


def day(value: date) -> str:
    """A calendar day written out: `8 December 2026`, `8 december 2026`."""
    return format_date(value, "d MMMM y", locale=current())


def decimal_for_csv(amount: Decimal) -> str:
    """An amount as a spreadsheet in the reader's locale reads a number: `1234.56` or
    `1234,56` (no thousands separator, no currency sign: it stays a number in Excel)."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    return format_decimal(cents, format="0.00", locale=current())


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV file is written so the reader's Excel opens it as columns: Dutch Excel
    splits on `;` (the comma is its decimal mark) and needs the BOM to read UTF-8."""

    delimiter: str
    encoding: str  # "utf-8-sig" writes the BOM


def csv_style() -> CsvStyle:
    if current() == "nl":
        return CsvStyle(delimiter=";", encoding="utf-8-sig")
    return CsvStyle(delimiter=",", encoding="utf-8")
