"""The whole bot on loopback: Slack stand-in, sandbox API, the Bolt app served over HTTP
by waitress, and workers. The local console, the end-to-end tests and the benchmarks all
run this, so they exercise exactly the code Slack would reach."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

import redis
from pydantic import SecretStr

from bot.local.embedded import sandbox_urls, start_sandbox
from bot.runtime.bootstrap import Runtime, slack_client, start_runtime
from bot.runtime.http_server import HttpServer
from bot.runtime.import_runner import ImportRunner
from bot.runtime.settings import Settings
from bot.runtime.web import create_wsgi_app
from bot.runtime.worker import Worker
from bot.sandbox import SandboxServer
from bot.slack.app import build_app
from bot.slack.services import Services
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser

STANDIN_TOKEN = "xoxb-standin"
APPROVALS_CHANNEL = "C0APPROVALS"


@dataclass
class LocalStack:
    settings: Settings
    users: list[StandInUser]
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    workers: int = 1
    worker_sweep_every: float = 30.0
    http_threads: int = 16

    standin: SlackStandIn = field(init=False)
    runtime: Runtime = field(init=False)
    sandbox: SandboxServer | None = field(init=False, default=None)
    server: HttpServer = field(init=False)
    driver: SlackDriver = field(init=False)
    worker_jobs: list[Worker] = field(init=False, default_factory=list)
    import_runners: list[ImportRunner] = field(init=False, default_factory=list)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)

    def start(self) -> LocalStack:
        signing_secret = secrets.token_hex(16)
        self.standin = SlackStandIn(
            users=self.users, usergroups=self.usergroups, bot_token=STANDIN_TOKEN
        ).start()
        self.settings = self.settings.model_copy(
            update={
                "slack_bot_token": SecretStr(STANDIN_TOKEN),
                "slack_signing_secret": SecretStr(signing_secret),
                "slack_app_token": None,
                "slack_api_url": self.standin.api_url,
                "approvals_channel": self.settings.approvals_channel or APPROVALS_CHANNEL,
            }
        )
        slack = slack_client(STANDIN_TOKEN, self.standin.api_url)
        if self.settings.uses_sandbox:
            self.sandbox = start_sandbox(self.settings)
        self.runtime = start_runtime(
            self.settings,
            slack=slack,
            api_urls=sandbox_urls(self.sandbox) if self.sandbox is not None else None,
        )
        app = build_app(self.runtime.services, slack, self.settings.slack_signing_secret)
        self.server = HttpServer(
            create_wsgi_app(app, self.runtime.redis), threads=self.http_threads
        ).start()
        self.driver = SlackDriver(
            self.standin, bot_url=f"{self.server.url}/slack/events", signing_secret=signing_secret
        )
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
        runner = self.runtime.build_import_runner(name=name)
        thread = threading.Thread(target=runner.run, name=f"import-{runner.name}", daemon=True)
        thread.start()
        self.import_runners.append(runner)
        self._threads.append(thread)
        return runner

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
        self.server.stop()
        self.driver.close()
        self.runtime.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.standin.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
