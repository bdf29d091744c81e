"""The Slack stand-in and driver, over real HTTP: slack_sdk's WebClient against the stand-in,
and the driver against a small real Bolt app served on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.runtime.http_server import HttpServer
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser

TOKEN = "xoxb-standin"
SECRET = "standin-signing-secret"
ALICE, BOB = "U0ALICE", "U0BOB"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    users = [
        StandInUser(id=ALICE, name="alice", real_name="Alice Hr", email="alice@example.com"),
        StandInUser(id=BOB, name="bob", real_name="Bob Manager", email="Bob@Example.com"),
    ]
    with SlackStandIn(users=users, usergroups={"S0MANAGERS": [BOB]}, bot_token=TOKEN) as server:
        yield server


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.api_url)


def button_blocks(*labels: str) -> list[dict[str, Any]]:
    elements = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": label.lower(),
            "value": f"req-1:{label.lower()}",
        }
        for label in labels
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Request *req-1*"}},
        {"type": "actions", "block_id": "decision", "elements": elements},
    ]


# ---------------------------------------------------------------------------------------------
# The Web API, through slack_sdk


def test_post_message_to_channel_and_to_user_dm(standin: SlackStandIn, client: WebClient) -> None:
    metadata = {"event_type": "community_request", "event_payload": {"request_id": "req-1"}}
    first = client.chat_postMessage(
        channel="C0APPROVALS", text="Approve?", blocks=button_blocks("Approve"), metadata=metadata
    )
    dm = client.chat_postMessage(channel=ALICE, text="Your request was filed")

    assert first["channel"] == "C0APPROVALS"
    assert first["message"]["metadata"] == metadata
    stored = standin.message("C0APPROVALS", first["ts"])
    assert stored is not None and stored.metadata == metadata
    assert stored.blocks[0]["block_id"] == "b0"  # IDs filled in, as Slack does
    assert dm["channel"] == standin.dm_channel(ALICE) == "D0ALICE"
    assert [m.text for m in standin.dms(ALICE)] == ["Your request was filed"]
    assert float(dm["ts"]) > float(first["ts"])
    assert [c.method for c in standin.calls] == ["chat.postMessage", "chat.postMessage"]


def test_form_encoded_arguments_are_decoded(standin: SlackStandIn, client: WebClient) -> None:
    # slack_sdk sends some methods form-encoded, with blocks and metadata as JSON strings.
    metadata = {"event_type": "community_request", "event_payload": {"status": "pending"}}
    client.api_call(
        "chat.postMessage",
        params={
            "channel": "C0APPROVALS",
            "text": "t",
            "blocks": json.dumps(button_blocks("Ok")),
            "metadata": json.dumps(metadata),
        },
    )
    message = standin.last_message("C0APPROVALS")
    assert message is not None
    assert message.metadata == metadata
    assert message.blocks[1]["elements"][0]["action_id"] == "ok"


def test_update_changes_message_in_place_and_keeps_versions(
    standin: SlackStandIn, client: WebClient
) -> None:
    posted = client.chat_postMessage(
        channel="C0APPROVALS", text="Pending", blocks=button_blocks("Approve", "Reject")
    )
    client.chat_update(channel="C0APPROVALS", ts=posted["ts"], text="Approved by bob", blocks=[])

    messages = standin.messages("C0APPROVALS")
    assert len(messages) == 1
    assert messages[0].text == "Approved by bob" and messages[0].blocks == []
    assert [v["text"] for v in messages[0].versions] == ["Pending", "Approved by bob"]
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C0APPROVALS", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_limits_and_unknown_channels_fail_like_slack(client: WebClient) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as blocks:
        client.chat_postMessage(channel="C0APPROVALS", text="t", blocks=too_long)
    with pytest.raises(SlackApiError) as channel:
        client.chat_postMessage(channel="D0NOBODY", text="t")
    with pytest.raises(SlackApiError) as empty:
        client.api_call("chat.postMessage", json={"channel": "C0APPROVALS", "text": ""})
    assert blocks.value.response["error"] == "invalid_blocks"
    assert channel.value.response["error"] == "channel_not_found"
    assert empty.value.response["error"] == "no_text"


def test_ephemeral_and_permalink(standin: SlackStandIn, client: WebClient) -> None:
    client.chat_postEphemeral(channel="C0GENERAL", user=ALICE, text="Only you: €250.00")
    posted = client.chat_postMessage(channel="C0GENERAL", text="hi")
    link = client.chat_getPermalink(channel="C0GENERAL", message_ts=posted["ts"])

    assert [(e["text"], e["channel"]) for e in standin.ephemerals(ALICE)] == [
        ("Only you: €250.00", "C0GENERAL")
    ]
    assert standin.ephemerals(BOB) == []
    assert link["permalink"].endswith(f"/archives/C0GENERAL/p{posted['ts'].replace('.', '')}")
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postEphemeral(channel="C0GENERAL", user="U0NOBODY", text="x")
    assert unknown.value.response["error"] == "user_not_found"


def modal(title: str = "Add employee") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "add",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "email_block",
                "label": {"type": "plain_text", "text": "E-mail"},
                "element": {"type": "email_text_input", "action_id": "email"},
            }
        ],
    }


def test_views_open_needs_a_trigger_the_driver_issued(
    standin: SlackStandIn, client: WebClient
) -> None:
    trigger = standin.issue_trigger(ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal())

    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["state"] == {"values": {}}
    assert standin.open_view(ALICE)["id"] == opened["view"]["id"]  # type: ignore[index]
    assert standin.open_view(BOB) is None
    for bad, error in ((trigger, "trigger_exchanged"), ("123.456.forged", "invalid_trigger_id")):
        with pytest.raises(SlackApiError) as refused:
            client.views_open(trigger_id=bad, view=modal())
        assert refused.value.response["error"] == error


def test_views_update_checks_hash_and_publish_sets_home(
    standin: SlackStandIn, client: WebClient
) -> None:
    opened = client.views_open(trigger_id=standin.issue_trigger(ALICE), view=modal())["view"]
    with pytest.raises(SlackApiError) as conflict:
        client.views_update(view_id=opened["id"], hash="stale", view=modal("Changed"))
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Done"))
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your requests"}}],
    }
    first = client.views_publish(user_id=ALICE, view=home)["view"]
    again = client.views_publish(user_id=ALICE, view=home)["view"]

    assert conflict.value.response["error"] == "hash_conflict"
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert standin.open_view(ALICE)["title"]["text"] == "Done"  # type: ignore[index]
    assert first["id"] == again["id"] == standin.home(ALICE)["id"]  # type: ignore[index]
    assert standin.home(BOB) is None


def test_conversations_and_users(standin: SlackStandIn, client: WebClient) -> None:
    opened = client.conversations_open(users=BOB)
    info = client.users_info(user=ALICE)["user"]
    by_email = client.users_lookupByEmail(email="bob@EXAMPLE.com")["user"]

    assert opened["channel"]["id"] == standin.dm_channel(BOB)
    assert info["profile"]["email"] == "alice@example.com"
    assert info["profile"]["real_name"] == info["real_name"] == "Alice Hr"
    assert info["tz"] and info["name"] == "alice"
    assert by_email["id"] == BOB
    for call, error in (
        (lambda: client.users_info(user="U0NOBODY"), "user_not_found"),
        (lambda: client.users_lookupByEmail(email="nobody@example.com"), "users_not_found"),
    ):
        with pytest.raises(SlackApiError) as refused:
            call()
        assert refused.value.response["error"] == error


def test_usergroup_membership_changes_at_runtime(standin: SlackStandIn, client: WebClient) -> None:
    before = client.usergroups_users_list(usergroup="S0MANAGERS")["users"]
    standin.directory.set_usergroup("S0MANAGERS", [ALICE, BOB])
    after = client.usergroups_users_list(usergroup="S0MANAGERS")["users"]
    standin.reset()

    assert before == [BOB]
    assert after == [ALICE, BOB]
    assert client.usergroups_users_list(usergroup="S0MANAGERS")["users"] == [BOB]


def test_files_upload_v2_end_to_end(standin: SlackStandIn, client: WebClient) -> None:
    dm = client.conversations_open(users=ALICE)["channel"]["id"]
    uploaded = client.files_upload_v2(
        channel=dm,
        content="when,who\n2024-01-01,bob\n",
        filename="audit.csv",
        title="Audit trail",
        initial_comment="Here is the audit trail",
    )

    [shared] = standin.files(ALICE)
    assert uploaded["file"]["id"] == shared.id
    assert (shared.filename, shared.title) == ("audit.csv", "Audit trail")
    assert shared.content == b"when,who\n2024-01-01,bob\n"
    assert shared.initial_comment == "Here is the audit trail" and shared.channels == [dm]
    assert standin.dms(ALICE)[-1].files == [shared.id]
    download = httpx.get(shared.url_private, headers={"Authorization": f"Bearer {TOKEN}"})
    assert download.content == shared.content
    assert httpx.get(shared.url_private).status_code == 302  # private without the token


def test_fail_next_ratelimited_answers_429(standin: SlackStandIn) -> None:
    no_retries = WebClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[])
    standin.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    standin.fail_next("users.info", "fatal_error")

    with pytest.raises(SlackApiError) as limited:
        no_retries.chat_postMessage(channel="C0GENERAL", text="hi")
    with pytest.raises(SlackApiError) as fatal:
        no_retries.users_info(user=ALICE)

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert (
        fatal.value.response.status_code == 200 and fatal.value.response["error"] == "fatal_error"
    )
    assert no_retries.chat_postMessage(channel="C0GENERAL", text="hi")["ok"]  # only once
    assert [(c.method, c.ok) for c in standin.calls_to("chat.postMessage")] == [
        ("chat.postMessage", False),
        ("chat.postMessage", True),
    ]


def test_wrong_token_and_unknown_method(standin: SlackStandIn) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=standin.api_url)
    with pytest.raises(SlackApiError) as auth:
        wrong.chat_postMessage(channel="C0GENERAL", text="hi")
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token=TOKEN, base_url=standin.api_url).api_call("chat.frobnicate")

    assert auth.value.response["error"] == "invalid_auth"
    assert unknown.value.response["error"] == "unknown_method"
    assert standin.messages("C0GENERAL") == []


def test_response_url_replies(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(
        channel="C0APPROVALS", text="Pending", blocks=button_blocks("Approve")
    )
    on_message = standin.response_urls.issue(BOB, "C0APPROVALS", message_ts=posted["ts"])
    on_command = standin.response_urls.issue(ALICE, "C0GENERAL")

    httpx.post(on_message, json={"text": "Approved", "replace_original": True})
    httpx.post(on_command, json={"text": "Working on it"})
    httpx.post(on_command, json={"text": "Done", "replace_original": True})
    httpx.post(on_command, json={"text": "Everyone: done", "response_type": "in_channel"})

    assert [m.text for m in standin.messages("C0APPROVALS")] == ["Approved"]
    assert standin.messages("C0APPROVALS")[0].blocks == []  # replaced, buttons gone
    assert [e["text"] for e in standin.ephemerals(ALICE)] == ["Done"]
    assert standin.last_message("C0GENERAL").text == "Everyone: done"  # type: ignore[union-attr]
    assert [r["user"] for r in standin.responses] == [BOB, ALICE, ALICE, ALICE]


def test_wait_for_wakes_on_change_and_times_out_helpfully(
    standin: SlackStandIn, client: WebClient
) -> None:
    poster = threading.Timer(0.1, lambda: client.chat_postMessage(channel="C0X", text="later"))
    poster.start()
    found = standin.wait_for(lambda: standin.last_message("C0X"), timeout=5)
    poster.join()

    assert found.text == "later"
    with pytest.raises(TimeoutError, match=r"modal for alice.*chat.postMessage"):
        standin.wait_for(
            lambda: standin.open_view(ALICE), timeout=0.2, description="modal for alice"
        )


# ---------------------------------------------------------------------------------------------
# The driver, against a real Bolt app over HTTP


def community_modal(email: str = "") -> dict[str, Any]:
    email_element: dict[str, Any] = {"type": "email_text_input", "action_id": "email"}
    if email:
        email_element["initial_value"] = email
    options = [
        {"text": {"type": "plain_text", "text": name}, "value": value}
        for name, value in (("Acme employees", "acme-employees"), ("Beta", "beta"))
    ]
    return {
        "type": "modal",
        "callback_id": "add",
        "title": {"type": "plain_text", "text": "Add employee"},
        "submit": {"type": "plain_text", "text": "Request"},
        "blocks": [
            {
                "type": "input",
                "block_id": "community_block",
                "label": {"type": "plain_text", "text": "Community"},
                "element": {"type": "static_select", "action_id": "community", "options": options},
            },
            {
                "type": "input",
                "block_id": "email_block",
                "label": {"type": "plain_text", "text": "E-mail"},
                "element": email_element,
            },
            {
                "type": "input",
                "block_id": "note_block",
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note"},
            },
        ],
    }


def import_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "import",
        "title": {"type": "plain_text", "text": "Import"},
        "submit": {"type": "plain_text", "text": "Check"},
        "blocks": [
            {
                "type": "input",
                "block_id": "file_block",
                "label": {"type": "plain_text", "text": "CSV file"},
                "element": {"type": "file_input", "action_id": "csv", "filetypes": ["csv"]},
            }
        ],
    }


def build_bot(api_url: str, submissions: list[dict[str, Any]]) -> App:
    app = App(token=TOKEN, signing_secret=SECRET, client=WebClient(base_url=api_url, token=TOKEN))

    @app.command("/community")
    def community(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = body.get("text", "")
        if text == "hello":
            ack("Hi there, only you can see this")
            return
        ack()
        if text == "later":
            respond("Done, a bit later")
            return
        if text == "pending":
            respond(text="1 request waits", blocks=button_blocks("Approve"))
            return
        if text == "import":
            client.views_open(trigger_id=body["trigger_id"], view=import_modal())
            return
        client.views_open(trigger_id=body["trigger_id"], view=community_modal(text))

    @app.view("add")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        submissions.append(values)
        email = values["email_block"]["email"]["value"] or ""
        if not email.endswith("@example.com"):
            ack(response_action="errors", errors={"email_block": "Use a company e-mail."})
            return
        ack()

    @app.action("approve", matchers=[lambda body: not body["container"].get("is_ephemeral")])
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        container = body["container"]
        request_id = body["message"]["metadata"]["event_payload"]["request_id"]
        client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{request_id} approved by <@{body['user']['id']}>",
            blocks=[],
        )

    @app.action("approve", matchers=[lambda body: body["container"].get("is_ephemeral")])
    def approve_ephemeral(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text="Approved req-1", replace_original=True)

    @app.view("import")
    def imported(ack: Ack, view: dict[str, Any]) -> None:
        [upload] = view["state"]["values"]["file_block"]["csv"]["files"]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        rows = httpx.get(upload["url_private_download"], headers=auth).text.splitlines()[1:]
        ack(
            response_action="update",
            view={
                "type": "modal",
                "callback_id": "imported",
                "title": {"type": "plain_text", "text": "Import"},
                "blocks": [
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": f"{len(rows)} rows in {upload['name']}"},
                    }
                ],
            },
        )

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        publish_home(client, event["user"], "Welcome")

    @app.action("refresh")
    def refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        publish_home(client, body["user"]["id"], f"Refreshed from {body['container']['type']}")

    return app


def publish_home(client: WebClient, user_id: str, greeting: str) -> None:
    refresh = {
        "type": "button",
        "action_id": "refresh",
        "text": {"type": "plain_text", "text": "Refresh"},
    }
    client.views_publish(
        user_id=user_id,
        view={
            "type": "home",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": greeting}},
                {"type": "actions", "elements": [refresh]},
            ],
        },
    )


@pytest.fixture
def submissions() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def driver(standin: SlackStandIn, submissions: list[dict[str, Any]]) -> Iterator[SlackDriver]:
    app = build_bot(standin.api_url, submissions)
    with HttpServer(SlackRequestHandler(app)) as server:
        bot_url = f"{server.url}/slack/events"
        with SlackDriver(standin, bot_url=bot_url, signing_secret=SECRET) as slack:
            yield slack


def test_signed_command_is_acked_and_opens_the_modal(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    result = driver.command(ALICE, "jane@example.com", channel_id="C0GENERAL")

    assert result.status_code == 200 and result.elapsed < 3
    view = standin.wait_for(lambda: standin.open_view(ALICE), description="add modal")
    assert view["callback_id"] == "add"
    assert driver.last_view(ALICE) == view
    [opened] = standin.calls_to("views.open")
    assert opened.args["trigger_id"] == result.trigger_id


def test_submission_errors_keep_the_modal_and_a_good_one_closes_it(
    standin: SlackStandIn, driver: SlackDriver, submissions: list[dict[str, Any]]
) -> None:
    driver.command(ALICE, "add")
    view = standin.wait_for(lambda: standin.open_view(ALICE))

    bad = driver.fill_and_submit(
        ALICE, view["id"], {"email": "jane@gmail.com", "community": "Acme employees"}
    )
    assert bad.errors == {"email_block": "Use a company e-mail."}
    assert driver.last_view(ALICE)["id"] == view["id"]  # type: ignore[index]

    good = driver.fill_and_submit(
        ALICE, view["id"], {"email": "jane@example.com", "community_block": "beta"}
    )
    assert good.status_code == 200 and good.errors is None
    assert driver.last_view(ALICE) is None and good.view is None
    assert submissions[0]["community_block"]["community"] == {
        "type": "static_select",
        "selected_option": {
            "text": {"type": "plain_text", "text": "Acme employees"},
            "value": "acme-employees",
        },
    }
    assert submissions[1]["email_block"]["email"] == {
        "type": "email_text_input",
        "value": "jane@example.com",
    }
    assert submissions[1]["note_block"]["note"] == {"type": "plain_text_input", "value": None}


def test_prefilled_input_is_submitted_and_client_checks_refuse_empty_required(
    standin: SlackStandIn, driver: SlackDriver, submissions: list[dict[str, Any]]
) -> None:
    driver.command(ALICE, "jane@example.com")
    view = standin.wait_for(lambda: standin.open_view(ALICE))

    refused = driver.fill_and_submit(ALICE, view["id"], {}, client_checks=True)
    assert not refused.sent and refused.errors == {
        "community_block": "Please complete this required field."
    }
    assert submissions == []  # the Slack client never sent it
    driver.fill_and_submit(ALICE, view["id"], {"community": "beta"})
    assert submissions[0]["email_block"]["email"]["value"] == "jane@example.com"


def test_click_on_a_posted_button_updates_the_message(
    standin: SlackStandIn, client: WebClient, driver: SlackDriver
) -> None:
    metadata = {"event_type": "community_request", "event_payload": {"request_id": "req-7"}}
    posted = client.chat_postMessage(
        channel="C0APPROVALS",
        text="Approve req-7?",
        blocks=button_blocks("Approve", "Reject"),
        metadata=metadata,
    )

    result = driver.click(BOB, "Approve", channel="C0APPROVALS", ts=posted["ts"])

    assert result.status_code == 200
    updated = standin.wait_for(
        lambda: (m := standin.message("C0APPROVALS", posted["ts"])) and len(m.versions) == 2 and m
    )
    assert updated.text == "req-7 approved by <@U0BOB>"
    with pytest.raises(LookupError, match="no button 'Approve'"):
        driver.click(BOB, "Approve", channel="C0APPROVALS", ts=posted["ts"])  # buttons gone


def test_command_ack_and_response_url_replies_are_ephemeral(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    driver.command(ALICE, "hello", channel_id="C0GENERAL")
    driver.command(ALICE, "later", channel_id="C0GENERAL")

    standin.wait_for(lambda: len(standin.ephemerals(ALICE)) == 2)
    assert [(e["text"], e["channel"]) for e in standin.ephemerals(ALICE)] == [
        ("Hi there, only you can see this", "C0GENERAL"),
        ("Done, a bit later", "C0GENERAL"),
    ]
    assert standin.messages("C0GENERAL") == []


def test_click_in_an_ephemeral_reply_replaces_it(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    driver.command(BOB, "pending", channel_id="C0GENERAL")
    standin.wait_for(lambda: standin.ephemerals(BOB))

    assert driver.click_ephemeral(BOB, "Approve").status_code == 200
    standin.wait_for(lambda: standin.ephemerals(BOB)[0]["text"] == "Approved req-1")
    assert standin.ephemerals(BOB)[0]["blocks"] == [] and len(standin.ephemerals(BOB)) == 1


def test_file_input_upload_is_served_to_the_bot_and_update_replaces_the_modal(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    driver.command(ALICE, "import")
    view = standin.wait_for(lambda: standin.open_view(ALICE))
    csv = b"first,last,email\nJane,Doe,jane@example.com\nJohn,Roe,john@example.com\n"

    result = driver.fill_and_submit(ALICE, view["id"], {"csv": ("staff.csv", csv)})

    assert result.view is not None and result.view["id"] == view["id"]
    assert result.view["callback_id"] == "imported"
    assert result.view["blocks"][0]["text"]["text"] == "2 rows in staff.csv"


def test_app_home_opened_and_click_in_home(standin: SlackStandIn, driver: SlackDriver) -> None:
    assert driver.open_home(ALICE).status_code == 200
    home = standin.wait_for(lambda: standin.home(ALICE))
    assert home["blocks"][0]["text"]["text"] == "Welcome"

    driver.click_in_view(ALICE, "Refresh", view_id=home["id"])
    refreshed = standin.wait_for(
        lambda: (h := standin.home(ALICE)) and h["hash"] != home["hash"] and h
    )
    assert refreshed["blocks"][0]["text"]["text"] == "Refreshed from view"


def test_forged_signature_is_refused_and_nothing_happens(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    calls_before = len(standin.calls)
    body = urlencode(
        {
            "command": "/community",
            "text": "add",
            "user_id": ALICE,
            "trigger_id": standin.issue_trigger(ALICE),
        }
    ).encode()

    result = driver.send(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    time.sleep(0.3)  # give a (wrongly) accepted request time to reach the stand-in

    assert result.status_code == 401
    assert len(standin.calls) == calls_before
    assert standin.open_view(ALICE) is None


def test_old_timestamp_is_refused_even_when_correctly_signed(
    standin: SlackStandIn, driver: SlackDriver
) -> None:
    body = urlencode(
        {
            "command": "/community",
            "text": "add",
            "user_id": ALICE,
            "trigger_id": standin.issue_trigger(ALICE),
        }
    ).encode()
    ten_minutes_ago = int(time.time()) - 600

    result = driver.send(body, "application/x-www-form-urlencoded", timestamp=ten_minutes_ago)

    assert result.status_code == 401
    assert standin.calls_to("views.open") == []
