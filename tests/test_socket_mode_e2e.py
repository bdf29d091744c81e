"""Socket Mode end to end: the bot connected to the stand-in's Socket Mode server, the
connection broken in each way Slack's can break, and the bot answering again.

The flows themselves (commands, modals, approvals, Retry, App Home) run in both modes in
their own files (`BOTH_MODES` in tests/conftest.py); this file holds what only Socket Mode
has: the app token, tickets, `hello`, `disconnect`, a dropped socket, a silent one, and the
health port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.local.stack import STANDIN_APP_TOKEN, STANDIN_TOKEN, LocalStack
from bot.slack_standin import SlackDriver, SlackStandIn
from bot.storage.redis_server import free_port
from tests.conftest import ALICE, ERIN, MANAGERS_GROUP, stack_settings, team
from tests.flows import eventually, health_parts

FAST_PINGS = 0.5  # seconds: a silent connection is noticed within about 1.5 s


@pytest.fixture
def socket_stack(redis_url: str) -> Iterator[Callable[..., LocalStack]]:
    """Start a Socket Mode LocalStack with options (ping interval, watchdog)."""
    started: list[LocalStack] = []

    def make(**options: object) -> LocalStack:
        stack = LocalStack(
            stack_settings(redis_url),
            team(),
            {MANAGERS_GROUP: [ERIN]},
            mode="socket",
            **options,  # type: ignore[arg-type]
        ).start()
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


def help_answered(stack: LocalStack) -> bool:
    """/community help over the socket: acked, and its reply shown to alice."""
    before = len(stack.standin.ephemerals(ALICE))
    result = stack.driver.command(ALICE, "help")
    assert result.ok, (result.status_code, result.error)
    shown = stack.standin.wait_for(lambda: stack.standin.ephemerals(ALICE)[before:])
    return "Your roles: hr" in shown[-1]["text"]


def web_api(stack: LocalStack, method: str, token: str) -> dict[str, object]:
    reply = httpx.post(
        f"{stack.standin.api_url}{method}", headers={"Authorization": f"Bearer {token}"}
    )
    return dict(reply.json())


# The stand-in is Slack as far as the bot can tell -----------------------------------------


def test_apps_connections_open_takes_only_the_app_token(socket_stack):
    stack = socket_stack()
    opened = web_api(stack, "apps.connections.open", STANDIN_APP_TOKEN)
    assert opened["ok"] is True and str(opened["url"]).startswith("ws://127.0.0.1:")
    assert web_api(stack, "apps.connections.open", STANDIN_TOKEN) == {
        "ok": False,
        "error": "not_allowed_token_type",
    }
    assert web_api(stack, "apps.connections.open", "xapp-1-someone-else")["error"] == (
        "invalid_auth"
    )
    # …and the app token opens connections, nothing else.
    assert web_api(stack, "auth.test", STANDIN_APP_TOKEN)["error"] == "not_allowed_token_type"


def test_a_connection_starts_with_hello_and_a_ticket_is_good_once(socket_stack):
    stack = socket_stack()
    url = str(web_api(stack, "apps.connections.open", STANDIN_APP_TOKEN)["url"])
    with connect(url) as websocket:
        hello = websocket.recv(timeout=5)
    assert '"type": "hello"' in str(hello) and '"num_connections": 2' in str(hello)
    with pytest.raises(InvalidStatus) as refused, connect(url):
        pass
    assert refused.value.response.status_code == 401


def test_the_bot_acks_each_envelope_with_its_reply(socket_stack):
    stack = socket_stack()
    link = stack.standin.socket_mode.current()
    assert link is not None and link.number == 1
    result = stack.driver.command(ALICE, "help")
    assert result.status_code == 200
    assert "Your roles: hr" in result.json["text"]  # the reply rides on the ack
    assert "Your roles: hr" in stack.standin.ephemerals(ALICE)[-1]["text"]  # …and is shown
    assert link.acks == 1


# The connection breaks; the bot reconnects and answers ------------------------------------


def test_socket_dropped_without_a_word_the_bot_reconnects_and_answers(socket_stack):
    stack = socket_stack()
    dropped = stack.standin.socket_mode.drop()
    again = stack.standin.socket_mode.wait_ready(after=dropped.number)
    assert help_answered(stack)
    assert dropped.closed and not again.closed


@pytest.mark.parametrize("reason", ["refresh_requested", "warning", "link_disabled"])
def test_disconnect_moves_the_bot_to_a_new_connection(socket_stack, reason):
    stack = socket_stack()
    old = stack.standin.socket_mode.disconnect(reason)
    new = stack.standin.socket_mode.wait_ready(after=old.number)
    assert help_answered(stack)
    assert new.acks == 1 and old.acks == 0
    stack.standin.wait_for(lambda: old.closed, description="the bot closed the old connection")


def test_silent_connection_is_replaced(socket_stack):
    """No pong: the bot drops the connection and opens a new one (bot/runtime/socket_mode.py
    passes the ping_timeout that slack_sdk's client does not)."""
    stack = socket_stack(ping_interval=FAST_PINGS)
    silent = stack.standin.socket_mode.go_silent()
    stack.standin.socket_mode.wait_ready(after=silent.number)
    assert help_answered(stack)
    stack.standin.wait_for(lambda: silent.closed, description="the silent connection closed")


def test_stock_client_keeps_a_silent_connection(socket_stack):
    """What bot/runtime/socket_mode.py's `_Client` is for. When this fails, slack_sdk's own
    websocket-client SocketModeClient awaits pongs, and `_Client` can go (see its doc)."""
    stack = socket_stack(ping_interval=FAST_PINGS, socket_stock=True)
    silent = stack.standin.socket_mode.go_silent()
    with pytest.raises(TimeoutError):
        stack.standin.socket_mode.wait_ready(after=silent.number, timeout=10 * FAST_PINGS)
    quick = SlackDriver(stack.standin, "", "unused", timeout=1.0, transport="socket")
    unanswered = quick.command(ALICE, "help")
    quick.close()
    assert unanswered.status_code == 0 and unanswered.error == "no_ack"
    assert not silent.closed


# The health port ---------------------------------------------------------------------------


def test_health_port_reports_the_connection(socket_stack):
    stack = socket_stack()
    healthz = f"{stack.server.url}/healthz"
    reply = httpx.get(healthz)
    assert reply.status_code == 200
    assert health_parts(reply.json()) == {
        "ok": True,
        "redis": "ok",
        "worker": "ok",
        "import runner": "ok",
        "socket": "ok",
    }

    # Slack refuses new connections for a while: unhealthy until the bot is back.
    stack.standin.fail_next("apps.connections.open", "internal_error", count=4)
    dropped = stack.standin.socket_mode.drop()
    down = eventually(lambda: (r := httpx.get(healthz)).status_code == 503 and r, 10)
    assert down.json()["socket"] == "disconnected" and down.json()["ok"] is False
    stack.standin.socket_mode.wait_ready(after=dropped.number, timeout=20)
    eventually(lambda: httpx.get(healthz).status_code == 200, 10)
    assert help_answered(stack)


def test_health_port_does_not_take_slack_events(socket_stack):
    """Socket Mode has no signing secret: the health port refuses any POST /slack/events."""
    stack = socket_stack()
    forged = stack.driver.send(
        b"command=%2Fcommunity&text=help", "application/x-www-form-urlencoded"
    )
    assert forged.status_code == 401
    assert not stack.standin.ephemerals(ALICE)


def test_python_m_bot_over_socket_mode_serves_health_and_reconnects(
    redis_url: str, tmp_path: Path
) -> None:
    """The real entry point: `python -m bot` with SLACK_APP_TOKEN and HEALTH_PORT."""
    standin = SlackStandIn(users=team(), bot_token=STANDIN_TOKEN, app_token=STANDIN_APP_TOKEN)
    standin.start()
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "SLACK_BOT_TOKEN": STANDIN_TOKEN,
        "SLACK_APP_TOKEN": STANDIN_APP_TOKEN,
        "SLACK_API_URL": standin.api_url,
        "HEALTH_PORT": str(port),
        "APPROVALS_CHANNEL": "C0APPROVALS",
        "ROLES_HR": ALICE,
        "REDIS_URL": redis_url,
        "SANDBOX_COMMUNITIES": "acme-employees:Acme Employees",
    }
    # Its log goes to a file, readable whenever an assertion needs it (a stop that does not
    # end included), where a pipe could be read only once the bot had ended.
    log = tmp_path / "bot.log"
    with log.open("wb") as sink:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    driver = SlackDriver(standin, "", "unused", transport="socket")
    try:
        healthz = f"http://127.0.0.1:{port}/healthz"

        def healthy() -> httpx.Response | None:
            assert bot.poll() is None, log.read_text(errors="replace")
            try:
                reply = httpx.get(healthz, timeout=2)
            except httpx.TransportError:
                return None
            return reply if reply.status_code == 200 else None

        reply = eventually(healthy, 30, "the health port")
        assert health_parts(reply.json()) == {
            "ok": True,
            "redis": "ok",
            "worker": "ok",
            "import runner": "ok",
            "socket": "ok",
        }
        refused = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=b"x=1")
        assert refused.status_code == 401  # no Slack requests on the health port

        for _ in range(2):  # before and after a dropped socket
            before = len(standin.ephemerals(ALICE))
            link = standin.socket_mode.wait_ready()
            assert driver.command(ALICE, "help").ok
            shown = standin.wait_for(lambda seen=before: standin.ephemerals(ALICE)[seen:])
            assert "Your roles: hr" in shown[-1]["text"]
            standin.socket_mode.drop()
            standin.socket_mode.wait_ready(after=link.number)

        bot.send_signal(signal.SIGTERM)
        try:
            assert bot.wait(30) == 0, log.read_text(errors="replace")[-4000:]
        except subprocess.TimeoutExpired:
            raise AssertionError(log.read_text(errors="replace")[-4000:]) from None
        standin.wait_for(lambda: all(link.closed for link in standin.socket_mode.links))
    finally:
        driver.close()
        if bot.poll() is None:
            bot.kill()
            bot.wait(10)
        standin.stop()


def test_console_over_socket_mode_prints_the_readme_transcript(tmp_path: Path) -> None:
    """`python -m bot console --socket-mode`: the same story, the same transcript."""
    from tests.test_console import ROOT, console_env
    from tests.test_docs import transcript_in

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--socket-mode",
            "--script",
            str(ROOT / "examples" / "demo.console"),
        ],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == transcript_in("docs/console.md", "transcript")
    assert "ERROR" not in done.stderr  # a normal close of the socket is no error
