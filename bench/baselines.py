"""Two Bolt apps to measure ours against, each on the same waitress server as ours
(bot.runtime.http_server.HttpServer, 16 threads) and served by `python -m bench.baselines`:

* `floor`: Bolt that only acks. No Redis, no signature check of ours, no listener work:
  what any Bolt app on this server costs per request; nothing can ack faster in Python.
* `naive`: a deliberately naive Bolt bot, written the way a first version is: Bolt's own
  WSGI adapter and its default listener threads, every listener calling the APIs it needs
  *before* it acks. `/community add` opens the modal (views.open), `/community credit`
  fetches a Coolblue token and looks the credit up, the modal's submission checks the user
  (users.info) and posts the approval message, Approve checks the user and updates it.

Both take the same signed requests as ours; the naive bot posts to a channel of its own
so its messages never mix with ours in the stand-in.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import threading
import uuid
from typing import Any

import httpx
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.communities import contract
from bot.communities.auth import request_headers
from bot.runtime.http_server import HttpServer

NAIVE_CHANNEL = "C0NAIVE"
ANY = re.compile(".*")


def floor_app(signing_secret: str, slack_url: str, slack_token: str) -> App:
    """Bolt's one auth.test (at the first request, then cached) goes to the stand-in."""
    app = App(
        signing_secret=signing_secret,
        client=WebClient(token=slack_token, base_url=slack_url),
        token_verification_enabled=False,
        process_before_response=True,
    )

    def only_ack(ack: Ack) -> None:
        ack()

    app.command(ANY)(only_ack)
    app.action(ANY)(only_ack)
    app.view(ANY)(only_ack)
    return app


class _Sandbox:
    """The naive bot's Coolblue calls: a new token for every look-up."""

    def __init__(self, root: str, client_id: str, client_secret: str) -> None:
        self._http = httpx.Client(timeout=10)
        self._root, self._id, self._secret = root, client_id, client_secret

    def credit(self, community_id: str, email: str) -> str:
        headers = request_headers("naive-bot", str(uuid.uuid4()))
        token = self._http.post(
            f"{self._root}/oauth2/token",
            headers=headers,
            data={
                contract.TOKEN_FIELD_GRANT_TYPE: contract.TOKEN_GRANT_TYPE,
                contract.TOKEN_FIELD_CLIENT_ID: self._id,
                contract.TOKEN_FIELD_CLIENT_SECRET: self._secret,
            },
        ).json()["access_token"]
        reply = self._http.get(
            f"{self._root}/communities-api{contract.member_credit_path(community_id, email)}",
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        return "unknown" if reply.status_code != 200 else str(reply.json())


def naive_app(
    signing_secret: str, slack_url: str, slack_token: str, sandbox: _Sandbox, community: str
) -> App:
    app = App(
        signing_secret=signing_secret,
        client=WebClient(token=slack_token, base_url=slack_url),
        token_verification_enabled=False,
    )

    @app.command(ANY)
    def command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        if word == "add":
            client.views_open(
                trigger_id=command["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": "naive_add",
                    "title": {"type": "plain_text", "text": "Add"},
                    "blocks": [],
                },
            )
            ack()
        elif word == "credit":
            ack(f"Remaining credit: {sandbox.credit(community, rest.strip())}")
        else:
            ack("Try add or credit.")

    @app.view(ANY)
    def submission(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        client.users_info(user=body["user"]["id"])
        client.chat_postMessage(channel=NAIVE_CHANNEL, text="A request to approve")
        ack()

    @app.action(ANY)
    def click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        client.users_info(user=body["user"]["id"])
        posted = client.chat_postMessage(channel=NAIVE_CHANNEL, text="Approved")
        client.chat_update(channel=NAIVE_CHANNEL, ts=posted["ts"], text="Approved, done")
        ack()

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines")
    parser.add_argument("kind", choices=("floor", "naive"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-url", default="")
    parser.add_argument("--slack-token", default="")
    parser.add_argument("--sandbox", default="", help="the sandbox's root URL")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--community", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    secret = os.environ["BENCH_SIGNING_SECRET"]  # not on the command line, for ps to show
    if args.kind == "floor":
        app = floor_app(secret, args.slack_url, args.slack_token)
    else:
        sandbox = _Sandbox(args.sandbox, args.client_id, args.client_secret)
        app = naive_app(secret, args.slack_url, args.slack_token, sandbox, args.community)
    handler = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return handler(environ, start_response)

    server = HttpServer(wsgi, port=args.port, name=args.kind)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
