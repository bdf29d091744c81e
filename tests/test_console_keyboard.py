"""The interactive console as a person meets it: Ctrl-C, a slow Communities API, typos,
dates and the audit file's name.

The Ctrl-C and slow-API tests run `python -m bot console` as a process, typing into its
stdin and sending SIGINT as a terminal's Ctrl-C does; the others drive a session in-process
on a stack they can inspect (tests/test_console.py style).
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.console import console_stack, run_script
from bot.console.form import KeyboardAnswers
from bot.console.mask import Masker
from bot.console.render import Names, mrkdwn
from bot.console.session import ConsoleSession
from bot.runtime.settings import Settings
from tests.test_console import console_env

# A terminal's Ctrl-C and a process driven through pipes ----------------------------------


class Console:
    """`python -m bot console` with stdin and stdout as pipes; output read on a thread."""

    def __init__(self, tmp_path: Path, redis_url: str, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console"],
            cwd=tmp_path,
            env={**console_env(redis_url), "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.seen = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read(1):
            self._chunks.put(chunk)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """Everything printed up to and including `text` (which must show within timeout)."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while text not in self.seen[start:]:
            try:
                self.seen += self._chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in:\n{self.seen}") from None
        return self.seen[start:]

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def ctrl_c(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def typing(tmp_path: Path, redis_url: str):
    started: list[Console] = []

    def start(**env: str) -> Console:
        started.append(Console(tmp_path, redis_url, **env))
        return started[-1]

    yield start
    for console in started:
        console.close()


def test_ctrl_c_in_a_modal_cancels_the_modal_and_at_the_prompt_exits_130(typing) -> None:
    console = typing()
    console.wait_for("alice> ")
    console.type("/community add jane@example.com")
    console.wait_for("Community [1]: ")
    console.ctrl_c()
    after = console.wait_for("alice> ")
    assert after.startswith("\n└ cancelled")  # a newline first: the prompt line is ended
    assert console.process.poll() is None  # the console goes on
    console.type("as bob")
    console.wait_for("bob> ")
    console.ctrl_c()
    assert console.process.wait(30) == 130  # a quit by Ctrl-C is no success


def test_quit_exits_0(typing) -> None:
    console = typing()
    console.wait_for("alice> ")
    console.type("quit")
    assert console.process.wait(30) == 0


def test_a_slow_api_shows_working_and_the_reply_still_comes(typing) -> None:
    console = typing(SANDBOX_LATENCY_MS="1500")
    console.wait_for("alice> ")
    console.type("as carol")
    console.wait_for("carol> ")
    console.type("/community credit jane@example.com")
    shown = console.wait_for("carol> ", timeout=90)
    # A second into the wait it says so, and the reply (a token and a look-up, 1.5 s each)
    # is still shown for this command, not after a later one.
    assert "working…" in shown
    assert shown.index("working…") < shown.index("┌ only visible to you")
    assert "jane@example.com" in shown.split("┌ only visible to you")[1]
    console.type("quit")
    assert console.process.wait(30) == 0


# A modal that opens after the console stopped waiting -------------------------------------


@pytest.fixture
def console(redis_url: str, tmp_path: Path):
    stack = console_stack(
        Settings(
            _env_file=None,
            redis_url=redis_url,  # type: ignore[call-arg]
            data_dir=str(tmp_path / "data"),
        )
    )
    yield stack
    stack.stop()


def test_a_modal_that_opens_late_says_so_before_it_asks(console) -> None:
    out: list[str] = []
    session = ConsoleSession(console, out.append, Masker(enabled=False), interactive=True)
    assert console.sandbox is not None
    console.sandbox.faults.latency_ms = 5500  # a token and the list: 11 s, past the 10 s wait
    asked: list[str] = []

    def read(prompt: str) -> str:
        asked.append(prompt)
        out.append(prompt)
        raise EOFError  # Ctrl-D: cancel

    session.execute("/community add jane@example.com", KeyboardAnswers(read))
    assert asked == []  # the wait ran out before the modal opened: nothing asked yet
    assert "working…" in out
    assert any("still at it" in line for line in out)
    console.sandbox.faults.latency_ms = 0
    deadline = time.monotonic() + 30
    while console.standin.open_view(session.user.id) is None:
        assert time.monotonic() < deadline, "the modal never opened"
        time.sleep(0.1)
    mark = len(out)
    session.execute("/community help", KeyboardAnswers(read))  # another command
    later = out[mark:]
    late = [n for n, line in enumerate(later) if "opened late" in line]
    assert late, later
    assert "`/community add jane@example.com`" in later[late[0]]
    first_question = later.index(asked[0])
    assert late[0] < first_question  # said before it takes any input
    assert "└ cancelled" in later


# Typos ---------------------------------------------------------------------------------


def _run(stack, script: str) -> tuple[int, str]:
    lines: list[str] = []
    code = run_script(stack, script.splitlines(), lines.append)
    return code, "\n".join(lines)


def test_a_mistyped_command_gets_did_you_mean(console) -> None:
    code, out = _run(console, "/comunity help\n")
    assert code == 1
    assert "unknown command '/comunity'; did you mean /community?" in out
    code, out = _run(console, "xyzzy\n")
    assert "unknown command 'xyzzy'; type help" in out


def test_a_mistyped_button_gets_did_you_mean(console) -> None:
    script = (
        "as alice\n/community add jane@example.com\n  first name: Jane\n  last name: Doe\n"
        "  credit: 10\nas bob\nclick Aprove\n"
    )
    code, out = _run(console, script)
    assert code == 1
    assert "no button [Aprove] on anything shown to @bob; did you mean click Approve?" in out


# Dates and the audit file ----------------------------------------------------------------


def test_date_tokens_show_in_the_bots_time_zone() -> None:
    epoch = int(datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp())
    token = f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|2026-12-31 23:00 UTC>"
    amsterdam = Names({}, {}, ZoneInfo("Europe/Amsterdam"))
    assert mrkdwn(f"runs {token}", amsterdam) == "runs 2027-01-01 00:00 CET"
    assert mrkdwn(f"runs {token}", Names({}, {})) == "runs 2026-12-31 23:00 UTC"
    # The bot's escaping token (epoch 0) still shows its text.
    assert mrkdwn("<!date^00000000^{_}|@here>", amsterdam) == "@here"
    assert Masker(enabled=True)("at 2027-01-01 00:00 CET.") == "at <time>."


def test_the_audit_files_name_uses_the_bots_clock(console) -> None:
    code, out = _run(console, "as dave\nclock +30d\n/community audit\n")
    assert code == 0, out
    (shared,) = console.standin.files("U0DAVE")
    stamp = datetime.strptime(shared.filename, "community-audit-%Y%m%d-%H%M%S.csv")
    bots_day = datetime.fromtimestamp(console.clock.now(), UTC).date()
    assert stamp.date() == bots_day
    assert bots_day != datetime.now(UTC).date()  # the clock was moved: not the wall clock
