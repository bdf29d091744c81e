"""The body of POST .../members, checked the way the contract describes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.communities import contract as c
from bot.sandbox.wire import parse_json

# The contract's `Credit` maximum, inclusive (Coolblue documents none; the sandbox sets this
# one). It must equal the contract's, and its nearest binary float must read back as the same
# number, or tools reading the contract with floats (schemathesis) send a "maximum" that this
# refuses (tests/test_sandbox_boundaries.py).
MAX_CREDIT = Decimal("999999999.99")
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}",
    re.ASCII,
)

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class NewMember:
    email: str
    first_name: str
    last_name: str
    external_reference: str | None
    credit: Decimal


def parse_new_member(body: bytes) -> NewMember | Errors:
    """The member to create, or the validation errors keyed by field path."""
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError):
        return {"$": ["The request body is not valid JSON."]}
    if not isinstance(data, dict):
        return {"$": ["The request body must be a JSON object."]}
    errors = _member_errors(data.get(c.MEMBER_OBJECT)) | _credit_errors(data.get(c.CREDITS))
    if errors:
        return errors
    member = data[c.MEMBER_OBJECT]
    total = sum((Decimal(item[c.CREDIT]) for item in data[c.CREDITS]), Decimal(0))
    return NewMember(
        member[c.EMAIL_ADDRESS],
        member[c.FIRST_NAME],
        member[c.LAST_NAME],
        member.get(c.EXTERNAL_REFERENCE),
        total,
    )


def _string_errors(value: Any, name: str, minimum: int, maximum: int) -> list[str]:
    if not isinstance(value, str):
        return [f"The {name} field must be a string."]
    if not minimum <= len(value) <= maximum:
        return [f"The {name} field must be between {minimum} and {maximum} characters."]
    return []


def _member_errors(member: Any) -> Errors:
    if not isinstance(member, dict):
        return {c.MEMBER_OBJECT: [f"The {c.MEMBER_OBJECT} field is required (an object)."]}
    errors: Errors = {}
    limits = {c.EMAIL_ADDRESS: (1, 254), c.FIRST_NAME: (1, 100), c.LAST_NAME: (1, 100)}
    for name, (minimum, maximum) in limits.items():
        path = f"{c.MEMBER_OBJECT}.{name}"
        if name not in member:
            errors[path] = [f"The {name} field is required."]
        elif found := _string_errors(member[name], name, minimum, maximum):
            errors[path] = found
    email = member.get(c.EMAIL_ADDRESS)
    email_path = f"{c.MEMBER_OBJECT}.{c.EMAIL_ADDRESS}"
    if isinstance(email, str) and email_path not in errors and not _is_email(email):
        errors[email_path] = [f"The {c.EMAIL_ADDRESS} field is not a valid e-mail address."]
    if c.EXTERNAL_REFERENCE in member and (
        found := _string_errors(member[c.EXTERNAL_REFERENCE], c.EXTERNAL_REFERENCE, 0, 100)
    ):
        errors[f"{c.MEMBER_OBJECT}.{c.EXTERNAL_REFERENCE}"] = found
    return errors


def _is_email(text: str) -> bool:
    local, _, _ = text.rpartition("@")
    return len(local) <= 64 and EMAIL.fullmatch(text) is not None


def _is_whole_cents(amount: Decimal) -> bool:
    """Exact for any magnitude: strip trailing zeros instead of quantizing (which rounds)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite: NaN and Infinity never parse
    while exponent < -2 and digits and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return exponent >= -2


def _credit_errors(credits: Any) -> Errors:
    if not isinstance(credits, list) or not credits:
        return {c.CREDITS: [f"The {c.CREDITS} field must be a list with at least one credit."]}
    errors: Errors = {}
    for index, item in enumerate(credits):
        path = f"{c.CREDITS}[{index}].{c.CREDIT}"
        if not isinstance(item, dict) or c.CREDIT not in item:
            errors[path] = [f"The {c.CREDIT} field is required."]
            continue
        amount = item[c.CREDIT]
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            errors[path] = [f"The {c.CREDIT} field must be a number."]
        elif amount <= 0:
            errors[path] = [f"The {c.CREDIT} field must be greater than 0."]
        elif amount > MAX_CREDIT:
            errors[path] = [f"The {c.CREDIT} field must be at most {MAX_CREDIT}."]
        elif not _is_whole_cents(Decimal(amount)):
            errors[path] = [f"The {c.CREDIT} field must be a multiple of 0.01."]
    return errors
