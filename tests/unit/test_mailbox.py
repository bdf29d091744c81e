"""Mailbox comparison and the ASCII address for Coolblue: pure functions, no I/O."""

from __future__ import annotations

import pytest

from bot.domain.mailbox import ascii_address, ascii_domain, mailbox, same_mailbox


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("mark@acme.example", "MARK@ACME.EXAMPLE"),
        ("mark+perks@acme.example", "mark@acme.example"),
        ("Mark+Perks+More@Acme.Example", "mark+other@acme.example"),
        ("jose@bücher.example", "jose@xn--bcher-kva.example"),
        ("jose@BÜCHER.example", "JOSE@XN--BCHER-KVA.EXAMPLE"),
        ("jose+x@bücher.example.", "jose@xn--bcher-kva.example"),
        ("anna@straße.de", "anna@xn--strae-oqa.de"),
        ("  mark@acme.example ", "mark@acme.example"),
        # é as one code point and as e + combining accent
        ("jos\u00e9@acme.example", "jose\u0301@acme.example"),
    ],
)
def test_addresses_of_one_mailbox_are_the_same(first, second):
    assert same_mailbox(first, second)
    assert same_mailbox(second, first)
    assert mailbox(first) == mailbox(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("mark@acme.example", "marc@acme.example"),
        ("mark@acme.example", "mark@acme.example.org"),
        ("mark.perks@acme.example", "mark@acme.example"),
        ("anna@straße.de", "anna@strasse.de"),  # IDNA 2008: ß is its own letter
        ("", ""),
        ("", "mark@acme.example"),
        ("   ", "   "),
    ],
)
def test_different_or_missing_addresses_are_not_the_same(first, second):
    assert not same_mailbox(first, second)


def test_the_ascii_domain_is_lower_case_punycode():
    assert ascii_domain("Bücher.Example") == "xn--bcher-kva.example"
    assert ascii_domain("ACME.example") == "acme.example"
    assert ascii_domain("xn--bcher-kva.example") == "xn--bcher-kva.example"


def test_the_address_sent_to_coolblue_is_ascii_and_keeps_its_tag():
    assert ascii_address("jose+perks@bücher.example") == "jose+perks@xn--bcher-kva.example"
    assert ascii_address("Jane.Doe@Example.com") == "Jane.Doe@example.com"
    assert ascii_address("jane@example.com").isascii()


@pytest.mark.parametrize("address", ["jösé@bücher.example", "no-at-sign", "@acme.example", "a@"])
def test_addresses_coolblue_cannot_take_are_refused(address):
    with pytest.raises(ValueError):
        ascii_address(address)
