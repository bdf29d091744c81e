"""bot.runtime.web.bolt_safe_body and interaction_json: which bodies Bolt gets as they are,
and which as JSON.

An interaction (`payload=…`) is decoded once: here, into the JSON Bolt then reads
(`interaction_json`), or where this cannot be done exactly as urllib would, by Bolt, the body
unchanged. Any other form body that contains the word "payload" is handed over as its fields
in JSON (Bolt 1.30 would otherwise look for a payload field it does not find and route
nothing)."""

import json
import random
import re
from urllib.parse import quote, quote_plus, unquote_plus, urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.runtime.web import FORM, bolt_safe_body, interaction_json

INTERACTION = "payload=" + quote(json.dumps({"type": "block_actions", "user": {"id": "U1"}}))


@pytest.mark.parametrize(
    "body",
    [
        INTERACTION,
        # The field's name percent-encoded, or not the first field: still a payload field.
        "pay%6Coad=" + INTERACTION.split("=", 1)[1],
        "token=x&payload=" + INTERACTION.split("=", 1)[1],
    ],
)
def test_an_interaction_reaches_bolt_unchanged(body):
    assert bolt_safe_body(body, FORM) == (body, FORM)
    assert bolt_safe_body(body, None) == (body, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"command": "/community", "text": "credit payload.team@example.com"},
        {"command": "/community", "text": "payload=1", "channel_name": "payloads"},
        {"command": "/community", "text": "help", "user_name": "payload"},
        # A field whose name only contains the word.
        {"command": "/community", "payloads": "x"},
    ],
)
def test_a_form_without_a_payload_field_reaches_bolt_as_json(fields):
    body, content_type = bolt_safe_body(urlencode(fields), FORM)
    assert content_type == "application/json"
    assert json.loads(body) == fields


def test_bodies_bolt_reads_right_are_not_touched():
    command = urlencode({"command": "/community", "text": "help"})
    assert bolt_safe_body(command, FORM) == (command, FORM)
    event = json.dumps({"type": "event_callback", "text": "payload"})
    assert bolt_safe_body(event, "application/json") == (event, "application/json")


# interaction_json: the payload decoded here, as urllib would, for Bolt to read as JSON ------


def test_an_interaction_reaches_bolt_as_the_same_json():
    view = {"type": "view_submission", "view": {"title": "Ünïcødé & 100% = +€ \n\t"}}
    body = "payload=" + quote_plus(json.dumps(view))
    decoded = interaction_json(body, FORM)
    assert decoded is not None
    assert json.loads(decoded) == view
    assert BoltRequest(body=decoded, headers={"content-type": ["application/json"]}).body == (
        BoltRequest(body=body, headers={"content-type": [FORM]}).body
    )


@pytest.mark.parametrize(
    "body",
    [
        "command=%2Fcommunity&text=help",  # not an interaction
        "payload=",  # nothing to decode: Bolt refuses it, as before
        "payload=%7B%7D&token=x",  # more than the payload field
        "payload=%7B%22a%22%3A%22%zz%22%7D",  # a % that escapes nothing
        "payload=%7B%22a%22%3A%22=41%22%7D",  # a raw =
    ],
)
def test_anything_else_is_left_to_the_usual_way(body):
    assert interaction_json(body, FORM) is None


def test_the_decoding_is_urllibs_for_any_value_it_takes():
    pieces = [*"ab+ _%\r\n\t\x00é€{}\"'&", "%20", "%2b", "%0A", "%C3%A9", "%e2%82%ac", "%FF"]
    pieces += ["%zz", "%2", "=", "=41", "%3D"]
    chance = random.Random(23)
    taken = 0
    for _ in range(20000):
        value = "".join(chance.choice(pieces) for _ in range(chance.randint(0, 12)))
        decoded = interaction_json("payload=" + value, FORM)
        if decoded is not None:
            taken += 1
            assert decoded == unquote_plus(value), value
        else:  # empty, another field, or what urllib and quoted-printable read differently
            assert (
                not value or "&" in value or "=" in value or re.search("%(?![0-9A-Fa-f]{2})", value)
            )
    assert taken > 5000
