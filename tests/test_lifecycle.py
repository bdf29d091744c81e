"""Every way out stops what the bot started.

Each test starts the real `python -m bot ...` process (cwd a scratch folder, so no `.env`
leaks in), records the processes it started (found through /proc by parent PID), ends it
and checks that none of them is left and that its data folder can be used again at once.
The processes of one mode start side by side, one per way of ending them, to keep the run
short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox import SandboxServer
from bot.slack_standin import SlackStandIn
from bot.storage import RedisServer
from bot.storage.redis_server import free_port
from tests.conftest import ALICE, BOB, COMMUNITY, team
from tests.flows import eventually
from tests.test_console import console_env

READY = {
    "console": "Type help for the commands.",
    "all-in-one": "HTTP mode on port",
    "web": "HTTP mode on port",
    "worker": "started (concurrency",
    "sandbox": "Stop with",
}
ARGS = {"console": ["console"], "all-in-one": [], "web": ["web"], "worker": ["worker"]}


# Processes, seen through /proc ----------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent PID) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def using(folder: Path) -> list[int]:
    """Live processes working in `folder` (redis-server changes into its --dir, and
    rewrites its command line, so the working directory is what tells)."""
    root = folder.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = (entry / "cwd").resolve(strict=True)
        except (FileNotFoundError, ProcessLookupError, PermissionError, RuntimeError):
            continue
        if cwd.is_relative_to(root) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# The bot as a process ---------------------------------------------------------------------


@dataclass
class Bot:
    popen: subprocess.Popen[bytes]
    folder: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, marker: str, timeout: float = 40) -> None:
        eventually(lambda: marker in self.output() or self.popen.poll() is not None, timeout)
        assert marker in self.output(), self.output()

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            if self.popen.stdin is not None:
                self.popen.stdin.close()

    def end(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        if self.popen.stdin is not None:
            self.popen.stdin.close()


def start_bot(args: list[str], env: dict[str, str], folder: Path) -> Bot:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "bot.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env={**console_env(redis_url=None), **env},
            cwd=folder,
            stdin=subprocess.PIPE,  # kept open: the console waits for a line
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Bot(popen, folder, log)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    standin = SlackStandIn(users=team()).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(communities=[(COMMUNITY, "Acme Employees")]).start()
    yield server
    server.stop()


def slack_env(standin: SlackStandIn) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_SIGNING_SECRET": "lifecycle-secret",
        "SLACK_API_URL": standin.api_url,
        "APPROVALS_CHANNEL": "C0APPROVALS",
        "ROLES_HR": ALICE,
        "ROLES_MANAGER": BOB,
    }


def shared_env(redis_url: str, sandbox: SandboxServer) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "COMMUNITIES_ENVIRONMENT": "acceptance",
        "COMMUNITIES_API_URL": sandbox.base_url,
        "COMMUNITIES_TOKEN_URL": sandbox.token_url,
        "COMMUNITIES_CLIENT_ID": "sandbox-client",
        "COMMUNITIES_CLIENT_SECRET": "sandbox-secret",
        "COMMUNITIES_COMPANY": "Acme",
    }


def mode_command(
    mode: str, slack: SlackStandIn, sandbox: SandboxServer, redis_url: str
) -> tuple[list[str], dict[str, str]]:
    if mode == "console":
        return ["console"], {}
    if mode == "sandbox":
        return ["sandbox", "--port", str(free_port())], {}
    env = slack_env(slack) | {"PORT": str(free_port())}
    if mode in ("web", "worker"):
        env |= shared_env(redis_url, sandbox)
    if mode == "worker":
        del env["SLACK_SIGNING_SECRET"], env["PORT"]  # a worker needs neither
    return ARGS[mode], env


EMBEDDED = {"console", "all-in-one"}  # the modes that start a redis-server of their own
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


@pytest.mark.parametrize("mode", ["console", "all-in-one", "web", "worker", "sandbox"])
def test_every_signal_stops_what_the_mode_started(
    mode: str, slack: SlackStandIn, sandbox: SandboxServer, redis_url: str, tmp_path: Path
) -> None:
    bots: dict[str, Bot] = {}
    try:
        for name in SIGNALS:
            args, env = mode_command(mode, slack, sandbox, redis_url)
            bots[name] = start_bot(args, env, tmp_path / name)
        for bot in bots.values():
            bot.wait_for(READY[mode])
        started = {name: descendants(bot.pid) for name, bot in bots.items()}
        for name, pids in started.items():
            names = [command_name(pid) for pid in pids]
            expected = ["redis-server"] if mode in EMBEDDED else []
            assert names == expected, (name, names)
        for name, bot in bots.items():
            os.kill(bot.pid, SIGNALS[name])
        codes = {name: bot.wait() for name, bot in bots.items()}
        # Ctrl-C (SIGINT) at the console's prompt is a quit by Ctrl-C: 130, as shells report.
        ctrl_c = 130 if mode == "console" else 0
        assert codes == {"SIGINT": ctrl_c, "SIGTERM": 0, "SIGKILL": -signal.SIGKILL}, {
            name: bot.output()[-2000:] for name, bot in bots.items()
        }
        left = [pid for pids in started.values() for pid in pids]
        eventually(lambda: not [pid for pid in left if alive(pid)], 10, "children gone")
        for bot in bots.values():
            assert using(bot.folder) == []
            if mode in EMBEDDED:
                # The data folder is free at once: a new redis-server on it starts and
                # replays what the ended one wrote.
                with RedisServer(bot.folder / "data" / "redis"):
                    pass
    finally:
        for bot in bots.values():
            bot.end()


def test_console_quit_end_of_input_and_hang_up_stop_everything(tmp_path: Path) -> None:
    quitting = start_bot(["console"], {}, tmp_path / "quit")
    closing = start_bot(["console"], {}, tmp_path / "eof")
    hung_up = start_bot(["console"], {}, tmp_path / "hup")  # the terminal went away
    bots = (quitting, closing, hung_up)
    try:
        for bot in bots:
            bot.wait_for(READY["console"])
        started = [pid for bot in bots for pid in descendants(bot.pid)]
        assert [command_name(pid) for pid in started] == ["redis-server"] * 3
        assert quitting.popen.stdin is not None and closing.popen.stdin is not None
        quitting.popen.stdin.write(b"quit\n")
        quitting.popen.stdin.flush()
        closing.popen.stdin.close()  # Ctrl-D
        os.kill(hung_up.pid, signal.SIGHUP)
        assert [bot.wait() for bot in bots] == [0, 0, 0]
        eventually(lambda: not [pid for pid in started if alive(pid)], 10, "redis gone")
    finally:
        for bot in bots:
            bot.end()


def test_a_second_console_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    first = start_bot(["console"], {}, tmp_path)
    try:
        first.wait_for(READY["console"])
        data = (tmp_path / "data").resolve()
        assert f"Data: {data}" in first.output()  # the banner says where the data lives
        second = subprocess.run(
            [sys.executable, "-m", "bot", "console"],
            env=console_env(redis_url=None),
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "in use" in lines[0] and str(data) in lines[0] and "DATA_DIR" in lines[0]
        assert str(first.pid) in lines[0]
        assert [command_name(pid) for pid in descendants(first.pid)] == ["redis-server"]
    finally:
        first.end()


def start_up_failure(env: dict[str, str], folder: Path) -> tuple[int, list[str]]:
    bot = start_bot([], env, folder)
    try:
        code = bot.wait(60)
    finally:
        bot.end()
    eventually(lambda: using(folder) == [], 10, "nothing left running")
    return code, bot.output().strip().splitlines()


def test_slack_unreachable_at_start_up_is_one_line_and_leaves_nothing(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    code, lines = start_up_failure(slack_env(slack) | {"SLACK_API_URL": closed}, tmp_path)
    assert code != 0
    problem = [line for line in lines if " INFO " not in line]
    assert len(problem) <= 2 and "Traceback" not in "\n".join(lines), lines
    assert "reach Slack" in problem[0] and "SLACK_API_URL" in problem[0]


def test_a_bad_slack_token_is_one_line_and_leaves_nothing(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    code, lines = start_up_failure(
        slack_env(slack) | {"SLACK_BOT_TOKEN": "xoxb-not-the-right-one"}, tmp_path
    )
    assert code != 0
    problem = [line for line in lines if " INFO " not in line]
    assert len(problem) <= 2 and "Traceback" not in "\n".join(lines), lines
    assert "invalid_auth" in problem[0] and "SLACK_BOT_TOKEN" in problem[0]
    assert "xoxb-not-the-right-one" not in "\n".join(lines)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` from the project's folder, its output as text."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
    )


STUCK_STOP = """
import os, signal, threading, time
import bot.__main__ as entry

entry.STOP_BUDGET.seconds, entry.STOP_GRACE_SECONDS = 0.5, 0.5
entry._stop_on_signals()
# A thread that never ends, as a close that waits forever would: the interpreter's exit
# waits for it.
threading.Thread(target=lambda: time.sleep(3600), name="never-ends").start()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
except KeyboardInterrupt:
    print("stopping", flush=True)
"""


def test_a_stop_that_overruns_its_budget_ends_the_process_and_says_where() -> None:
    """A SIGTERM whose stop never finishes still ends the process, soon after the stop's
    budget, with exit status 1 and every thread's stack on stderr (here: a thread that
    never ends keeps the interpreter from exiting)."""
    done = _python(STUCK_STOP)
    assert done.stdout == "stopping\n"
    assert done.returncode == 1, done.stderr
    assert "the stop ran past its 0.5 s budget; ending the process" in done.stderr
    assert "Thread 0x" in done.stderr and "in <lambda>" in done.stderr


SIGNAL_TO_ANOTHER_THREAD = """
import os, signal, threading, time
import bot.__main__ as entry

entry._stop_on_signals()
# A thread started first keeps SIGTERM open; the main thread then blocks it, so the kernel
# hands the signal to that thread, as it may whenever the main thread has one pending.
threading.Thread(target=lambda: time.sleep(60), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
try:
    entry._PartFailed().wait()
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


def test_a_signal_taken_by_another_thread_still_stops_the_wait() -> None:
    """serve()'s wait for a stop wakes for a SIGTERM that the kernel delivered to a thread
    other than the main one (Python runs the handler on the main thread only)."""
    done = _python(SIGNAL_TO_ANOTHER_THREAD)
    assert done.stdout == "stopped\n", done.stderr
