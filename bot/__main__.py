"""Entry points.

python -m bot                 everything in one process (console when no Slack credentials)
python -m bot web             the Slack listener only (HTTP or Socket Mode)
python -m bot worker          a worker that carries out approved requests
python -m bot sandbox --port  a standalone sandbox of the Communities API
python -m bot console [--script FILE]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.runtime.settings import ConfigError, Settings, load_settings

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="mode")
    sub.add_parser("web", help="the Slack listener (HTTP or Socket Mode)")
    sub.add_parser("worker", help="carry out approved requests")
    sandbox = sub.add_parser("sandbox", help="serve a sandbox of the Communities API")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--host", default="127.0.0.1")
    console = sub.add_parser("console", help="act as Slack users in a terminal")
    console.add_argument("--script", help="read commands from this file; print a transcript")
    args = parser.parse_args(argv)

    if args.mode == "sandbox":
        from bot.sandbox.cli import run_standalone

        _configure_logging("INFO")
        run_standalone(args.host, args.port)
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return 2
    if args.mode == "console" or (args.mode is None and not settings.has_slack_credentials):
        from bot.console import run_console

        return run_console(settings, script=getattr(args, "script", None))
    if not settings.has_slack_credentials:
        print(
            "SLACK_BOT_TOKEN: required for `web` and `worker` "
            "(run `python -m bot` without it for the local console)",
            file=sys.stderr,
        )
        return 2
    _configure_logging(settings.log_level)
    return serve(settings, web=args.mode in (None, "web"), worker=args.mode in (None, "worker"))


def serve(settings: Settings, *, web: bool, worker: bool) -> int:
    from bot.local.embedded import sandbox_urls, start_sandbox
    from bot.runtime.bootstrap import start_runtime
    from bot.runtime.http_server import HttpServer
    from bot.runtime.web import create_wsgi_app
    from bot.slack.app import build_app

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sandbox = start_sandbox(settings) if settings.uses_sandbox else None
    running: list[object] = []
    try:
        runtime = start_runtime(settings, api_urls=sandbox_urls(sandbox) if sandbox else None)
        try:
            runtime.slack.auth_test()  # bad token: stop here with Slack's error, not later
            if worker:
                job = runtime.build_worker()
                threading.Thread(target=job.run, name="worker", daemon=True).start()
                running.append(job)
            if web:
                app = build_app(runtime.services, runtime.slack, settings.slack_signing_secret)
                if settings.slack_app_token is not None:
                    from slack_bolt.adapter.socket_mode import SocketModeHandler

                    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
                    handler.connect()  # type: ignore[no-untyped-call]
                    running.append(handler)
                    log.info("Socket Mode connected")
                else:
                    server = HttpServer(
                        create_wsgi_app(app, runtime.redis), host="0.0.0.0", port=settings.port
                    ).start()
                    running.append(server)
                    log.info(
                        "HTTP mode on port %d: POST /slack/events, GET /healthz", settings.port
                    )
            stop.wait()
            log.info("stopping")
        finally:
            for part in reversed(running):
                part.stop() if hasattr(part, "stop") else part.close()  # type: ignore[attr-defined]
            runtime.close()
    finally:
        if sandbox is not None:
            sandbox.stop()
    return 0


def _configure_logging(level: str) -> None:
    from bot.communities import install_log_filter

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_filter()  # httpx logs member URLs, and those carry e-mail addresses


if __name__ == "__main__":
    sys.exit(main())
