"""The entry points as real OS processes: `python -m bot web`, `worker` and `sandbox`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.slack_standin import SlackDriver, SlackStandIn
from bot.storage.redis_server import free_port
from tests.conftest import ALICE, BOB, COMMUNITY, team
from tests.flows import JANE, eventually

ROOT = Path(__file__).parents[1]


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    full = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=full,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture
def processes(redis_url, tmp_path):
    standin = SlackStandIn(users=team()).start()
    sandbox = SandboxServer(communities=[(COMMUNITY, "Acme Employees")]).start()
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_SIGNING_SECRET": "process-secret",
        "SLACK_API_URL": standin.api_url,
        "APPROVALS_CHANNEL": "C0APPROVALS",
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "COMMUNITIES_ENVIRONMENT": "acceptance",
        "COMMUNITIES_API_URL": sandbox.base_url,
        "COMMUNITIES_TOKEN_URL": sandbox.token_url,
        "COMMUNITIES_CLIENT_ID": "sandbox-client",
        "COMMUNITIES_CLIENT_SECRET": "sandbox-secret",
        "COMMUNITIES_COMPANY": "Acme",
        "ROLES_HR": ALICE,
        "ROLES_MANAGER": BOB,
    }
    web = start(["web"], env, tmp_path)
    # A worker answers no Slack requests: it starts without the signing secret.
    worker = start(
        ["worker"], {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}, tmp_path
    )
    url = f"http://127.0.0.1:{port}"
    driver = SlackDriver(standin, bot_url=f"{url}/slack/events", signing_secret="process-secret")
    try:
        eventually(lambda: _healthy(url), 30, "web process healthy")
        yield standin, sandbox, driver, url, (web, worker)
    finally:
        codes = [stop(web), stop(worker)]
        driver.close()
        sandbox.stop()
        standin.stop()
    outputs = [web.stdout.read(), worker.stdout.read()]  # type: ignore[union-attr]
    assert codes == [0, 0], outputs  # SIGTERM stops both processes cleanly
    for output in outputs:
        assert "will be unused" not in output  # Bolt is not handed a token besides the client
        assert "Traceback" not in output, output


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_web_and_worker_processes_carry_out_a_request(processes):
    standin, sandbox, driver, url, _ = processes
    assert driver.command(ALICE, "add").status_code == 200
    view = standin.wait_for(lambda: standin.open_view(ALICE), 10)
    assert driver.fill_and_submit(ALICE, view["id"], JANE).errors is None
    message = standin.wait_for(lambda: standin.last_message("C0APPROVALS"), 10)
    driver.click(BOB, "Approve", channel="C0APPROVALS", ts=message.ts)
    member = eventually(lambda: sandbox.state.member(COMMUNITY, "jane@example.com"), 20)
    assert member["remaining_credit"] == Decimal("750.00")
    assert httpx.post(f"{url}/slack/events", content=b"{}").status_code == 401  # unsigned


def test_sandbox_entry_point_prints_its_urls_and_serves(tmp_path):
    port = free_port()
    sandbox = start(["sandbox", "--port", str(port)], {}, tmp_path)
    try:
        deadline, lines = time.monotonic() + 30, []
        while time.monotonic() < deadline and not any("Stop with" in x for x in lines):
            lines.append(sandbox.stdout.readline())
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/communities-api" in output
        assert "SANDBOX" in output and "sandbox-secret" in output  # defaults are printed
        token = httpx.post(
            f"http://127.0.0.1:{port}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
            },
        ).json()["access_token"]
        listed = httpx.get(
            f"http://127.0.0.1:{port}/communities-api/communities",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "Coolblue-Test"},
        )
        assert listed.json()["Communities"][0]["Id"] == "acme-employees"
    finally:
        assert stop(sandbox) == 0
