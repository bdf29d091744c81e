"""bot.runtime.web.bolt_safe_body: which bodies Bolt gets as they are, and which as JSON.

An interaction (`payload=…`) passes unchanged and is decoded once, by Bolt; any other form
body that contains the word "payload" is handed over as its fields in JSON (Bolt 1.30 would
otherwise look for a payload field it does not find and route nothing)."""

import json
from urllib.parse import quote, urlencode

import pytest

from bot.runtime.web import FORM, bolt_safe_body

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
