"""The bot as production runs it, on 127.0.0.1: redis-server, the sandbox process, the
web process and N worker processes; the Slack stand-in lives in the benchmark process."""

from __future__ import annotations

import itertools
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis

from bench.procs import REPO_ROOT, BotProcess, wait_until
from bench.tls_proxy import TlsProxy
from bot.local import waiting
from bot.runtime.settings import DEFAULT_SANDBOX_CLIENT_ID, DEFAULT_SANDBOX_CLIENT_SECRET, Settings
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser
from bot.storage.redis_server import free_port

STANDIN_TOKEN = "xoxb-standin"
APPROVALS = "C0APPROVALS"
COMMUNITY = "acme-employees"
MANAGER = "U0BOSS"
HR_USERS = [f"U0HR{i:03d}" for i in range(100)]


@dataclass
class StackOptions:
    workers: int = 4
    token_lifetime: int = 3600
    approvals_required_add: int = 1
    worker_concurrency: int = 8
    worker_env: dict[str, str] = field(default_factory=dict)  # more settings for workers
    bot_env: dict[str, str] = field(default_factory=dict)  # more settings for web and workers
    # Slack's Web API behind a TLS front adding this many seconds per round trip
    # (bench/tls_proxy.py), as Slack is reached in production: over TLS, at a distance.
    slack_round_trip: float | None = None


class FreshConnectionDriver(SlackDriver):
    """The driver on a new TCP connection per request. Slack makes no promise to keep
    connections alive, and waitress (connection_limit 100) stops accepting once ~100 are
    open, so 100 kept-alive senders would measure that limit instead of the bot."""

    def __init__(self, standin: SlackStandIn, bot_url: str, signing_secret: str) -> None:
        super().__init__(standin, bot_url, signing_secret)
        self._http.close()
        self._http = httpx.Client(timeout=30.0, limits=httpx.Limits(max_keepalive_connections=0))


def team() -> list[StandInUser]:
    people = [
        StandInUser(
            id=uid, name=uid.lower(), real_name=f"Hr {uid[-3:]}", email=f"{uid.lower()}@acme.test"
        )
        for uid in HR_USERS
    ]
    people.append(
        StandInUser(id=MANAGER, name="boss", real_name="Bo Manager", email="boss@acme.test")
    )
    return people


def _clean_environment() -> dict[str, str]:
    """Our environment minus every bot setting, so only what we pass counts."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass
class BenchStack:
    redis_url: str
    options: StackOptions = field(default_factory=StackOptions)

    standin: SlackStandIn = field(init=False)
    sandbox: BotProcess = field(init=False)
    web: BotProcess = field(init=False)
    workers: list[BotProcess] = field(init=False, default_factory=list)
    redis: redis.Redis = field(init=False)
    admin: httpx.Client = field(init=False)
    bot_url: str = field(init=False)
    slack_api_url: str = field(init=False, default="")
    tls_proxy: TlsProxy = field(init=False)
    _tls_env: dict[str, str] = field(init=False, default_factory=dict)
    _secret: str = field(init=False, default_factory=lambda: secrets.token_hex(16))
    _drivers: list[SlackDriver] = field(init=False, default_factory=list)
    _procs: list[BotProcess] = field(init=False, default_factory=list)
    _emails: itertools.count[int] = field(init=False, default_factory=itertools.count)

    # Lifecycle -----------------------------------------------------------------------

    def start(self) -> BenchStack:
        self._workdir = tempfile.TemporaryDirectory(prefix="bench-")
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self.redis.flushall()
        self.standin = SlackStandIn(users=team(), bot_token=STANDIN_TOKEN).start()
        self.slack_api_url, self._tls_env = self.standin.api_url, {}
        if self.options.slack_round_trip is not None:
            parts = urlsplit(self.standin.api_url)
            self.tls_proxy = TlsProxy(
                (str(parts.hostname), int(parts.port or 80)),
                Path(self._workdir.name),
                delay=self.options.slack_round_trip,
            )
            self.slack_api_url = f"{self.tls_proxy.url}{parts.path}"
            self._tls_env = {"SSL_CERT_FILE": str(self.tls_proxy.cert)}
        self._start_sandbox()
        self._start_web()
        for number in range(self.options.workers):
            name = f"worker-{number}"
            env = self.bot_env(WORKER_NAME=name, **self.options.worker_env)
            self.workers.append(self._spawn(name, ["worker"], env))
        wait_until(lambda: self.consumers() >= self.options.workers, "workers", self.workers[0])
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):
            proc.stop()
        for driver in self._drivers:
            driver.close()
        if hasattr(self, "admin"):
            self.admin.close()
        if hasattr(self, "tls_proxy"):
            self.tls_proxy.stop()
        if hasattr(self, "standin"):
            self.standin.stop()
        if hasattr(self, "redis"):
            self.redis.close()
        if hasattr(self, "_workdir"):
            self._workdir.cleanup()

    def __enter__(self) -> BenchStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str], module: str = "bot"
    ) -> BotProcess:
        proc = BotProcess(name, args, env, Path(self._workdir.name), module)
        self._procs.append(proc)
        return proc

    def _start_sandbox(self) -> None:
        port = free_port()
        env = _clean_environment()
        env.update(
            SANDBOX_LATENCY_MS="0",
            SANDBOX_TOKEN_LIFETIME=str(self.options.token_lifetime),
            SANDBOX_COMMUNITIES=f"{COMMUNITY}:Acme Employees",
            LOG_LEVEL="WARNING",
        )
        self.sandbox = self._spawn(
            "sandbox", ["sandbox", "--host", "127.0.0.1", "--port", str(port)], env
        )
        self.sandbox_root = f"http://127.0.0.1:{port}"
        self.admin = httpx.Client(base_url=f"{self.sandbox_root}/_sandbox", timeout=10)
        wait_until(self._sandbox_up, "sandbox", self.sandbox)

    def _sandbox_up(self) -> bool:
        try:
            return self.admin.get("/stats").status_code == 200
        except httpx.TransportError:
            return False

    def _start_web(self) -> None:
        self.web_port = free_port()
        self.bot_url = f"http://127.0.0.1:{self.web_port}"
        self.web = self._spawn("web", ["web"], self.bot_env(PORT=str(self.web_port)))
        wait_until(self._web_up, "web /healthz", self.web)

    def _web_up(self) -> bool:
        try:
            return httpx.get(f"{self.bot_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def bot_env(self, **extra: str) -> dict[str, str]:
        env = _clean_environment()
        env.update(
            SLACK_BOT_TOKEN=STANDIN_TOKEN,
            SLACK_SIGNING_SECRET=self._secret,
            SLACK_API_URL=self.slack_api_url,
            SLACK_EXTRA_FILE_URLS=f"{self.standin.base_url}/files/",  # attached files
            APPROVALS_CHANNEL=APPROVALS,
            REDIS_URL=self.redis_url,
            COMMUNITIES_ENVIRONMENT="acceptance",
            COMMUNITIES_API_URL=f"{self.sandbox_root}/communities-api",
            COMMUNITIES_TOKEN_URL=f"{self.sandbox_root}/oauth2/token",
            COMMUNITIES_CLIENT_ID=DEFAULT_SANDBOX_CLIENT_ID,
            COMMUNITIES_CLIENT_SECRET=DEFAULT_SANDBOX_CLIENT_SECRET,
            COMMUNITIES_COMPANY="AcmeBench",
            ROLES_HR=",".join(HR_USERS),
            ROLES_MANAGER=MANAGER,
            APPROVALS_REQUIRED_ADD=str(self.options.approvals_required_add),
            WORKER_CONCURRENCY=str(self.options.worker_concurrency),
            LOG_LEVEL="INFO",
        )
        env.update(self.options.bot_env)
        env.update(self._tls_env)
        env.update(extra)
        return env

    def consumers(self) -> int:
        """Connections whose last command was XREADGROUP: workers waiting for work.
        (Redis 6 lists a consumer only once something was delivered to it.)"""
        return sum(1 for client in self.redis.client_list() if client.get("cmd") == "xreadgroup")

    @property
    def signing_secret(self) -> str:
        return self._secret

    def spawn(
        self, name: str, args: list[str], env: dict[str, str], module: str = "bot"
    ) -> BotProcess:
        """Another process of the run, stopped with the stack."""
        return self._spawn(name, args, env, module)

    # Slack side ----------------------------------------------------------------------

    def drivers(self, count: int) -> list[SlackDriver]:
        """One driver (one HTTP connection) per concurrent sender."""
        while len(self._drivers) < count:
            self._drivers.append(
                FreshConnectionDriver(self.standin, f"{self.bot_url}/slack/events", self._secret)
            )
        return self._drivers[:count]

    def new_email(self) -> str:
        return f"bench{next(self._emails):06d}@example.com"

    def file_add(self, driver: SlackDriver, user_id: str, email: str) -> None:
        """/community add, wait for the modal, fill it in and submit: a request is filed."""
        result = driver.command(user_id, f"add {email}")
        if result.status_code != 200:
            raise RuntimeError(f"/community add answered {result.status_code}: {result.body}")
        view = self.standin.wait_for(
            lambda: self.standin.open_view(user_id),
            timeout=15,
            description=f"add modal for {user_id}",
        )
        submitted = driver.fill_and_submit(
            user_id,
            view["id"],
            {"first_name": "Bench", "last_name": "Member", "email": email, "credit": "10.00"},
        )
        if submitted.errors or submitted.status_code != 200:
            raise RuntimeError(f"submission refused: {submitted.errors or submitted.body}")

    def pending_approvals(self) -> list[tuple[str, str]]:
        """(ts, request id) of approval messages that still offer Approve."""
        found = []
        for message in self.standin.messages(APPROVALS):
            payload = (message.metadata or {}).get("event_payload") or {}
            if payload.get("status") == "pending" and message.thread_ts in (None, message.ts):
                found.append((message.ts, str(payload["request_id"])))
        return found

    def approve(self, driver: SlackDriver, ts: str) -> None:
        result = driver.click(MANAGER, "Approve", channel=APPROVALS, ts=ts)
        if result.status_code != 200:
            raise RuntimeError(f"Approve answered {result.status_code}: {result.body}")

    # Sandbox side --------------------------------------------------------------------

    def set_latency(self, ms: int) -> None:
        self.admin.post("/faults", json={"latency_ms": ms}).raise_for_status()

    def sandbox_stats(self) -> dict[str, Any]:
        reply = self.admin.get("/stats")
        reply.raise_for_status()
        return dict(reply.json())

    def member_count(self) -> int:
        return int(self.sandbox_stats()["members"])


def poll(check: Callable[[], Any], timeout: float, interval: float, what: str) -> Any:
    """Call `check` every `interval` s until it returns something truthy."""
    return waiting.wait_until(check, timeout=timeout, what=what, interval=interval)
