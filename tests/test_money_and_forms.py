"""Pure logic: euros and the modal forms."""

from decimal import Decimal

import pytest

from bot.domain.forms import AddEmployeeForm, parse_add_form, parse_remove_form
from bot.domain.money import InvalidAmount, format_euros, parse_euros

MAX = Decimal("2500.00")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("750", Decimal("750.00")),
        ("750,5", Decimal("750.50")),
        ("€ 0.01", Decimal("0.01")),
        (" 2500.00 ", Decimal("2500.00")),
    ],
)
def test_amounts_people_type(text, amount):
    parsed = parse_euros(text, maximum=MAX)
    assert parsed == amount and parsed.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-5",
        "0",
        "0.00",
        "1.234",
        "1e3",
        "NaN",
        "Infinity",
        "12,345.67",
        "2500.01",
        "9" * 40,
        "١٢٣",
    ],
)
def test_amounts_refused(text):
    with pytest.raises(InvalidAmount):
        parse_euros(text, maximum=MAX)


def test_money_adds_exactly_and_formats_one_way():
    assert Decimal("0.10") + Decimal("0.20") == parse_euros("0.30")
    assert format_euros(Decimal("1234.5")) == "€1,234.50"


def test_add_form_normalises_and_keeps_text():
    form = parse_add_form(
        {
            "community_id": "c",
            "first_name": " <!channel> ",
            "last_name": "Doe",
            "email": "Jane@Example.COM",
            "credit": "10",
            "external_reference": None,
            "note": None,
        },
        max_credit=MAX,
        communities={"c"},
    )
    assert isinstance(form, AddEmployeeForm)
    assert (form.first_name, form.email, form.credit) == (
        "<!channel>",
        "jane@example.com",
        Decimal("10.00"),
    )


def test_add_form_reports_every_bad_field():
    errors = parse_add_form(
        {
            "community_id": "other-env",
            "first_name": "",
            "last_name": "\n",
            "email": "x@",
            "credit": "0",
        },
        max_credit=MAX,
        communities={"c"},
    )
    assert set(errors) == {"community_id", "first_name", "last_name", "email", "credit"}


def test_remove_form_needs_a_reason():
    errors = parse_remove_form(
        {"community_id": "c", "email": "a@b.nl", "reason": "  "}, communities={"c"}
    )
    assert errors == {"reason": "Say why, for the approver and the audit trail."}
