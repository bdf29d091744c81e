"""Money: euros as Decimal with exactly two places. The one place that parses and formats it.

`parse_euros` reads amounts the way people type them in Dutch and English spreadsheets and
forms: `750`, `750.00`, `750,00`, `€ 750,00`, `1.250,00`, `1,250.00`, `1 250,00`. An amount
that reads two ways (`1.250` and `1,250`: a thousands separator, or three decimals?) is
refused with the reason, never guessed.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.i18n import N_, money, t

CENT = Decimal("0.01")
MAX_DIGITS = 15  # whole euros; more is not an amount anyone meant

# A currency sign or code before or after the number: "€ 750", "750 €", "EUR 750".
_CURRENCY = re.compile(r"^(?:€|eur(?:os?)?)\s*|\s*(?:€|eur(?:os?)?)$", re.IGNORECASE)
# Digits grouped by spaces in threes ("1 250,00"), as Dutch and French sheets show them.
_SPACE_GROUPED = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?", re.ASCII)
_NUMBER = re.compile(r"[0-9.,]+", re.ASCII)
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})

# Kept in English here (N_); translated with `t` when raised, which happens inside the
# reader's language. MORE_THAN_ZERO shows no amount of its own: the zero comes from
# `format_euros` so a Dutch reader sees `€ 0,00`.
TYPE_AN_AMOUNT = N_("Enter an amount in euros, for example 750 or 750.50.")
MORE_THAN_ZERO = N_("The amount must be more than {zero}.")
TWO_DECIMALS = N_("Use at most two decimals (whole cents).")


class InvalidAmount(ValueError):
    """The text is not an amount of euros a person meant (negative, zero, 3 decimals…).
    The message is in the reader's language (raised inside it)."""


def _more_than_zero() -> InvalidAmount:
    return InvalidAmount(t(MORE_THAN_ZERO, zero=format_euros(Decimal("0"))))


def parse_euros(text: str, *, maximum: Decimal | None = None) -> Decimal:
    """Parse what a person typed into euros with two places, or raise InvalidAmount with a
    message to show next to what they typed."""
    cleaned = _CURRENCY.sub("", text.translate(_SPACES).strip()).strip()
    if cleaned.startswith("-"):
        raise _more_than_zero()
    if _SPACE_GROUPED.fullmatch(cleaned):
        cleaned = cleaned.replace(" ", "")
    if not _NUMBER.fullmatch(cleaned) or not any(char.isdigit() for char in cleaned):
        raise InvalidAmount(t(TYPE_AN_AMOUNT))
    amount = Decimal(_plain_number(cleaned))
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidAmount(t(TWO_DECIMALS))
    if amount <= 0:
        raise _more_than_zero()
    if maximum is not None and amount > maximum:
        raise InvalidAmount(
            t("The maximum credit per employee is {amount}.", amount=format_euros(maximum))
        )
    return amount.quantize(CENT)


def _plain_number(text: str) -> str:
    """`text` (digits, dots and commas) as digits with at most one decimal point."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:  # both: the last one is the decimal mark, the other groups thousands
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        grouping = "," if decimal_mark == "." else "."
        whole, _, fraction = text.rpartition(decimal_mark)
        if grouping in fraction or decimal_mark in whole or not fraction:
            raise InvalidAmount(t(TYPE_AN_AMOUNT))
        return _ungrouped(whole, grouping) + "." + fraction
    mark = "." if dots else "," if commas else ""
    if not mark:
        return _digits(text)
    if text.count(mark) > 1:  # "1.250.000": only thousands separators
        return _ungrouped(text, mark)
    whole, _, fraction = text.partition(mark)
    if not fraction:
        raise InvalidAmount(t(TYPE_AN_AMOUNT))
    if len(fraction) == 3 and whole and len(whole) <= 3 and not whole.startswith("0"):
        # "1.250": twelve hundred and fifty, or one euro and a quarter and a bit?
        raise InvalidAmount(
            t(
                "Use at most two decimals (whole cents). {typed} reads two ways: if you meant "
                "{amount}, write {digits} (no thousands separator).",
                typed=text,
                amount=format_euros(Decimal(whole + fraction)),
                digits=whole + fraction,
            )
        )
    return _digits(whole or "0") + "." + fraction


def _ungrouped(whole: str, grouping: str) -> str:
    """Thousands groups: a first group of 1 to 3 digits, then groups of exactly 3."""
    groups = whole.split(grouping)
    if not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:]):
        raise InvalidAmount(t(TYPE_AN_AMOUNT))
    return _digits("".join(groups))


def _digits(text: str) -> str:
    if not text.isdigit() or len(text.lstrip("0")) > MAX_DIGITS:
        raise InvalidAmount(t(TYPE_AN_AMOUNT))
    return text


def to_cents(amount: Decimal) -> Decimal:
    """Quantize an amount received from elsewhere (API, CSV) to two places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_euros(amount: Decimal) -> str:
    """€1,234.50 (English) or € 1.234,50 (Dutch): the reader's locale, from CLDR."""
    return money(amount)


def money_json(value: Any, *, allow_float: bool = False) -> str:
    """The one JSON encoder for money: a Decimal is a number with exactly two decimals
    (0.30). json.dumps writes Decimal only via float (0.30000000000000004) or as a string,
    so containers are walked here. A float is refused unless `allow_float` (the sandbox's
    own settings, never an amount)."""
    if isinstance(value, Decimal):
        return format(to_cents(value), "f")
    if value is None or isinstance(value, bool | str | int):
        return json.dumps(value)
    if isinstance(value, float) and allow_float:
        return json.dumps(value)
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k))}:{money_json(v, allow_float=allow_float)}"
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(money_json(v, allow_float=allow_float) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON with money")
