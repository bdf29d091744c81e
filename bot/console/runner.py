"""Starting the console: the whole bot on loopback, then a terminal or a script.

Script format (`python -m bot console --script FILE`):

    # a comment; shown in the transcript as it is
    as alice
    /community add jane@example.com
      first name: Jane          <- indented lines answer the modal the line above opens,
      last name: Doe               `field: value`, the field named by its label (any case)
      credit: 750.00               or its block ID; unnamed fields keep their default or
    as bob                         stay empty. A field the bot refuses is asked again and
    click Approve                  takes the next answer given for it.

Each command is echoed after a `user> ` prompt, and what varies between runs (request IDs,
times, correlation IDs) is masked, so the same script prints the same transcript.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.console.demo import workspace_for
from bot.console.form import ConsoleError, KeyboardAnswers, ScriptAnswers
from bot.console.keep import Keeping
from bot.console.lines import line_reader
from bot.console.mask import Masker
from bot.console.session import ConsoleSession
from bot.local.split import SplitStack
from bot.local.stack import LocalStack, Mode
from bot.runtime.settings import Settings


@dataclass
class Step:
    line_no: int
    text: str
    answers: list[str] = field(default_factory=list)

    @property
    def is_comment(self) -> bool:
        return self.text.startswith("#")


def run_console(
    settings: Settings, script: str | None = None, keep: bool = False, mode: Mode = "http"
) -> int:
    """`python -m bot console [--script FILE | --keep] [--socket-mode]`; the exit status.
    What the console started is stopped however it ends (a stop signal arrives here as a
    KeyboardInterrupt). `mode` is how the stand-in reaches the bot (LocalStack's modes)."""
    _quiet_logging()
    if script is None:
        return _run_interactive_kept(settings, keep, mode)
    if keep:
        print(
            "--keep is for the interactive console; a script always starts empty.", file=sys.stderr
        )
        return 2
    try:
        lines = Path(script).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"Cannot read the script: {exc}", file=sys.stderr)
        return 2
    # A fresh data folder per run: the same script gives the same transcript.
    with (
        tempfile.TemporaryDirectory(prefix="community-bot-console-") as data_dir,
        _started(settings.model_copy(update={"data_dir": data_dir}), mode=mode) as stack,
    ):
        return run_script(stack, lines, print, data=data_line(stack.settings, temporary=True))


def run_split(settings: Settings, script: str | None = None) -> int:
    """`python -m bot slack-standin [--script FILE]`: the console on the split processes
    (`python -m bot web` and `python -m bot worker` against a local Slack stand-in), in a
    fresh temporary folder."""
    _quiet_logging()
    lines = None
    if script is not None:
        try:
            lines = Path(script).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            print(f"Cannot read the script: {exc}", file=sys.stderr)
            return 2
    workspace = workspace_for(settings)
    with tempfile.TemporaryDirectory(prefix="community-bot-split-") as data_dir:
        stack = SplitStack(
            workspace.settings, workspace.users, workspace.usergroups, Path(data_dir)
        )
        try:
            stack.start()
        except (OSError, RuntimeError) as exc:
            raise SystemExit(f"The split processes could not start: {exc}") from None
        try:
            web, worker = (stack.processes[name].pid for name in ("web", "worker"))
            split = (
                f"Split processes: `python -m bot web` (PID {web}, {stack.web_url}) and "
                f"`python -m bot worker` (PID {worker}), their logs in {data_dir}."
            )
            if lines is None:
                return run_interactive(stack, data=split)
            return run_script(stack, lines, print, data=split)
        finally:
            stack.stop()


def data_line(settings: Settings, temporary: bool = False) -> str:
    """Where the console keeps its data, for the banner."""
    if not settings.uses_embedded_redis:
        return "Data: in the Redis at REDIS_URL."
    if temporary:
        return "Data: a fresh temporary folder, removed when the script ends."
    return f"Data: {Path(settings.data_dir).resolve()} (set DATA_DIR to keep it elsewhere)."


def _run_interactive_kept(settings: Settings, keep: bool, mode: Mode) -> int:
    """An interactive run that keeps its state whole or not at all (bot/console/keep.py)."""
    kept = Keeping(settings, keep)
    with _started(settings, prepare=kept.prepare, mode=mode) as stack:
        try:
            return run_interactive(
                stack, data=kept.banner(stack), after_line=lambda: kept.save(stack)
            )
        finally:
            kept.save(stack)


@contextlib.contextmanager
def _started(
    settings: Settings, prepare: Callable[[LocalStack], None] | None = None, mode: Mode = "http"
) -> Iterator[LocalStack]:
    try:
        stack = console_stack(settings, prepare, mode)
    except (OSError, RuntimeError) as exc:  # e.g. no redis-server, a busy port
        raise SystemExit(f"The console could not start: {exc}") from None
    try:
        yield stack
    finally:
        stack.stop()


def console_stack(
    settings: Settings, prepare: Callable[[LocalStack], None] | None = None, mode: Mode = "http"
) -> LocalStack:
    """A started LocalStack with the console's workspace (the caller stops it). `prepare`
    runs once the stack is up and before its worker reads any work (clearing Redis, say)."""
    workspace = workspace_for(settings)
    # Sweeps every second, so a reminder shows right after `clock +1d` moves time.
    stack = LocalStack(
        workspace.settings,
        workspace.users,
        workspace.usergroups,
        workers=0,
        worker_sweep_every=1.0,
        mode=mode,
    )
    stack.start()
    try:
        if prepare is not None:
            prepare(stack)
        stack.start_worker()
    except BaseException:
        stack.stop()
        raise
    return stack


def parse_script(lines: list[str]) -> list[Step]:
    steps: list[Step] = []
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or (text.startswith("#") and raw[:1].isspace()):
            continue
        if raw[:1].isspace():
            if not steps or steps[-1].is_comment:
                raise ConsoleError(f"line {number}: an indented answer with no command above")
            steps[-1].answers.append(text)
        else:
            steps.append(Step(number, text))
    return steps


def run_script(
    stack: LocalStack | SplitStack,
    lines: list[str],
    write: Callable[[str], None],
    data: str | None = None,
) -> int:
    """Run script lines against a started stack, writing the transcript; the exit status.
    `data`: a banner line saying where the data lives."""
    session = ConsoleSession(stack, write, Masker(enabled=True))
    session.banner()
    if data is not None:
        write(data)
    try:
        steps = parse_script(lines)
    except ConsoleError as exc:
        write(f"! {exc}")
        return 2
    previous: Step | None = None
    for step in steps:
        if not (step.is_comment and previous is not None and previous.is_comment):
            write("")  # a blank line before each command or block of comments
        previous = step
        if step.is_comment:
            write(step.text)
            continue
        session.say(session.prompt() + step.text)
        try:
            if not session.execute(step.text, ScriptAnswers(step.answers, session.say)):
                break
        except ConsoleError as exc:
            session.say(f"! line {step.line_no}: {exc}")
            return 1
    return 0


EXIT_CTRL_C = 130  # 128 + SIGINT, as a shell reports a program Ctrl-C stopped


def run_interactive(
    stack: LocalStack | SplitStack,
    data: str | None = None,
    after_line: Callable[[], None] | None = None,
) -> int:
    """`after_line` runs after every line carried out (the console saves what it keeps).

    Ctrl-C in a modal cancels the modal, during a command stops waiting for the bot, and at
    the prompt leaves with status 130; quit, Ctrl-D and SIGTERM leave with 0."""
    styled = sys.stdout.isatty()
    session = ConsoleSession(
        stack,
        print,
        Masker(enabled=False),
        bold=(lambda text: f"\033[1m{text}\033[0m") if styled else str,
        interactive=True,
    )
    session.banner()
    if data is not None:
        print(data)
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    with _ctrl_c_is_keyboard_interrupt(), line_reader() as read:
        while True:
            try:
                line = read(session.prompt()).strip()
            except EOFError:
                print()
                return 0
            except KeyboardInterrupt as exc:
                print()
                return EXIT_CTRL_C if type(exc) is KeyboardInterrupt else 0
            if not line or line.startswith("#"):
                continue
            try:
                if not session.execute(line, KeyboardAnswers(read)):
                    return 0
            except ConsoleError as exc:
                print(f"! {exc}")
            except KeyboardInterrupt as exc:
                if type(exc) is not KeyboardInterrupt:  # SIGTERM, SIGHUP: stop
                    raise
                print("\n(stopped waiting; what the bot does next shows after your next line)")
            finally:
                if after_line is not None:
                    after_line()


@contextlib.contextmanager
def _ctrl_c_is_keyboard_interrupt() -> Iterator[None]:
    """Ctrl-C (SIGINT) raises a plain KeyboardInterrupt while the console reads, so a second
    Ctrl-C is one more keypress, not the second stop signal that ends the process at once.
    SIGTERM and SIGHUP keep the process's stop handler."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (a test driving it): nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_logging() -> None:
    """Warnings and errors only, on stderr, so the transcript on stdout stays readable."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
