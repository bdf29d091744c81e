"""Entry points.

python -m bot                 everything in one process (console when no Slack credentials)
python -m bot web             the Slack listener only (HTTP or Socket Mode)
python -m bot worker          a worker that carries out approved requests
python -m bot sandbox --port  a standalone sandbox of the Communities API
python -m bot console [--script FILE | --keep] [--socket-mode]
python -m bot slack-standin   web + worker processes against a local Slack, in the console
python -m bot policy check FILE [--no-api]   check a POLICY_FILE; print its effective policy

However the bot ends (`quit`, Ctrl-D, Ctrl-C, SIGTERM, SIGHUP, an error), what it started
is stopped, in reverse order. The exit status is 0 for a requested stop (130 for a
console left by Ctrl-C at its prompt, as shells report); a failure exits
non-zero with a line saying what is wrong and what to do. If the bot itself is killed, its
embedded redis-server follows it (see bot/storage/redis_server.py).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import redis

from bot.runtime.settings import ConfigError, Process, Settings, load_settings

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.runtime.health import Health
    from bot.runtime.import_runner import ImportRunner
    from bot.runtime.metrics import Metrics
    from bot.runtime.worker import Worker

T = TypeVar("T")

log = logging.getLogger("bot")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_CONFIG, EXIT_FAILED = 2, 1

# Read once into Settings (as SecretStr), then taken out of the environment: no library reads
# them behind our back (slack_bolt's App falls back to SLACK_BOT_TOKEN and, given our ready
# WebClient as well, warns "As you gave `client` as well, `token` will be unused"), and no
# child process (the embedded redis-server) inherits them.
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "COMMUNITIES_CLIENT_SECRET",
    "REDIS_URL",
)


class Stopped(KeyboardInterrupt):
    """A stop signal, raised in the main thread so every `finally` on the way out runs.
    A KeyboardInterrupt, so what already ends cleanly on Ctrl-C (the console's prompt) ends
    alike on SIGTERM and SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


class Failure(Exception):
    """A failure the operator can act on; the message says what is wrong and what to do."""

    def __init__(self, reason: str, *, starting: bool = True) -> None:
        super().__init__(reason)
        self.starting = starting


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _stop_on_signals()
    try:
        return _run(args)
    except KeyboardInterrupt:  # Stopped included: a requested stop
        return 0
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return EXIT_CONFIG
    except Failure as exc:
        happened = "could not start" if exc.starting else "stopped"
        _tell(f"Community Bot {happened}: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # a bug: where it happened is worth the lines
        log.critical("unexpected error", exc_info=True)
        _tell(f"Community Bot stopped by an unexpected error: {exc!r}")
        return EXIT_FAILED


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=HELP_DESCRIPTION,
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="mode", title="commands", metavar="COMMAND")
    sub.add_parser(
        "web",
        help="the Slack listener only (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN)",
        description="The Slack listener only: HTTP on PORT, or Socket Mode when "
        "SLACK_APP_TOKEN is set. Needs REDIS_URL and COMMUNITIES_API_URL, the same as "
        "its workers'.",
    )
    sub.add_parser(
        "worker",
        help="a worker that carries out approved requests",
        description="A worker that carries out approved requests. Needs REDIS_URL, "
        "COMMUNITIES_API_URL, SLACK_BOT_TOKEN and APPROVALS_CHANNEL.",
    )
    sandbox = sub.add_parser(
        "sandbox",
        help="a stand-alone sandbox of Coolblue's Communities API",
        description="A sandbox of Coolblue's Communities API, in memory, for a web and "
        "workers to share (it prints the variables that point the bot at it).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sandbox.add_argument("--port", type=int, default=8765, help="the port to serve on")
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="the address to serve on; 0.0.0.0 for every interface"
    )
    policy = sub.add_parser(
        "policy",
        help="check a POLICY_FILE (docs/policy.md)",
        description="Check a POLICY_FILE offline and against the Communities API; print "
        "the effective policy per community (docs/policy.md).",
    )
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser(
        "check", help="check FILE (exit 2 on any problem) and print the effective policy"
    )
    check.add_argument("file", help="the TOML file, as POLICY_FILE would name it")
    check.add_argument(
        "--no-api",
        action="store_true",
        help="do not ask the Communities API whether it lists each community",
    )
    console = sub.add_parser(
        "console",
        help="the local console: act as Slack users in a terminal",
        description="The whole bot on this machine (embedded Redis, the sandbox, a Slack "
        "stand-in); you act as named people and type what they would in Slack.",
    )
    console.add_argument(
        "--script", metavar="FILE", help="read the commands from FILE and print a transcript"
    )
    console.add_argument(
        "--keep",
        action="store_true",
        help="keep requests and sandbox members in DATA_DIR for the next run "
        "(default: start empty)",
    )
    console.add_argument(
        "--socket-mode",
        action="store_true",
        help="the stand-in reaches the bot over Socket Mode (default: signed HTTP)",
    )
    standin = sub.add_parser(
        "slack-standin",
        help="try the split processes: web + worker against a local Slack, in the console",
        description="Runs `python -m bot web` and `python -m bot worker` as processes of "
        "their own, as on a host, against a local Slack stand-in, one Redis and the "
        "Communities sandbox, and opens the console on them. Everything stops on quit.",
    )
    standin.add_argument(
        "--script", metavar="FILE", help="read the commands from FILE and print a transcript"
    )
    return parser.parse_args(argv)


def _run(args: argparse.Namespace) -> int:
    if args.mode == "slack-standin":
        from bot.console import run_split

        settings = load_settings(Process.CONSOLE)
        _forget_secret_variables()
        return run_split(settings, script=args.script)
    if args.mode == "policy":
        from bot.local.policy_check import run_policy_check

        _configure_logging("WARNING", "text")
        return run_policy_check(args.file, use_api=not args.no_api, out=sys.stdout, err=sys.stderr)
    if args.mode == "sandbox":
        from bot.sandbox.cli import run_standalone

        _configure_logging("INFO", _sandbox_log_format())
        try:
            run_standalone(args.host, args.port)
        except OSError as exc:
            raise Failure(
                f"cannot serve on {args.host}:{args.port} ({exc.strerror}): "
                "stop what uses that port, or pass another --port"
            ) from None
        return 0
    process = {
        "console": Process.CONSOLE,
        "web": Process.WEB,
        "worker": Process.WORKER,
    }.get(args.mode)
    settings = load_settings(process)
    _forget_secret_variables()
    if process is None:
        process = settings.default_process
    if process is Process.CONSOLE:
        from bot.console import run_console

        return run_console(
            settings,
            script=getattr(args, "script", None),
            keep=getattr(args, "keep", False),
            mode="socket" if getattr(args, "socket_mode", False) else "http",
        )
    _configure_logging(settings.log_level, settings.log_format)
    return serve(
        settings,
        web=process in (Process.ALL_IN_ONE, Process.WEB),
        worker=process in (Process.ALL_IN_ONE, Process.WORKER),
    )


def serve(settings: Settings, *, web: bool, worker: bool) -> int:
    """Start the parts, serve until a stop signal (or a part failing), stop the parts.

    Each part is put on `parts` the moment it is started, and `parts` stops them in reverse
    order however this ends: a signal raises Stopped out of the wait, a failure raises
    Failure. A new part: start it, then `parts.callback(its_stop)`."""
    from bot.local.embedded import sandbox_urls, start_sandbox
    from bot.runtime.bootstrap import start_runtime
    from bot.runtime.health import Health

    with contextlib.ExitStack() as parts:
        api_urls = None
        if settings.uses_sandbox:
            sandbox = _starting("the embedded sandbox", lambda: start_sandbox(settings))
            parts.callback(sandbox.stop)
            api_urls = sandbox_urls(sandbox)
        redis_part = "the embedded Redis" if settings.uses_embedded_redis else "Redis"
        runtime = _starting(redis_part, lambda: start_runtime(settings, api_urls=api_urls))
        parts.callback(runtime.close)
        _check_redis(runtime.redis)
        _check_slack(runtime.slack, settings)  # a bad token stops here, not at a request
        failed = _PartFailed()
        stop_first: tuple[Worker | ImportRunner, ...] = ()
        health = Health(runtime.redis)  # what /healthz reports: Redis, and what runs here
        parts.callback(health.close)
        if worker:
            job = runtime.build_worker()
            parts.callback(_stop_worker, job, failed.watch("worker", job.run))
            health.add("worker", job.health)
            # Import rows have a stream, slots and a runner of their own, beside the Worker.
            rows = runtime.build_import_runner(name=job.name)
            parts.callback(_stop_worker, rows, failed.watch("import runner", rows.run))
            health.add("import runner", rows.health)
            stop_first = (job, rows)
            if not web and settings.health_port is not None:  # a worker's /healthz, /metrics
                _serve_health(parts, None, health, runtime.metrics, settings.health_port)
        if web:
            from bot.slack.app import build_app, drain

            app = build_app(
                runtime.services,
                runtime.slack,
                settings.slack_signing_secret,
                on_ack=runtime.metrics.ack,
            )
            # After the server: acknowledged work ends, within what the stop has left.
            parts.callback(lambda: drain(app, STOP_BUDGET.left(WEB_DRAIN_SECONDS)))
            if settings.slack_app_token is not None:
                _serve_socket_mode(parts, app, health, runtime.metrics, settings)
            else:
                _serve_http(parts, app, health, runtime.metrics, settings)
        parts.callback(_stop_taking_work, *stop_first)  # runs first: callbacks unwind LIFO
        # What start-up built (Bolt, pydantic's schemas, the catalogue, the clients) lives as
        # long as the process: out of the collector's sight, a full collection takes ~2 ms
        # instead of 40-50 ms, a pause that otherwise lands in the middle of some ack.
        # Start-up's garbage is collected first, or it would be kept for good.
        gc.collect()
        gc.freeze()
        failed.wait()  # until a signal raises Stopped here, or a part fails
        raise Failure(failed.reason, starting=False)


def _starting(what: str, start: Callable[[], T]) -> T:
    """A start step; what stops it becomes a one-line Failure (the step cleans up after
    itself)."""
    from bot.storage.redis_server import DataFolderInUse

    try:
        return start()
    except DataFolderInUse as exc:
        raise Failure(str(exc)) from None
    except FileNotFoundError as exc:
        raise Failure(
            f"{what} could not start: {exc} (install redis-server, or set REDIS_URL)"
        ) from None
    except (OSError, RuntimeError) as exc:
        raise Failure(f"{what} could not start: {exc}") from None
    except redis.RedisError as exc:  # the start-up upgrade (bot.storage.migrate) met Redis
        from bot.runtime.bootstrap import redis_problem

        raise Failure(redis_problem(exc)) from None


def _check_redis(client: redis.Redis) -> None:
    from bot.runtime.bootstrap import redis_problem

    try:
        client.ping()
    except redis.RedisError as exc:
        raise Failure(redis_problem(exc)) from None


def _check_slack(client: WebClient, settings: Settings) -> None:
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        with _quiet("slack_sdk"):  # its retries and errors would say the same, in 60 lines
            client.auth_test()
    except SlackApiError as exc:
        data = exc.response.data
        if (  # an answer, but not Slack's: JSON without `ok`, or no JSON (slack_sdk says so)
            not isinstance(data, dict)
            or "ok" not in data
            or str(data.get("error", "")).startswith("Received a response in a non-JSON")
        ):
            raise Failure(
                f"SLACK_API_URL ({settings.slack_api_url}) does not answer like Slack's Web "
                f"API (auth.test got HTTP {exc.response.status_code}, not Slack's JSON): "
                "leave SLACK_API_URL unset for Slack itself, or point it at a Slack stand-in"
            ) from None
        error = exc.response.get("error", "no error code")
        if error in REFUSED_TOKEN:
            raise Failure(
                f"Slack refused SLACK_BOT_TOKEN ({error}): set it to the app's Bot User OAuth "
                "Token (xoxb-…, on the app's OAuth & Permissions page)"
            ) from None
        raise Failure(f"Slack's auth.test failed ({error}); see https://status.slack.com") from None
    except OSError as exc:  # urllib's URLError included
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise Failure(
            f"cannot reach Slack at {settings.slack_api_url} ({reason}): check the network "
            "(and any proxy), or SLACK_API_URL"
        ) from None
    except SlackClientError as exc:
        raise Failure(f"Slack's auth.test failed ({exc}); check SLACK_API_URL") from None


HELP_DESCRIPTION = """\
Community Bot: onboard and offboard employees of a Coolblue Closed Community from Slack,
with a manager's approval, and look up their remaining credit.

With no command it runs everything in one process: the Slack listener and a worker when
SLACK_BOT_TOKEN is set, otherwise the local console (no Slack, no Coolblue account and no
Redis needed)."""

HELP_EPILOG = """\
Settings come from environment variables or a .env file (docs/configuration.md).
Exit status: 0 after a requested stop (quit, Ctrl-D, SIGTERM), 130 after Ctrl-C in the
console, 1 when something failed (a line on stderr says what to do), 2 for bad settings.
`python -m bot COMMAND --help` tells more about each command."""

REFUSED_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}


def _serve_http(
    parts: contextlib.ExitStack, app: App, health: Health, metrics: Metrics, settings: Settings
) -> None:
    from bot.runtime.http_server import HttpServer
    from bot.runtime.web import MAX_BODY_BYTES, create_wsgi_app

    try:
        secret = settings.slack_signing_secret
        wsgi = create_wsgi_app(
            app,
            health.redis,
            secret.get_secret_value() if secret else None,
            health=health,
            metrics=metrics,
        )
        server = HttpServer(wsgi, host="0.0.0.0", port=settings.port, max_body=MAX_BODY_BYTES)
    except OSError as exc:
        raise Failure(
            f"cannot listen on PORT {settings.port} ({exc.strerror}): stop what uses it, "
            "or set PORT to a free port"
        ) from None
    parts.callback(lambda: server.stop(drain=STOP_BUDGET.left(WEB_DRAIN_SECONDS)))
    server.start()
    log.info("HTTP mode on port %d: POST /slack/events, GET /healthz, GET /metrics", settings.port)


def _serve_socket_mode(
    parts: contextlib.ExitStack, app: App, health: Health, metrics: Metrics, settings: Settings
) -> None:
    from slack_sdk.errors import SlackApiError

    from bot.runtime.socket_mode import start_socket_mode

    assert settings.slack_app_token is not None
    try:
        listener = start_socket_mode(app, settings.slack_app_token.get_secret_value())
    except SlackApiError as exc:
        error = exc.response.get("error", "no error code")
        raise Failure(
            f"Slack refused SLACK_APP_TOKEN ({error}): set it to an app-level token "
            "(xapp-…) with the connections:write scope"
        ) from None
    parts.callback(listener.stop)
    health.add("socket", listener.health)
    log.info("Socket Mode connected")
    if settings.health_port is not None:
        _serve_health(parts, app, health, metrics, settings.health_port)


def _serve_health(
    parts: contextlib.ExitStack, app: App | None, health: Health, metrics: Metrics, port: int
) -> None:
    """The small HTTP port of a Socket Mode listener or a worker (HEALTH_PORT): /healthz
    for the platform's health checks and /metrics for Prometheus; no Slack events."""
    from bot.runtime.http_server import HttpServer
    from bot.runtime.web import create_wsgi_app

    try:
        server = HttpServer(
            create_wsgi_app(app, health.redis, None, health=health, metrics=metrics),
            host="0.0.0.0",
            port=port,
            threads=4,
            name="health",
        )
    except OSError as exc:
        raise Failure(
            f"cannot listen on HEALTH_PORT {port} ({exc.strerror}): stop what uses it, "
            "or set HEALTH_PORT to a free port"
        ) from None
    parts.callback(server.stop)
    server.start()
    log.info("health port %d: GET /healthz, GET /metrics", port)


class _PartFailed:
    """Threads of parts that must not end on their own: the first to end wakes serve()."""

    def __init__(self) -> None:
        self._ended = threading.Event()
        self.reason = ""

    def watch(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                log.exception("the %s failed", name)  # a bug: the traceback is worth it
                self._end(f"the {name} failed ({exc!r})")
            else:
                self._end(f"the {name} ended")  # on a stop too; nobody waits by then

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _end(self, reason: str) -> None:
        if not self._ended.is_set():
            self.reason = reason
            self._ended.set()

    def wait(self) -> None:
        # In turns, not one wait without end: Python runs a signal's handler only when the
        # main thread runs, and a SIGTERM the kernel hands to another thread does not wake
        # a main thread blocked for good in a lock's wait.
        while not self._ended.wait(0.2):
            pass


# A SIGTERM leaves 30 s on Heroku-style hosts: requests in flight get up to 10 s to be
# answered, running jobs up to 20 s to finish (and be acknowledged) before Redis and the API
# client close, all within one 25 s budget (STOP_BUDGET).
# A job still running then stays unacknowledged: another worker (or this one, restarted
# under its name) takes it over, checking first.
WEB_DRAIN_SECONDS = 10.0
WORKER_STOP_SECONDS = 20.0


class _StopBudget:
    """One budget for the whole stop, which starts when the first part stops: each part
    waits at most what is left of it, so parts that are slow to stop cannot add up past
    what the platform allows after a SIGTERM."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._deadline: float | None = None

    def left(self, at_most: float) -> float:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds
        return max(0.0, min(at_most, self._deadline - time.monotonic()))


STOP_BUDGET = _StopBudget(25.0)
STOP_GRACE_SECONDS = 3.0  # past the budget, before the process is ended (_stop_overran)


def _stop_overran() -> None:
    """Last resort after a signal: a stop still going past its budget (a thread that does
    not end, a close that waits forever) ends the process, exit status 1, after writing
    every thread's stack to stderr for whoever looks into it. The embedded redis-server
    follows (PR_SET_PDEATHSIG); unacknowledged jobs are taken over by another worker."""
    import faulthandler

    _tell(
        f"the stop ran past its {STOP_BUDGET.seconds:g} s budget; ending the process. "
        "What each thread was doing:"
    )
    with contextlib.suppress(Exception):
        sys.stderr.flush()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    os._exit(1)


def _stop_worker(job: Worker | ImportRunner, thread: threading.Thread) -> None:
    job.stop(timeout=STOP_BUDGET.left(WORKER_STOP_SECONDS))
    thread.join(1.0)


def _stop_taking_work(*jobs: Worker | ImportRunner) -> None:
    """The first step of a stop: every worker stops taking work at once, so their drains
    overlap instead of following one another."""
    for job in jobs:
        job.stopping.set()


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise Stopped in the main thread (once: a second one stops
    the process at once; the embedded redis-server still follows)."""
    stopping = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            os._exit(128 + signum)
        stopping.set()
        overrun = threading.Timer(STOP_BUDGET.seconds + STOP_GRACE_SECONDS, _stop_overran)
        overrun.daemon = True
        overrun.start()
        raise Stopped(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handle)


def _forget_secret_variables() -> None:
    for name in [key for key in os.environ if key.upper() in SECRET_VARIABLES]:
        del os.environ[name]


_json_logs = False  # LOG_FORMAT=json: what goes to stderr is JSON lines only


def _configure_logging(level: str, log_format: str = "text") -> None:
    from bot.communities import install_log_filter
    from bot.runtime.logs import configure

    global _json_logs
    configure(level, log_format)
    _json_logs = log_format == "json"
    install_log_filter()  # httpx logs member URLs, and those carry e-mail addresses


def _sandbox_log_format() -> str:
    """The sandbox reads no bot settings but LOG_FORMAT (a bad one: its own start says)."""
    from pydantic import ValidationError

    try:
        return Settings().log_format
    except ValidationError:
        return "text"


def _tell(line: str) -> None:
    """The last word on stderr: a line of text, or with JSON logs a log record."""
    if _json_logs:
        log.critical("%s", line)
    else:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
