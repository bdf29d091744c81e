"""What HR types into the Add and Remove modals, validated at the edge.

`parse_add_form` / `parse_remove_form` return a typed form or a dict of field name →
message, so the Slack layer can show each message on its own field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, EmailStr, ValidationError
from pydantic_core import ErrorDetails

from bot.domain.mailbox import ascii_address
from bot.domain.money import InvalidAmount, parse_euros
from bot.domain.requests import Operation
from bot.domain.schedule import Schedule
from bot.i18n import N_, current, t

DATE_FIELDS = {"start_date", "last_day"}

FormT = TypeVar("FormT", bound=BaseModel)


def _printable(text: str) -> str:
    text = text.strip()
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise ValueError(t("Remove control characters (tabs, line breaks and the like)."))
    return text


def _name(text: str) -> str:
    text = _printable(text)
    if not 1 <= len(text) <= 100:
        raise ValueError(t("Use 1 to 100 characters."))
    return text


def _optional_text(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if len(text) > limit:
            raise ValueError(t("Use at most {limit} characters.", limit=limit))
        return text

    return check


def _email(text: str) -> str:
    """What Coolblue gets: ASCII, an internationalised domain in punycode (EmailStr gives
    it in Unicode), lower case as before; a `+tag` and every other character kept."""
    return ascii_address(text).lower()


Name = Annotated[str, AfterValidator(_name)]
Email = Annotated[EmailStr, AfterValidator(_email)]


class AddEmployeeForm(BaseModel):
    community_id: str
    first_name: Name
    last_name: Name
    email: Email
    credit: Decimal
    external_reference: Annotated[
        str, AfterValidator(_printable), AfterValidator(_optional_text(100))
    ] = ""
    note: Annotated[str, AfterValidator(_optional_text(1000))] = ""
    start_date: date | None = None  # credit available from this day (None: at once)


class RemoveEmployeeForm(BaseModel):
    community_id: str
    email: Email
    reason: Annotated[str, AfterValidator(_optional_text(1000))]
    last_day: date | None = None  # credit revoked after this day (None: at once)


FieldErrors = dict[str, str]


def parse_add_form(
    raw: dict[str, str | None],
    *,
    max_credit: Decimal,
    communities: set[str],
    dates: DateCheck | None = None,
) -> AddEmployeeForm | FieldErrors:
    errors: FieldErrors = {}
    _check_date(raw, "start_date", Operation.ADD, dates, errors)
    credit: Decimal | None = None
    try:
        credit = parse_euros(raw.get("credit") or "", maximum=max_credit)
    except InvalidAmount as exc:
        errors["credit"] = str(exc)
    values = _values(raw, skip=("credit",))
    values["credit"] = str(credit or "1")  # placeholder when invalid; its error is kept above
    return _finish(AddEmployeeForm, values, errors, communities)


def parse_remove_form(
    raw: dict[str, str | None], *, communities: set[str], dates: DateCheck | None = None
) -> RemoveEmployeeForm | FieldErrors:
    values = _values(raw)
    errors: FieldErrors = {}
    _check_date(raw, "last_day", Operation.REMOVE, dates, errors)
    if not values.get("reason", "").strip():
        errors["reason"] = t("Say why, for the approver and the audit trail.")
    return _finish(RemoveEmployeeForm, values, errors, communities)


@dataclass(frozen=True)
class DateCheck:
    """What a date field is checked against: the schedule and the time now."""

    schedule: Schedule
    now: float


def _values(raw: dict[str, str | None], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Fields as typed ("" when empty); an empty optional date is left out, since pydantic
    reads "" as an invalid date."""
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key not in skip and (value or key not in DATE_FIELDS):
            values[key] = value or ""
    return values


def _check_date(
    raw: dict[str, str | None],
    name: str,
    operation: Operation,
    dates: DateCheck | None,
    errors: FieldErrors,
) -> None:
    text = raw.get(name)
    if not text or dates is None:
        return
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = t("Choose a date from the calendar.")
        return
    problem = dates.schedule.problem(operation, day, dates.now)
    if problem:
        errors[name] = problem


def _finish(
    model: type[FormT], values: dict[str, str], errors: FieldErrors, communities: set[str]
) -> FormT | FieldErrors:
    if values.get("community_id") not in communities:
        errors["community_id"] = t("Choose one of the communities this integration may manage.")
    try:
        form = model(**values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            errors.setdefault(name, _message(name, error))
        return errors
    return errors or form


def _message(name: str, error: ErrorDetails) -> str:
    message = str(error.get("msg", N_("Invalid value.")))
    if name == "email" and not message.startswith("Value error, "):  # EmailStr's own
        return t("Enter a valid e-mail address, such as jane.doe@example.com.")
    if not message.startswith("Value error, ") and current() != "en":
        return t("Invalid value.")  # pydantic's own words are English only
    return message.removeprefix("Value error, ")
