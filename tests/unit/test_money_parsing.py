"""parse_euros: amounts as people type them in Dutch and English sheets and forms."""

from decimal import Decimal

import pytest

from bot.domain.money import InvalidAmount, parse_euros

MAX = Decimal("2500.00")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("750", "750.00"),
        ("750.00", "750.00"),
        ("750,00", "750.00"),
        ("€ 750,00", "750.00"),
        ("€750", "750.00"),
        ("750 €", "750.00"),
        ("EUR 750", "750.00"),
        ("750,5", "750.50"),
        ("1.250,00", "1250.00"),  # Dutch: dot groups thousands, comma is the decimal mark
        ("1,250.00", "1250.00"),  # English
        ("1 250,00", "1250.00"),  # grouped by spaces
        ("1\u00a0250,00", "1250.00"),  # … a no-break space, as spreadsheets write it
        ("0,25", "0.25"),
        (".50", "0.50"),
        (" 2500.00 ", "2500.00"),
    ],
)
def test_amounts_people_type(text: str, amount: str) -> None:
    parsed = parse_euros(text, maximum=MAX)
    assert parsed == Decimal(amount) and parsed.as_tuple().exponent == -2


@pytest.mark.parametrize("text", ["1.250", "1,250", "12.345", "€ 2.500"])
def test_an_amount_that_reads_two_ways_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(InvalidAmount) as refused:
        parse_euros(text, maximum=MAX)
    message = str(refused.value)
    assert "reads two ways" in message and text.removeprefix("€ ") in message
    assert "no thousands separator" in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0.250", "two decimals"),  # a leading zero is never a thousands group
        ("1234.567", "two decimals"),  # nor four digits before the mark
        ("1,2345", "two decimals"),
        ("-5", "more than €0.00"),
        ("€ -5", "more than €0.00"),
        ("0,00", "more than €0.00"),
        ("750,", "amount in euros"),
        ("1.2.3", "amount in euros"),
        ("12,34,56", "amount in euros"),
        ("1.250,00,5", "amount in euros"),
        ("€", "amount in euros"),
        ("1e3", "amount in euros"),
        ("2.500,01", "maximum"),
    ],
)
def test_amounts_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidAmount) as refused:
        parse_euros(text, maximum=MAX)
    assert words in str(refused.value)


def test_the_add_modal_reads_amounts_with_the_same_parser() -> None:
    from bot.domain.forms import AddEmployeeForm, parse_add_form

    form = parse_add_form(
        {
            "community_id": "c",
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane@example.com",
            "credit": "€ 1.250,50",
        },
        max_credit=MAX,
        communities={"c"},
    )
    assert isinstance(form, AddEmployeeForm) and form.credit == Decimal("1250.50")
