"""The Slack edge, hardened: what reaches Bolt, who may decide, what is slow, what is
logged and how user text is shown. Signed HTTP against a LocalStack, as everywhere."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.communities import community_cache, install_log_filter
from bot.domain.requests import Status
from bot.domain.roles import Role
from bot.local.stack import LocalStack
from bot.runtime.bootstrap import slack_client
from bot.runtime.web import create_wsgi_app
from bot.slack.app import build_app
from bot.slack.errors import handle_error
from bot.slack_standin import StandInUser
from tests.conftest import (
    ALICE,
    BOB,
    CAROL,
    COMMUNITY,
    DAVE,
    FRANK,
    GRACE,
    MANAGERS_GROUP,
    stack_settings,
    team,
)
from tests.flows import (
    JANE,
    approval_message,
    click,
    ephemeral_after,
    file_request,
    open_modal,
    wait_status,
)

MARK = "U0MARK"  # a manager whose Slack user name is "payload"
NOMAIL = "U0NOMAIL"  # a manager whose Slack profile has no e-mail address
JOSE = "U0JOSE"  # a manager at an internationalised domain


@pytest.fixture
def people(redis_url):
    """A stack whose people include the awkward ones."""
    users = [
        *team(),
        StandInUser(id=MARK, name="payload", real_name="Mark Payload", email="mark@acme.example"),
        StandInUser(id=NOMAIL, name="nomail", real_name="No Mail", email=""),
        # Slack knows José by the punycode form of his domain, in capitals.
        StandInUser(
            id=JOSE, name="jose", real_name="José Bücher", email="Jose@XN--BCHER-KVA.example"
        ),
    ]
    settings = stack_settings(
        redis_url, roles_manager=f"{BOB},{GRACE},{MANAGERS_GROUP},{MARK},{NOMAIL},{JOSE}"
    )
    with LocalStack(settings, users, {MANAGERS_GROUP: []}) as stack:
        yield stack


def _reply(stack, user: str, text: str, channel_id: str | None = None) -> str:
    before = len(stack.standin.ephemerals(user))
    result = stack.driver.command(user, text, channel_id=channel_id)
    assert result.status_code == 200, (result.status_code, result.body)
    return ephemeral_after(stack, user, before)


# 1. A word in the command text must not lose the command ------------------------------


def test_the_word_payload_in_the_command_text_keeps_the_command(stack):
    stack.sandbox.state.add_member(
        COMMUNITY, "payload.team@example.com", "Pay", "Load", Decimal("5.00")
    )
    assert "€5.00" in _reply(stack, CAROL, "credit payload.team@example.com")


def test_payload_in_any_field_keeps_the_command(people):
    # The channel's name (c0payloads) and the user's name (payload) are form fields too.
    assert "/community credit" in _reply(people, CAROL, "help", channel_id="C0PAYLOADS")
    assert "Your roles: manager" in _reply(people, MARK, "help")


def test_socket_mode_hands_bolt_the_payload_as_it_is(stack):
    """Socket Mode envelopes never reach Bolt's parse_body: the same command, dispatched
    the way slack_bolt.adapter.socket_mode does it, is answered."""
    stack.sandbox.state.add_member(
        COMMUNITY, "payload.team@example.com", "Pay", "Load", Decimal("6.00")
    )
    app = build_app(stack.services, slack_client("xoxb-standin", stack.standin.api_url), None)
    before = len(stack.standin.ephemerals(CAROL))
    channel = stack.standin.dm_channel(CAROL)
    command = {
        "command": "/community",
        "text": "credit payload.team@example.com",
        "user_id": CAROL,
        "user_name": "carol",
        "channel_id": channel,
        "channel_name": "payloads",
        "team_id": "T0001",
        "response_url": stack.standin.response_urls.issue(CAROL, channel),
        "trigger_id": stack.standin.issue_trigger(CAROL),
    }
    response = app.dispatch(BoltRequest(body=command, mode="socket_mode"))
    assert response.status == 200
    assert "€6.00" in ephemeral_after(stack, CAROL, before)


# 3. Neither the requester nor the employee may decide ----------------------------------


def _refusal_to(stack, user: str, act) -> str:
    before = len(stack.standin.ephemerals(user))
    act()
    return ephemeral_after(stack, user, before)


def _failed_request(stack, requester: str, values: dict[str, str]):
    """A request that failed (Coolblue refused our credentials), so Retry is offered."""
    request = file_request(stack, requester, values)
    stack.sandbox.faults.fail_next, stack.sandbox.faults.fail_status = 50, 401
    click(stack, BOB, "Approve", request)
    failed = wait_status(stack, request.id, Status.FAILED, timeout=20)
    stack.sandbox.faults.clear()
    stack.standin.wait_for(
        lambda: "Retry" in json.dumps(approval_message(stack, failed).blocks),
        description="Retry offered",
    )
    return failed


def test_the_employee_cannot_reject_their_own_offboarding(stack):
    request = file_request(stack, ALICE, {"email": "grace@acme.nl", "reason": "Leaves"}, "remove")
    opened = len(stack.standin.calls_to("views.open"))
    text = _refusal_to(stack, GRACE, lambda: click(stack, GRACE, "Reject", request))
    assert "about you" in text
    assert len(stack.standin.calls_to("views.open")) == opened  # refused before any modal
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_a_slow_slack_opens_the_reject_modal_first_and_the_submission_refuses(stack):
    request = file_request(stack, ALICE, {"email": "grace@acme.nl", "reason": "Leaves"}, "remove")
    stack.standin.fail_next("users.info", "ratelimited", count=1, retry_after=1)
    click(stack, GRACE, "Reject", request)
    modal = stack.standin.wait_for(lambda: stack.standin.open_view(GRACE))
    stack.standin.wait_for(
        lambda: [
            c for c in stack.standin.calls_to("users.info") if c.ok and c.args["user"] == GRACE
        ],
        description="Grace's address learnt after the modal opened",
    )
    result = stack.driver.fill_and_submit(GRACE, modal["id"], {"reason": "I stay"})
    assert result.errors and "about you" in result.errors["reason"]
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_the_employee_is_offered_no_decision_in_app_home_or_a_pending_list(stack):
    """Lists render the decision (bot.domain.access): Grace is not offered a request about
    her, Bob is. A click on a stale App Home that still shows the buttons is refused on the
    server (tests/test_access_table_e2e.py)."""
    request = file_request(stack, ALICE, {**JANE, "email": "Grace@ACME.nl"})
    stack.driver.open_home(GRACE)
    home = stack.standin.wait_for(lambda: stack.standin.home(GRACE))
    assert request.id not in json.dumps(home["blocks"])
    assert request.id not in _reply(stack, GRACE, "pending")
    assert request.id in _reply(stack, BOB, "pending")
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_a_tagged_address_is_the_employees_own(stack):
    request = file_request(stack, ALICE, {**JANE, "email": "grace+perks@acme.nl"})
    text = _refusal_to(stack, GRACE, lambda: click(stack, GRACE, "Approve", request))
    assert "about you" in text
    assert stack.services.store.get(request.id).status is Status.PENDING


def test_an_internationalised_domain_is_one_domain_and_coolblue_gets_ascii(people):
    # HR types the Unicode form; Slack has the punycode form (the fixture).
    request = file_request(people, ALICE, {**JANE, "email": "jose@Bücher.example"})
    assert request.email == "jose@xn--bcher-kva.example"
    text = _refusal_to(people, JOSE, lambda: click(people, JOSE, "Approve", request))
    assert "about you" in text
    click(people, BOB, "Approve", request)
    wait_status(people, request.id, Status.DONE)
    (create,) = [
        r
        for r in people.sandbox.state.requests
        if r["method"] == "POST" and r["path"].endswith("/members")
    ]
    assert create["body"]["Member"]["EmailAddress"] == "jose@xn--bcher-kva.example"


def test_neither_the_requester_nor_the_employee_may_retry(stack):
    failed = _failed_request(stack, DAVE, {**JANE, "email": "grace@acme.nl"})
    text = _refusal_to(stack, DAVE, lambda: click(stack, DAVE, "Retry", failed))
    assert "someone else" in text
    text = _refusal_to(stack, GRACE, lambda: click(stack, GRACE, "Retry", failed))
    assert "about you" in text
    assert stack.services.store.get(failed.id).status is Status.FAILED
    click(stack, BOB, "Retry", failed)
    wait_status(stack, failed.id, Status.DONE, timeout=20)


@pytest.mark.parametrize(("failure", "count"), [("internal_error", 1), ("ratelimited", 3)])
def test_an_unknown_approver_address_refuses_the_click(stack, failure, count):
    """Fail closed: when Slack will not say who the approver is, nothing is approved."""
    request = file_request(stack, ALICE, JANE)
    stack.standin.fail_next("users.info", failure, count=count)  # 429s: outlast 2 retries
    text = _refusal_to(stack, GRACE, lambda: click(stack, GRACE, "Approve", request))
    assert "try again" in text
    assert stack.services.store.get(request.id).status is Status.PENDING
    click(stack, GRACE, "Approve", request)  # Slack answers again: the click goes through
    assert wait_status(stack, request.id, Status.DONE).decided_by == GRACE


def test_an_unknown_address_refuses_reject_and_retry_too(people):
    request = file_request(people, ALICE, JANE)
    click(people, NOMAIL, "Reject", request)  # a profile without an address
    modal = people.standin.wait_for(lambda: people.standin.open_view(NOMAIL))
    result = people.driver.fill_and_submit(NOMAIL, modal["id"], {"reason": "No budget"})
    assert result.errors and "try again" in result.errors["reason"]
    assert people.services.store.get(request.id).status is Status.PENDING
    failed = _failed_request(people, ALICE, {**JANE, "email": "other@example.com"})
    text = _refusal_to(people, NOMAIL, lambda: click(people, NOMAIL, "Retry", failed))
    assert "try again" in text
    assert people.services.store.get(failed.id).status is Status.FAILED


# 7. Nothing slow on the ack path, nothing slow ahead of a modal ------------------------


def test_a_slash_commands_role_check_waits_on_no_slack_call(stack):
    """A group nobody has read yet: the ack answers before usergroups.users.list has (the
    call is rate limited, so Slack's answer comes a second later), and the command is still
    answered, from the lazy part."""
    stack.standin.directory.set_usergroup("S0LATECOMERS", [FRANK])
    stack.services.roles.grants[Role.MANAGER] += ("S0LATECOMERS",)
    stack.standin.fail_next("usergroups.users.list", "ratelimited", count=1, retry_after=1)
    before = len(stack.standin.ephemerals(FRANK))
    assert stack.driver.command(FRANK, "help").status_code == 200
    answered = [
        c
        for c in stack.standin.calls_to("usergroups.users.list")
        if c.ok and c.args.get("usergroup") == "S0LATECOMERS"
    ]
    assert answered == []  # the ack did not wait for Slack's answer
    assert "Your roles: manager" in ephemeral_after(stack, FRANK, before)


def test_a_modal_submission_waits_on_no_coolblue_call(stack, monkeypatch):
    """The communities offered travel in the modal: its submission is checked against them,
    even with the community cache gone cold since the modal opened."""
    monkeypatch.setattr(community_cache, "LOCAL_CACHE_SECONDS", 0.0)  # Redis only
    view = open_modal(stack, ALICE, "add")
    for key in stack.redis.scan_iter(f"{community_cache.COMMUNITIES_CACHE_PREFIX}*"):
        stack.redis.delete(key)
    listed = stack.sandbox.state.operation_counts.get("listCommunities", 0)
    result = stack.driver.fill_and_submit(ALICE, view["id"], JANE)
    assert result.errors is None
    assert stack.services.store.recent_ids()  # filed
    assert stack.sandbox.state.operation_counts.get("listCommunities", 0) == listed


def test_slow_credit_look_ups_do_not_keep_modals_from_opening(stack):
    """Many look-ups hang on a slow Coolblue; Add and Reject modals still open while every
    one of them is still waiting."""
    request = file_request(stack, ALICE, JANE)
    _reply(stack, CAROL, "communities")  # the community list is cached; look-ups hang below
    faults = stack.sandbox.faults
    faults.operation, faults.hang_seconds, faults.hang_next = "getRemainingCredit", 30.0, 1000
    answered_before = len(stack.standin.ephemerals(CAROL))
    for number in range(20):
        assert stack.driver.command(CAROL, f"credit person{number}@example.com").ok
    stack.standin.wait_for(
        lambda: stack.sandbox.state.operation_counts.get("getRemainingCredit", 0) >= 4,
        description="look-ups waiting on Coolblue",
    )
    open_modal(stack, ALICE, "add")
    click(stack, BOB, "Reject", request)
    stack.standin.wait_for(lambda: stack.standin.open_view(BOB), description="Reject modal")
    assert len(stack.standin.ephemerals(CAROL)) == answered_before  # none answered yet
    faults.clear()  # Coolblue recovers: every look-up is answered after all
    stack.standin.wait_for(
        lambda: len(stack.standin.ephemerals(CAROL)) == answered_before + 20,
        timeout=30,
        description="every look-up answered",
    )


# 8. Nothing is parsed or logged before the signature is checked ------------------------

FORM = "application/x-www-form-urlencoded"


def _command_body(stack, user: str = ALICE, text: str = "add") -> bytes:
    return urlencode(
        {
            "command": "/community",
            "text": text,
            "user_id": user,
            "user_name": "alice",
            "trigger_id": stack.standin.issue_trigger(user),
            "team_id": "T0001",
            "response_url": "http://127.0.0.1:9/response/secret-path",
        }
    ).encode()


def _send_signed(stack, body: bytes, age: int = 0, **kwargs):
    """POST `body` signed as Slack signs, `age` seconds ago (any bytes, UTF-8 or not)."""
    stamp = str(int(time.time()) - age)
    secret = stack.settings.slack_signing_secret.get_secret_value().encode()
    digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return stack.driver.send(
        body, FORM, timestamp=stamp, signature="v0=" + digest.hexdigest(), **kwargs
    )


BROKEN_BODIES = [b"\xff\xfe not UTF-8 \x80", b"{not json", b"payload=%7Bnot json", b"payload=\xff"]


@pytest.mark.parametrize("body", [*BROKEN_BODIES, b""])
def test_unsigned_and_stale_requests_get_401_however_broken_the_body(stack, body):
    forged = stack.driver.send(body, FORM, signature="v0=" + "0" * 64)
    unsigned = stack.driver.send(body, FORM, signature="x", headers={"X-Slack-Signature": ""})
    stale = _send_signed(stack, body, age=600)
    future = _send_signed(stack, body, age=-600)
    assert [r.status_code for r in (forged, unsigned, stale, future)] == [401] * 4


@pytest.mark.parametrize("body", BROKEN_BODIES)
def test_signed_garbage_is_refused_without_a_500(stack, body):
    assert _send_signed(stack, body).status_code == 400


def test_a_body_over_one_mebibyte_is_refused_with_413(stack):
    body = _command_body(stack) + b"&filler=" + b"x" * (1024 * 1024)
    assert stack.driver.send(body, FORM).status_code == 413
    assert stack.driver.send(_command_body(stack, CAROL, "help"), FORM).status_code == 200


class _Unread(io.BytesIO):
    """A request body that records how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def _call_edge(stack, body: bytes, content_length: str, *, signed: bool = True):
    """Call the bot's WSGI app directly, as any WSGI server would, with headers waitress
    would not let through (a broken Content-Length)."""
    secret = stack.settings.slack_signing_secret.get_secret_value()
    wsgi = create_wsgi_app(
        build_app(stack.services, slack_client("xoxb-standin", stack.standin.api_url), None),
        stack.redis,
        secret,
    )
    stamp = str(int(time.time()))
    stream = _Unread(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "CONTENT_TYPE": FORM,
        "CONTENT_LENGTH": content_length,
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "wsgi.input": stream,
    }
    if signed:
        environ["HTTP_X_SLACK_SIGNATURE"] = stack.driver.sign(body, stamp)
    statuses: list[str] = []
    b"".join(wsgi(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], stream


def test_a_broken_content_length_is_refused_and_a_big_one_is_not_read(stack):
    body = _command_body(stack, CAROL, "help")
    for length in ("abc", "-1", "1e3", str(len(body) + 10)):
        status, _ = _call_edge(stack, body, length)
        assert status.startswith("401"), (length, status)
    status, stream = _call_edge(stack, body, str(2 * 1024 * 1024))
    assert status.startswith("413") and stream.taken == 0
    status, stream = _call_edge(stack, body, str(2 * 1024 * 1024), signed=False)
    assert status.startswith("401") and stream.taken == 0
    assert _call_edge(stack, body, str(len(body)))[0].startswith("200")


def test_a_refused_request_is_logged_in_one_line_without_its_body(stack, caplog):
    body = _command_body(stack, ALICE, "credit leaked.person@example.com")
    with caplog.at_level(logging.DEBUG):
        assert stack.driver.send(body, FORM, timestamp=int(time.time()) - 600).status_code == 401
        assert stack.driver.send(body, FORM, signature="v0=" + "1" * 64).status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert len([line for line in lines if line.startswith("refused")]) == 2, lines
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("leaked.person", "secret-path", "alice", ALICE):
        assert secret not in logged


def test_no_personal_data_in_the_logs_across_a_full_flow(stack, caplog):
    """Everything a person does in the README's story, plus refusals and failures, with
    the bot's loggers at DEBUG (others at INFO, as LOG_LEVEL=INFO runs them): no e-mail
    address, name or response_url in any line. The stand-ins' own loggers are Slack's and
    Coolblue's side, not the bot's."""
    install_log_filter()  # as the entry point does (bot.__main__._configure_logging)
    people = {
        "Janet",
        "Doelittle",
        "janet.doelittle@example.com",
        "Alice Hr",
        "Bob Manager",
        "Carol Support",
        "alice@acme.nl",
        "bob@acme.nl",
        "grace@acme.nl",
    }
    janet = {
        **JANE,
        "first_name": "Janet",
        "last_name": "Doelittle",
        "email": "janet.doelittle@example.com",
    }
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="bot"):
        request = file_request(stack, ALICE, janet)
        stack.standin.fail_next("users.info", "internal_error", count=1)
        click(stack, GRACE, "Approve", request)  # refused: Slack would not say who she is
        click(stack, BOB, "Approve", request)
        wait_status(stack, request.id, Status.DONE)
        _reply(stack, CAROL, "credit janet.doelittle@example.com")
        _reply(stack, CAROL, "credit nobody.here@example.com")
        _reply(stack, CAROL, "Doelittle")  # not a subcommand: help, naming the word
        removal = file_request(
            stack, ALICE, {"email": "janet.doelittle@example.com", "reason": "Leaves"}, "remove"
        )
        click(stack, BOB, "Reject", removal)
        modal = stack.standin.wait_for(lambda: stack.standin.open_view(BOB))
        stack.driver.fill_and_submit(BOB, modal["id"], {"reason": "Janet Doelittle stays"})
        wait_status(stack, removal.id, Status.REJECTED)
        _reply(stack, DAVE, "audit")
        stack.driver.open_home(BOB)
        stack.standin.wait_for(lambda: stack.standin.home(BOB))
        body = _command_body(stack, ALICE, "credit janet.doelittle@example.com")
        assert _send_signed(stack, body, age=600).status_code == 401
        stack.standin.wait_for(lambda: stack.standin.dms(ALICE))
    response_urls = {r.get("url", "") for r in stack.standin.responses} - {""}
    lines = [
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if not record.name.startswith(("bot.sandbox", "bot.slack_standin"))
    ]
    assert lines  # the flow logs something, just nothing personal
    logged = "\n".join(lines).lower()
    for secret in [*people, *response_urls, "/response/"]:
        assert secret.lower() not in logged, secret


# 11. Text shows as typed -----------------------------------------------------------------

LITERAL = re.compile(r"<!date\^00000000\^\{_\}\|([^<>|]*)>")  # text.escape's literal run
TYPED = {
    "first_name": "*Bold*",
    "last_name": "_Doe_",
    "email": "jane@example.com",
    "credit": "10",
    "external_reference": "~ref~",
    "note": "`code` https://evil.example/x www.phish.example :smile: @channel #general\n"
    "> not a quote",
}
# What Slack would turn into formatting, an emoji, a link or a mention if it saw it.
ACTIVE = [
    "*Bold*",
    "_Doe_",
    "~ref~",
    "`code`",
    "https://",
    "evil.example",
    "www.phish",
    ":smile:",
    "@channel",
    "#general",
    "jane@example",
]


def _mrkdwn(blocks: list[dict]) -> list[str]:
    """Every mrkdwn text in Block Kit blocks."""
    texts: list[str] = []
    for block in blocks:
        parts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        texts += [p["text"] for p in parts if isinstance(p, dict) and p.get("type") == "mrkdwn"]
    return texts


def _shown(text: str) -> str:
    """What a reader sees: a literal run shows its characters; entities read as typed."""
    text = LITERAL.sub(lambda run: run.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _formatted(text: str) -> str:
    """What Slack's mrkdwn acts on: everything outside the literal runs."""
    return LITERAL.sub("\u2063", text)


def _assert_shown_as_typed(texts: list[str], *typed: str) -> None:
    shown = "\n".join(_shown(t) for t in texts)
    for value in typed:
        assert value in shown, (value, shown)
    for text in texts:
        formatted = _formatted(text)
        for active in ACTIVE:
            assert active not in formatted, (active, text)
        assert not re.search(r"(?m)^\s*&gt;", formatted), text


def test_user_text_shows_as_typed_in_every_message_dm_modal_and_home(stack):
    request = file_request(stack, ALICE, TYPED)
    note_line = TYPED["note"].splitlines()[0]
    _assert_shown_as_typed(
        _mrkdwn(approval_message(stack, request).blocks), "*Bold* _Doe_", "~ref~", note_line
    )
    dm = stack.standin.wait_for(lambda: stack.standin.dms(ALICE))[0]
    _assert_shown_as_typed(_mrkdwn(dm.blocks), "*Bold* _Doe_", "jane@example.com")
    pending = _reply(stack, BOB, "pending")
    assert "open request" in pending
    listed = stack.standin.ephemerals(BOB)[-1]
    _assert_shown_as_typed(_mrkdwn(listed["blocks"]), "*Bold* _Doe_")
    stack.driver.open_home(BOB)
    home = stack.standin.wait_for(lambda: stack.standin.home(BOB))
    _assert_shown_as_typed(_mrkdwn(home["blocks"]), "*Bold* _Doe_")
    click(stack, BOB, "Reject", request)
    modal = stack.standin.wait_for(lambda: stack.standin.open_view(BOB))
    _assert_shown_as_typed(_mrkdwn(modal["blocks"]), "*Bold* _Doe_")
    stack.driver.fill_and_submit(BOB, modal["id"], {"reason": "*no* budget, see http://x.example"})
    rejected = stack.standin.wait_for(
        lambda: (
            (m := approval_message(stack, request)).metadata["event_payload"]["status"]
            == "rejected"
            and m
        )
    )
    _assert_shown_as_typed(_mrkdwn(rejected.blocks), "*no* budget, see http://x.example")


def test_error_texts_from_coolblue_are_escaped(stack):
    stack.sandbox.state.add_member(COMMUNITY, "jane@example.com", "Jane", "Doe", Decimal("1"))
    faults = stack.sandbox.faults
    faults.operation, faults.fail_next, faults.fail_status = "getRemainingCredit", 1, 400
    text = stack.standin.ephemerals(CAROL)
    before = len(text)
    stack.driver.command(CAROL, "credit jane@example.com")
    shown = stack.standin.wait_for(lambda: stack.standin.ephemerals(CAROL)[before:])[0]["text"]
    assert "Injected fault: the sandbox was told to fail." in _shown(shown)
    assert "fault:" not in _formatted(shown)  # the API's words are escaped like user text


def test_an_unhandled_error_is_logged_without_its_words(caplog):
    words = "jane.doe@example.com is not Jane Doe"
    try:
        raise ValueError(words)
    except ValueError as error:
        with caplog.at_level(logging.ERROR, logger="bot"):
            handle_error(error, {}, None)
    (record,) = [r for r in caplog.records if r.name == "bot.slack"]
    logged = record.getMessage() + (record.exc_text or "")
    assert "ValueError" in logged and "reference" in logged and __file__ in logged
    assert "jane" not in logged.lower()
