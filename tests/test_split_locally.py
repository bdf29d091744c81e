"""Trying the split processes without a real Slack: `python -m bot slack-standin` starts
`python -m bot web` and `python -m bot worker` as processes of their own against a local
Slack stand-in, and a SLACK_API_URL pointing at something that is not Slack says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.sandbox import SandboxServer
from tests.test_console import ROOT


def _bot(tmp_path: Path, slack_api_url: str) -> subprocess.CompletedProcess[str]:
    from bot.storage.redis_server import free_port

    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": slack_api_url,
        "APPROVALS_CHANNEL": "C0APPROVALS",
        "PORT": str(free_port()),  # never bound: the check comes first
        "DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_slack_api_url_that_answers_json_but_not_slacks_says_so(tmp_path: Path) -> None:
    with SandboxServer() as other:  # an HTTP server answering JSON problems, not Slack
        run = _bot(tmp_path, other.base_url + "/")
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()[-1:]
    assert line.startswith(
        f"Community Bot could not start: SLACK_API_URL ({other.base_url}/) does not answer "
        "like Slack's Web API (auth.test got HTTP 404, not Slack's JSON)"
    ), run.stderr


def test_a_slack_api_url_that_answers_html_says_so(tmp_path: Path) -> None:
    from bot.storage.redis_server import free_port

    port = free_port()
    page = subprocess.Popen(  # answers POST with an HTML error page
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        run = _bot(tmp_path, f"http://127.0.0.1:{port}/api/")
    finally:
        page.terminate()
        page.wait(10)
    assert run.returncode == 1
    assert "does not answer like Slack's Web API (auth.test got HTTP 501" in run.stderr
    assert "no error code" not in run.stderr


def _wait_for_port(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_slack_standin_runs_the_readme_story_on_web_and_worker_processes(tmp_path: Path) -> None:
    from tests.test_console import console_env
    from tests.test_docs import transcript_in

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "slack-standin",
            "--script",
            str(ROOT / "examples" / "quick.console"),
        ],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (split,) = [line for line in done.stdout.splitlines() if line.startswith("Split processes")]
    pids = [int(pid) for pid in re.findall(r"PID (\d+)", split)]
    assert len(pids) == 2 and "`python -m bot web`" in split and "`python -m bot worker`" in split
    # The same story as the one-process console, carried out by the two processes: the
    # sandbox is reached as acceptance is, so the badge says so.
    story = done.stdout[done.stdout.index("\n# ") + 1 :]
    expected = transcript_in("README.md", "transcript")
    expected = expected[expected.index("\n# ") + 1 :].replace("🧪 SANDBOX", "🧪 ACCEPTANCE")
    assert story == expected
    for pid in pids:  # stopped with the console
        assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"


def test_slack_standin_cannot_move_the_processes_clocks(tmp_path: Path) -> None:
    from tests.test_console import console_env

    script = tmp_path / "clock.console"
    script.write_text("clock +1d\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "slack-standin", "--script", str(script)],
        cwd=tmp_path,
        env=console_env(redis_url=None),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1
    assert "the clock moves only in the one-process console" in done.stdout
