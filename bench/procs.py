"""Child processes the benchmark starts, and only those, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.local import waiting as polling

REPO_ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    """`python -m bot <args>` (or another `module`) in its own session; output goes to a
    log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        workdir: Path,
        module: str = "bot",
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        with self.log_path.open("wb") as log:
            # cwd is a scratch directory so no `.env` of the checkout leaks into the settings.
            self.popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=dict(env),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within `timeout`."""
        if not self.alive():
            return
        try:
            os.kill(self.pid, signal.SIGCONT)  # a paused process cannot handle SIGTERM
            self.popen.terminate()
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(
    ready: Callable[[], bool],
    what: str,
    proc: BotProcess | None = None,
    timeout: float = 30.0,
    interval: float = 0.05,
) -> None:
    """Poll `ready` until true; fail early (with the log) when `proc` has died."""

    def died() -> str | None:
        if proc is None or proc.alive():
            return None
        return f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}"

    polling.wait_until(ready, timeout=timeout, what=what, interval=interval, abort=died)
