"""The whole bot on loopback: Slack stand-in, sandbox API, the Bolt app and workers. The
local console, the end-to-end tests and the benchmarks all run this, so they exercise
exactly the code Slack would reach.

Two modes, as in production: `mode="http"` serves the Bolt app over HTTP (waitress) and the
driver sends signed requests; `mode="socket"` connects it to the stand-in over Socket Mode
(the app token `xapp-…`, apps.connections.open answered by the stand-in) and the driver
hands the same payloads over the WebSocket. In Socket Mode `server` is the health port
(`/healthz` with the connection's state), as HEALTH_PORT serves it in production."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Literal

import redis
from pydantic import SecretStr

from bot.domain.clock import MovableClock
from bot.local.embedded import sandbox_urls, start_sandbox
from bot.runtime.bootstrap import Runtime, slack_client, start_runtime
from bot.runtime.health import Health
from bot.runtime.http_server import HttpServer
from bot.runtime.import_runner import ImportRunner
from bot.runtime.settings import Settings
from bot.runtime.socket_mode import SocketModeListener, start_socket_mode
from bot.runtime.web import MAX_BODY_BYTES, create_wsgi_app
from bot.runtime.worker import Worker
from bot.sandbox import SandboxServer
from bot.slack.app import build_app
from bot.slack.services import Services
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser

STANDIN_TOKEN = "xoxb-standin"
STANDIN_APP_TOKEN = "xapp-1-A0COMMUNITY-1-standin"
# Pings every second here (production: every 5 s), so a silent connection is noticed in ~2 s.
LOCAL_PING_INTERVAL = 1.0

Mode = Literal["http", "socket"]
APPROVALS_CHANNEL = "C0APPROVALS"


@dataclass
class LocalStack:
    settings: Settings
    users: list[StandInUser]
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    workers: int = 1
    worker_sweep_every: float = 30.0
    http_threads: int = 16
    mode: Mode = "http"
    # Business time the console (`clock +2d`) and the tests move forward.
    clock: MovableClock = field(default_factory=MovableClock)
    ping_interval: float = LOCAL_PING_INTERVAL  # Socket Mode
    socket_stock: bool = False  # Socket Mode on Bolt's stock client (to show what it lacks)
    # Given the stand-in's API URL, the URL the bot's Slack client uses instead: a proxy in
    # front of the stand-in (tests of kept-alive connections over TLS).
    slack_via: Callable[[str], str] | None = None

    standin: SlackStandIn = field(init=False)
    runtime: Runtime = field(init=False)
    sandbox: SandboxServer | None = field(init=False, default=None)
    server: HttpServer = field(init=False)
    driver: SlackDriver = field(init=False)
    worker_jobs: list[Worker] = field(init=False, default_factory=list)
    import_runners: list[ImportRunner] = field(init=False, default_factory=list)
    socket: SocketModeListener | None = field(init=False, default=None)
    health: Health = field(init=False)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)
    _post_ack: _InFlight = field(init=False)

    def start(self) -> LocalStack:
        socket_mode = self.mode == "socket"
        # Socket Mode needs no signing secret, and the bot gets none (as in production);
        # the driver's `send` still signs raw HTTP requests with this one, to be refused.
        signing_secret = secrets.token_hex(16)
        self.standin = SlackStandIn(
            users=self.users,
            usergroups=self.usergroups,
            bot_token=STANDIN_TOKEN,
            app_token=STANDIN_APP_TOKEN if socket_mode else None,
        ).start()
        self.settings = self.settings.model_copy(
            update={
                "slack_bot_token": SecretStr(STANDIN_TOKEN),
                "slack_signing_secret": None if socket_mode else SecretStr(signing_secret),
                "slack_app_token": SecretStr(STANDIN_APP_TOKEN) if socket_mode else None,
                "slack_api_url": self.standin.api_url,
                # The stand-in serves attached files itself: its URL joins files.slack.com.
                "slack_extra_file_urls": (f"{self.standin.base_url}/files/",),
                "approvals_channel": self.settings.approvals_channel or APPROVALS_CHANNEL,
            }
        )
        api_url = self.slack_via(self.standin.api_url) if self.slack_via else self.standin.api_url
        slack = slack_client(STANDIN_TOKEN, api_url)
        if self.settings.uses_sandbox:
            self.sandbox = start_sandbox(self.settings)
        self.runtime = start_runtime(
            self.settings,
            slack=slack,
            api_urls=sandbox_urls(self.sandbox) if self.sandbox is not None else None,
            clock=self.clock,
        )
        app = build_app(
            self.runtime.services,
            slack,
            self.settings.slack_signing_secret,
            on_ack=self.runtime.metrics.ack,
        )
        self._post_ack = _InFlight(app.listener_runner.listener_executor)
        health = self.health = Health(self.runtime.redis)
        if self.workers:
            health.add("worker", self._workers_health)
            health.add("import runner", self._runners_health)
        if socket_mode:
            self.socket = start_socket_mode(
                app,
                STANDIN_APP_TOKEN,
                ping_interval=self.ping_interval,
                stock=self.socket_stock,
            )
            health.add("socket", self.socket.health)
        self.server = HttpServer(
            create_wsgi_app(
                app,
                self.runtime.redis,
                None if socket_mode else signing_secret,  # Socket Mode: a health port only
                health=health,
                metrics=self.runtime.metrics,
            ),
            threads=self.http_threads,
            max_body=MAX_BODY_BYTES,
        ).start()
        self.driver = SlackDriver(
            self.standin,
            bot_url=f"{self.server.url}/slack/events",
            signing_secret=signing_secret,
            transport=self.mode,
        )
        if socket_mode:
            self.standin.socket_mode.wait_ready()  # hello sent: envelopes can flow
        for _ in range(self.workers):
            self.start_worker()
        return self

    def start_worker(self) -> Worker:
        job = self.runtime.build_worker(sweep_every=self.worker_sweep_every)
        thread = threading.Thread(target=job.run, name=f"worker-{job.name}", daemon=True)
        thread.start()
        self.worker_jobs.append(job)
        self._threads.append(thread)
        self.start_import_runner(job.name)  # beside it, as in a worker process
        return job

    def start_import_runner(self, name: str | None = None) -> ImportRunner:
        runner = self.runtime.build_import_runner(name=name, sweep_every=self.worker_sweep_every)
        thread = threading.Thread(target=runner.run, name=f"import-{runner.name}", daemon=True)
        thread.start()
        self.import_runners.append(runner)
        self._threads.append(thread)
        return runner

    def _workers_health(self) -> str:
        problems = [h for job in self.worker_jobs if (h := job.health()) != "ok"]
        return problems[0] if problems else "ok"

    def answering(self) -> bool:
        """Work the bot took on after an ack (a lazy listener) is still running: the console
        waits for it rather than for a quiet moment, which a slow API call also is."""
        return self._post_ack.count > 0 or self.services.lookups.busy

    def _runners_health(self) -> str:
        problems = [h for runner in self.import_runners if (h := runner.health()) != "ok"]
        return problems[0] if problems else "ok"

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def redis(self) -> redis.Redis:
        return self.runtime.redis

    def stop(self) -> None:
        for runner in self.import_runners:
            runner.stop()
        for job in self.worker_jobs:
            job.stop()
        for thread in self._threads:
            thread.join(10)
        if self.socket is not None:
            self.socket.stop()
        self.server.stop()
        self.health.close()
        self.driver.close()
        self.runtime.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.standin.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _InFlight:
    """Counts the jobs an executor holds (queued or running), by wrapping its submit."""

    def __init__(self, executor: Executor) -> None:
        self.count = 0
        self._lock = threading.Lock()
        submit = executor.submit

        def counted(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            with self._lock:
                self.count += 1
            try:
                future = submit(fn, *args, **kwargs)
            except BaseException:
                self._done()
                raise
            future.add_done_callback(lambda _: self._done())
            return future

        executor.submit = counted  # type: ignore[method-assign]

    def _done(self) -> None:
        with self._lock:
            self.count -= 1
