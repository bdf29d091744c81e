"""Every /community subcommand for every role, input validation, escaping, and forged
requests — all through signed HTTP to the bot."""

from __future__ import annotations

import csv
import io
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from bot.domain.requests import Status
from bot.local.stack import APPROVALS_CHANNEL
from tests.conftest import ALICE, BOB, BOTH_MODES, CAROL, COMMUNITY, DAVE, FRANK, HTTP_ONLY
from tests.flows import (
    JANE,
    approval_message,
    click,
    ephemeral_after,
    file_request,
    health_parts,
    open_modal,
    wait_status,
)

pytestmark = BOTH_MODES  # every test over HTTP and over Socket Mode, unless HTTP_ONLY

EVERYONE = [ALICE, BOB, CAROL, DAVE, FRANK]
# subcommand -> users allowed (admins may do everything)
ALLOWED = {
    "add": {ALICE, DAVE},
    "remove": {ALICE, DAVE},
    "credit member@example.com": {ALICE, BOB, CAROL, DAVE},
    "pending": {ALICE, BOB, DAVE},
    "communities": {ALICE, BOB, CAROL, DAVE},
    "audit": {DAVE},
}


def reply_to(stack, user: str, text: str) -> str:
    before = len(stack.standin.ephemerals(user))
    result = stack.driver.command(user, text)
    assert result.status_code == 200
    return ephemeral_after(stack, user, before)


@pytest.mark.parametrize("subcommand", sorted(ALLOWED))
def test_each_subcommand_for_each_role(stack, subcommand):
    stack.sandbox.state.add_member(COMMUNITY, "member@example.com", "Mem", "Ber", Decimal("42.10"))
    for user in EVERYONE:
        if subcommand in ("add", "remove") and user in ALLOWED[subcommand]:
            view = open_modal(stack, user, subcommand)
            assert view["callback_id"] in ("add_employee", "remove_employee")
            stack.standin.close_top_view(user)
            continue
        text = reply_to(stack, user, subcommand)
        if user not in ALLOWED[subcommand]:
            assert "Only" in text, (user, text)
        elif subcommand.startswith("credit"):
            assert "€42.10" in text
        elif subcommand == "pending":
            assert "No open requests" in text
        elif subcommand == "communities":
            assert COMMUNITY in text
        elif subcommand == "audit":
            assert "Sent the audit trail" in text


def test_help_shows_each_role_its_own_commands(stack):
    assert "/community add" in reply_to(stack, ALICE, "help")
    assert "/community audit" not in reply_to(stack, ALICE, "")
    carol = reply_to(stack, CAROL, "bogus")
    assert "I don't know `bogus`" in carol and "/community credit" in carol
    assert "/community add" not in carol
    assert "no Community Bot role" in reply_to(stack, FRANK, "help")
    assert "/community audit" in reply_to(stack, DAVE, "help")


def test_credit_is_private_and_in_euros(stack):
    stack.sandbox.state.add_member(COMMUNITY, "jane@example.com", "Jane", "Doe", Decimal("0.30"))
    text = reply_to(stack, CAROL, "credit Jane@Example.com")
    assert "€0.30" in text and "Correlation ID" in text
    assert not stack.standin.messages(APPROVALS_CHANNEL)  # nothing public
    assert "not a member" in reply_to(stack, CAROL, "credit nobody@example.com")
    assert "valid e-mail" in reply_to(stack, CAROL, "credit not-an-email")


def test_audit_csv_is_sent_by_dm(stack):
    request = file_request(stack, ALICE, JANE)
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    reply_to(stack, DAVE, "audit")
    shared = stack.standin.wait_for(lambda: stack.standin.files())
    rows = list(csv.DictReader(io.StringIO(shared[-1].content.decode())))
    assert [r["action"] for r in rows if r["request_id"] == request.id] == [
        "filed",
        "approved",
        "execution_started",
        "done",
    ]
    done = rows[-1]
    assert done["correlation_id"] and done["email"] == "jane@example.com"
    assert shared[-1].channels == [stack.standin.dm_channel(DAVE)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "valid e-mail"),
        ("credit", "-5", "more than €0.00"),
        ("credit", "0", "more than €0.00"),
        ("credit", "1.234", "two decimals"),
        ("credit", "2500.01", "maximum"),
        ("credit", "lots", "amount in euros"),
        ("first_name", "x" * 10_000, "1 to 100"),
        ("last_name", "Doe\u0007", "control characters"),
    ],
)
def test_bad_input_shows_error_on_the_field_and_posts_nothing(stack, field, value, message):
    view = open_modal(stack, ALICE, "add")
    result = stack.driver.fill_and_submit(ALICE, view["id"], {**JANE, field: value})
    assert result.errors is not None and message in result.errors[field]
    assert stack.standin.open_view(ALICE)["id"] == view["id"]  # the modal stays open
    assert not stack.standin.messages(APPROVALS_CHANNEL)
    assert stack.services.store.recent_ids() == []


def test_user_text_is_escaped_everywhere(stack):
    evil = {
        "first_name": "<!channel>",
        "last_name": "<@U123>",
        "email": "jane@example.com",
        "credit": "10",
        "note": "Tom & Jerry <b>",
        "external_reference": "<!here>",
    }
    request = file_request(stack, ALICE, evil)
    reply_to(stack, BOB, "pending")
    stack.driver.open_home(BOB)
    stack.standin.wait_for(lambda: stack.standin.home(BOB))
    click(stack, BOB, "Approve", request)
    wait_status(stack, request.id, Status.DONE)
    stack.standin.wait_for(
        lambda: any(m.text.startswith("Your request is done.") for m in stack.standin.dms(ALICE))
    )
    time.sleep(0.2)
    shown = json.dumps([c.args for c in stack.standin.calls], ensure_ascii=False)
    shown += json.dumps(stack.standin.responses, ensure_ascii=False, default=str)
    for raw in ("<!channel>", "<@U123>", "<!here>", "<b>"):
        assert raw not in shown
    assert "&lt;!channel&gt;" in json.dumps(approval_message(stack, request).blocks)
    assert "Tom &amp; Jerry &lt;b&gt;" in shown


@HTTP_ONLY  # signatures are HTTP's; Socket Mode is authenticated by the app token
def test_forged_and_replayed_requests_are_refused(stack):
    body = urlencode(
        {
            "command": "/community",
            "text": "add",
            "user_id": ALICE,
            "trigger_id": stack.standin.issue_trigger(ALICE),
            "team_id": "T0001",
            "response_url": "http://127.0.0.1:9/x",
        }
    ).encode()
    form = "application/x-www-form-urlencoded"
    forged = stack.driver.send(body, form, signature="v0=" + "0" * 64)
    replayed = stack.driver.send(body, form, timestamp=int(time.time()) - 600)
    assert (forged.status_code, replayed.status_code) == (401, 401)
    time.sleep(0.3)
    assert stack.standin.open_view(ALICE) is None
    assert not stack.standin.calls_to("views.open")


def test_app_home_shows_roles_and_waiting_requests(stack):
    request = file_request(stack, ALICE, JANE)
    stack.driver.open_home(BOB)
    home = stack.standin.wait_for(lambda: stack.standin.home(BOB))
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert "Your roles: manager" in text and request.id in text
    stack.driver.click_in_view(BOB, "Approve", view_id=home["id"])
    wait_status(stack, request.id, Status.DONE)
    refreshed = stack.standin.wait_for(
        lambda: (
            request.id not in json.dumps((stack.standin.home(BOB) or {}).get("blocks", [])[:6])
            and stack.standin.home(BOB)
        )
    )
    assert "Waiting for your approval" in json.dumps(refreshed["blocks"])


@HTTP_ONLY  # Socket Mode's health port: tests/test_socket_mode_e2e.py
def test_healthz_answers_when_redis_is_usable(stack):
    import httpx

    reply = httpx.get(f"{stack.server.url}/healthz")
    assert reply.status_code == 200
    assert health_parts(reply.json()) == {
        "ok": True,
        "redis": "ok",
        "worker": "ok",
        "import runner": "ok",
    }
