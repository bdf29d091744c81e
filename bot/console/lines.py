"""Reading a line from a stdin that is not a terminal (a pipe) without losing a Ctrl-C.

`input()` on a pipe writes the prompt and then blocks in read(2). A SIGINT that arrives
after the prompt is out but before that read(2) has started only marks the signal as
pending; no Python code runs until the read returns, so the KeyboardInterrupt waits for
the next line of input, which may never come (seen under load: the console stayed at its
prompt after Ctrl-C). Here the wait is a select(2) on stdin and on the signal module's
wakeup pipe: a signal arriving at any moment after the pipe is set wakes the wait, and its
handler (KeyboardInterrupt for Ctrl-C) runs as soon as Python code runs again.

On a terminal the console keeps `input()`, for readline's line editing and history.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TextIO


class PipeLines:
    """`input()` for a pipe: the prompt on `out`, then one line of `fd` (no newline);
    EOFError at the end of input. Reads only through itself (its own buffer)."""

    def __init__(self, fd: int, wakeup: int, out: TextIO) -> None:
        self.fd = fd
        self.wakeup = wakeup
        self.out = out
        self.buffer = b""
        self.ended = False

    def __call__(self, prompt: str = "") -> str:
        self.out.write(prompt)
        self.out.flush()
        while b"\n" not in self.buffer and not self.ended:
            ready, _, _ = select.select([self.fd, self.wakeup], [], [])
            if self.wakeup in ready:
                self._drain_wakeup()  # the signal's handler runs once Python code runs
            if self.fd in ready:
                chunk = os.read(self.fd, 65536)
                self.buffer += chunk
                self.ended = not chunk
        if not self.buffer:
            raise EOFError
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", errors="replace")

    def _drain_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wakeup, 512):
                pass


@contextlib.contextmanager
def line_reader() -> Iterator[Callable[[str], str]]:
    """What the console reads its lines with: `input` on a terminal (or off the main
    thread, where no signal handler runs), else PipeLines woken by every signal."""
    if sys.stdin is None or sys.stdin.isatty():
        yield input
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    try:
        try:
            previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            yield input
            return
        try:
            yield PipeLines(sys.stdin.fileno(), read_end, sys.stdout)
        finally:
            signal.set_wakeup_fd(previous)
    finally:
        os.close(read_end)
        os.close(write_end)
