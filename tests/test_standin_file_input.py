"""The stand-in serves a file attached in a file_input the way Slack does: the
view_submission state carries `files: [{id, name, url_private, …}]`, and GET url_private
answers the bytes with the bot token only. A small real Bolt app, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.runtime.http_server import HttpServer
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser

TOKEN = "xoxb-standin"
SECRET = "standin-signing-secret"
ALICE = "U0ALICE"
CSV = b"email,first name,last name,credit\njane@example.com,Jane,Doe,750\n"


def import_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "import",
        "title": {"type": "plain_text", "text": "Import"},
        "submit": {"type": "plain_text", "text": "Import"},
        "blocks": [
            {
                "type": "input",
                "block_id": "file",
                "label": {"type": "plain_text", "text": "CSV file"},
                "element": {
                    "type": "file_input",
                    "action_id": "file",
                    "filetypes": ["csv"],
                    "max_files": 1,
                },
            }
        ],
    }


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    users = [StandInUser(id=ALICE, name="alice", real_name="Alice Hr", email="alice@acme.nl")]
    with SlackStandIn(users=users, bot_token=TOKEN) as server:
        yield server


@pytest.fixture
def received() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def driver(standin: SlackStandIn, received: list[dict[str, Any]]) -> Iterator[SlackDriver]:
    app = App(
        token=TOKEN, signing_secret=SECRET, client=WebClient(base_url=standin.api_url, token=TOKEN)
    )

    @app.command("/community")
    def command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=import_modal())

    @app.view("import")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        [attached] = view["state"]["values"]["file"]["file"]["files"]
        reply = httpx.get(attached["url_private"], headers={"Authorization": f"Bearer {TOKEN}"})
        received.append({**attached, "bytes": reply.content})
        ack()

    with (
        HttpServer(SlackRequestHandler(app)) as server,
        SlackDriver(standin, f"{server.url}/slack/events", SECRET) as slack,
    ):
        yield slack


def submit(standin: SlackStandIn, driver: SlackDriver, given: object) -> None:
    driver.command(ALICE, "import")
    view = standin.wait_for(lambda: standin.open_view(ALICE))
    result = driver.fill_and_submit(ALICE, view["id"], {"file": given})
    assert result.status_code == 200 and result.errors is None


def test_the_submission_carries_the_file_and_url_private_serves_its_bytes(
    standin: SlackStandIn, driver: SlackDriver, received: list[dict[str, Any]]
) -> None:
    submit(standin, driver, ("staff.csv", CSV))

    [attached] = received
    assert attached["name"] == "staff.csv" and attached["size"] == len(CSV)
    assert attached["mimetype"] == "text/csv" and attached["id"].startswith("F")
    assert attached["bytes"] == CSV
    assert standin.uploads.downloads(attached["id"]) == [(attached["id"], True)]
    # Private: no token, or another token, gets Slack's login redirect, not the bytes.
    for headers in ({}, {"Authorization": "Bearer xoxb-someone-else"}):
        refused = httpx.get(attached["url_private"], headers=headers)
        assert refused.status_code == 302 and refused.content == b""
    assert standin.uploads.downloads(attached["id"])[1:] == [(attached["id"], False)] * 2


def test_a_file_picked_from_disk(
    standin: SlackStandIn, driver: SlackDriver, received: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(CSV)
    submit(standin, driver, path)
    assert received[0]["name"] == "people.csv" and received[0]["bytes"] == CSV
