"""The e-mail address HR types, as the form hands it on: ASCII for Coolblue."""

from __future__ import annotations

from bot.domain.forms import RemoveEmployeeForm, parse_remove_form


def _remove(email: str) -> RemoveEmployeeForm | dict[str, str]:
    return parse_remove_form(
        {"community_id": "c", "email": email, "reason": "Left"}, communities={"c"}
    )


def test_an_internationalised_domain_is_sent_in_punycode_with_the_tag_kept():
    form = _remove("Jose+Perks@Bücher.example")
    assert isinstance(form, RemoveEmployeeForm)
    assert form.email == "jose+perks@xn--bcher-kva.example"


def test_a_punycode_domain_stays_as_it_is():
    form = _remove("jose@xn--bcher-kva.example")
    assert isinstance(form, RemoveEmployeeForm) and form.email == "jose@xn--bcher-kva.example"


def test_a_local_part_coolblue_cannot_take_is_refused_on_the_field():
    errors = _remove("jösé@bücher.example")
    assert isinstance(errors, dict)
    assert "ASCII" in errors["email"]
