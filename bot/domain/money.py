"""Money: euros as Decimal with exactly two places. The one place that parses and formats it."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]+)?", re.ASCII)


class InvalidAmount(ValueError):
    """The text is not an amount of euros a person meant (negative, zero, 3 decimals…)."""


def parse_euros(text: str, *, maximum: Decimal | None = None) -> Decimal:
    """Parse what a person typed ("750", "750,50", "€ 1.234,56" is refused) into euros.

    Accepts digits with an optional decimal point or comma and at most two decimals.
    """
    cleaned = text.strip().removeprefix("€").strip().replace(",", ".")
    if not _AMOUNT.fullmatch(cleaned):
        if cleaned.startswith("-"):
            raise InvalidAmount("The amount must be more than €0.00.")
        raise InvalidAmount("Enter an amount in euros, for example 750 or 750.50.")
    amount = Decimal(cleaned)
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidAmount("Use at most two decimals (whole cents).")
    if amount <= 0:
        raise InvalidAmount("The amount must be more than €0.00.")
    if maximum is not None and amount > maximum:
        raise InvalidAmount(f"The maximum credit per employee is {format_euros(maximum)}.")
    return amount.quantize(CENT)


def to_cents(amount: Decimal) -> Decimal:
    """Quantize an amount received from elsewhere (API, CSV) to two places."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_euros(amount: Decimal) -> str:
    """€1,234.50 — the one way the bot shows money to people."""
    return f"€{to_cents(amount):,.2f}"
