"""`python -m bot sandbox` is usable from its own output: the real process is started, and
every curl command it prints is run against it, in a shell holding the variables it prints;
then the bot itself is pointed at it with those variables."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.communities import contract as c
from bot.storage.redis_server import free_port
from tests.test_console import ROOT, console_env

SIX = (
    "COMMUNITIES_API_URL",
    "COMMUNITIES_TOKEN_URL",
    "COMMUNITIES_CLIENT_ID",
    "COMMUNITIES_CLIENT_SECRET",
    "COMMUNITIES_COMPANY",
    "COMMUNITIES_ENVIRONMENT",
)


@pytest.fixture
def printed(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """The sandbox's start-up output, read until it says how to stop it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline and not any("Stop with" in line for line in lines):
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line.rstrip("\n"))
    try:
        assert any("Stop with" in line for line in lines), "\n".join(lines)
        yield port, lines
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def _exports(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        words = line.split()
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


def _curls(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if "curl " in line]


def test_it_prints_the_paths_the_user_agent_and_the_six_variables(printed) -> None:
    port, lines = printed
    text = "\n".join(lines)
    root = f"http://127.0.0.1:{port}"
    for method, path in [
        ("POST", "/oauth2/token"),
        ("GET", "/communities-api" + c.LIST_COMMUNITIES),
        ("POST", "/communities-api" + c.MEMBERS),
        ("GET", "/communities-api" + c.MEMBER_CREDIT),
        ("DELETE", "/communities-api" + c.MEMBER),
    ]:
        assert any(line.split()[:2] == [method, root + path] for line in lines if line), path
    assert "User-Agent: Coolblue-<YourCompanyName>" in text
    exports = _exports(lines)
    assert set(exports) == set(SIX)
    # One of the two values the README documents; SANDBOX is a label, never the value.
    assert exports["COMMUNITIES_ENVIRONMENT"] == "acceptance"
    note = "# the SANDBOX stands in for Coolblue's acceptance environment:"
    assert note in [line.strip() for line in lines]
    assert exports["COMMUNITIES_API_URL"] == f"{root}/communities-api"
    assert exports["COMMUNITIES_TOKEN_URL"] == f"{root}/oauth2/token"


def test_every_printed_curl_works_against_it(printed, tmp_path: Path) -> None:
    _, lines = printed
    curls = _curls(lines)
    assert len(curls) == 5, curls  # token, list, create, credit, delete
    exports = [f"export {name}={shlex.quote(value)}" for name, value in _exports(lines).items()]
    # One shell, as a person would paste them: the printed variables, then each line in order.
    steps = [part for n, command in enumerate(curls) for part in (f"echo '=== {n}'", command)]
    script = "\n".join(["set -e", *exports, *steps, "echo '=== end'"])
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    outputs = [part.split("\n", 1)[1] for part in done.stdout.split("=== ")[1:]]
    assert outputs.pop() == ""  # after the last command
    token, listed, created, credit, deleted = outputs
    assert token == ""  # the token line only sets TOKEN
    assert json.loads(listed)[c.COMMUNITIES][0][c.COMMUNITY_ID] == "acme-employees"
    assert json.loads(created)[c.REMAINING_CREDIT] == 750.0
    assert json.loads(credit)[c.REMAINING_CREDIT] == 750.0
    assert json.loads(deleted)[c.REVOKED_CREDIT] == 750.0


def test_the_bot_pointed_at_it_with_the_printed_variables_works_as_on_acceptance(
    printed, tmp_path: Path
) -> None:
    _, lines = printed
    script = tmp_path / "communities.console"
    script.write_text("/community communities\n", encoding="utf-8")
    env = {**console_env(redis_url=None), **_exports(lines)}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The printed variables name acceptance, so the bot badges its messages as it would
    # there: nothing it does reaches real customers.
    assert "the Coolblue ACCEPTANCE Communities API" in done.stdout
    assert "Acme Employees — acme-employees" in done.stdout
    assert "🧪 ACCEPTANCE" in done.stdout
