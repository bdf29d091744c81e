"""The split processes on one machine: `python -m bot web` and `python -m bot worker`, each
a process of its own as on a host, against a local Slack stand-in, one Redis and the
Communities sandbox (`python -m bot slack-standin`).

The console drives it as it drives a LocalStack: the stand-in sends signed requests to the
web process's `/slack/events`, and the console reads what the bot did from the stand-in.
Only the bot's clock cannot be moved: each process reads its own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from bot.domain.clock import Clock
from bot.local.embedded import sandbox_urls, start_sandbox
from bot.local.stack import APPROVALS_CHANNEL, STANDIN_TOKEN
from bot.runtime.bootstrap import Runtime, slack_client, start_runtime
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    Settings,
)
from bot.sandbox import SandboxServer
from bot.slack.services import Services
from bot.slack_standin import SlackDriver, SlackStandIn, StandInUser
from bot.storage.redis_server import RedisServer, free_port

START_SECONDS = 60.0  # for the web process to answer /healthz
STOP_SECONDS = 30.0  # what a host allows after SIGTERM
PROCESSES = ("web", "worker")


@dataclass
class SplitStack:
    settings: Settings
    users: list[StandInUser]
    usergroups: dict[str, list[str]]
    data_dir: Path

    standin: SlackStandIn = field(init=False)
    driver: SlackDriver = field(init=False)
    runtime: Runtime = field(init=False)
    sandbox: SandboxServer | None = field(init=False, default=None)
    redis_server: RedisServer | None = field(init=False, default=None)
    processes: dict[str, subprocess.Popen[bytes]] = field(init=False, default_factory=dict)
    web_url: str = field(init=False, default="")
    _logs: list[IO[bytes]] = field(init=False, default_factory=list)

    def start(self) -> SplitStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.redis_url is None:
            self.redis_server = RedisServer(self.data_dir / "redis")
            redis_url = self.redis_server.start()
        else:
            redis_url = self.settings.redis_url.get_secret_value()
        if self.settings.uses_sandbox:
            self.sandbox = start_sandbox(self.settings)
        self.standin = SlackStandIn(
            users=self.users, usergroups=self.usergroups, bot_token=STANDIN_TOKEN
        ).start()
        secret, port = secrets.token_hex(16), free_port()
        self.settings = self.settings.model_copy(
            update={
                "redis_url": SecretStr(redis_url),
                "slack_bot_token": SecretStr(STANDIN_TOKEN),
                "slack_signing_secret": SecretStr(secret),
                "slack_app_token": None,
                "slack_api_url": self.standin.api_url,
                "approvals_channel": self.settings.approvals_channel or APPROVALS_CHANNEL,
                "port": port,
            }
        )
        env = self._environment()
        for name in PROCESSES:
            log = (self.data_dir / f"{name}.log").open("ab")
            self._logs.append(log)
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "bot", name],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.web_url = f"http://127.0.0.1:{port}"
        self._wait_for_web()
        # This process reads what the others wrote (roles, requests) through a runtime of
        # its own on the same Redis; it runs no worker and serves nothing.
        self.runtime = start_runtime(
            self.settings,
            slack=slack_client(STANDIN_TOKEN, self.standin.api_url),
            api_urls=sandbox_urls(self.sandbox) if self.sandbox is not None else None,
        )
        self.driver = SlackDriver(
            self.standin, bot_url=f"{self.web_url}/slack/events", signing_secret=secret
        )

    def _environment(self) -> dict[str, str]:
        """What a host would set for both processes: the same Redis, API and Slack."""
        s = self.settings
        assert s.redis_url is not None and s.slack_signing_secret is not None
        env = {k: v for k, v in os.environ.items() if not _bot_variable(k)}
        env |= {
            "SLACK_BOT_TOKEN": STANDIN_TOKEN,
            "SLACK_SIGNING_SECRET": s.slack_signing_secret.get_secret_value(),
            "SLACK_API_URL": s.slack_api_url,
            "APPROVALS_CHANNEL": s.approvals_channel or APPROVALS_CHANNEL,
            "REDIS_URL": s.redis_url.get_secret_value(),
            "PORT": str(s.port),
            "LOG_LEVEL": "WARNING",
            "TIMEZONE": s.timezone,
            "ROLES_HR": ",".join(s.roles_hr),
            "ROLES_MANAGER": ",".join(s.roles_manager),
            "ROLES_SUPPORT": ",".join(s.roles_support),
            "ROLES_ADMIN": ",".join(s.roles_admin),
            "WORKER_CLAIM_IDLE_SECONDS": str(s.worker_claim_idle_seconds),
        }
        if self.sandbox is not None:
            env |= {
                "COMMUNITIES_ENVIRONMENT": "acceptance",  # the sandbox plays acceptance
                "COMMUNITIES_API_URL": self.sandbox.base_url,
                "COMMUNITIES_TOKEN_URL": self.sandbox.token_url,
                "COMMUNITIES_CLIENT_ID": s.communities_client_id or DEFAULT_SANDBOX_CLIENT_ID,
                "COMMUNITIES_CLIENT_SECRET": (
                    s.communities_client_secret.get_secret_value()
                    if s.communities_client_secret
                    else DEFAULT_SANDBOX_CLIENT_SECRET
                ),
                "COMMUNITIES_COMPANY": s.communities_company or "Acme",
            }
        else:
            assert s.communities_client_secret is not None
            env |= {
                "COMMUNITIES_ENVIRONMENT": s.communities_environment or "acceptance",
                "COMMUNITIES_API_URL": str(s.communities_api_url),
                "COMMUNITIES_TOKEN_URL": str(s.communities_token_url),
                "COMMUNITIES_CLIENT_ID": s.communities_client_id or "",
                "COMMUNITIES_CLIENT_SECRET": s.communities_client_secret.get_secret_value(),
                "COMMUNITIES_COMPANY": s.communities_company or "",
                "COMMUNITY_IDS": ",".join(s.community_ids),
            }
        return env

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"`python -m bot {name}` exited with status {process.returncode}: "
                        f"{self._log_tail(name)}"
                    )
            try:
                with urllib.request.urlopen(f"{self.web_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"`python -m bot web` did not answer within {START_SECONDS:g} s")

    def _log_tail(self, name: str) -> str:
        lines = (self.data_dir / f"{name}.log").read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(nothing logged)"

    # What the console reads ---------------------------------------------------------------

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def answering(self) -> bool:
        """Unknown from outside the web process: the console waits for a quiet moment."""
        return False

    def stop(self) -> None:
        """SIGTERM to both processes (as a host stops them), then what this process runs."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for part in ("driver", "runtime"):
            if hasattr(self, part):
                getattr(self, part).close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if hasattr(self, "standin"):
            self.standin.stop()
        if self.redis_server is not None:
            self.redis_server.stop()
        for log in self._logs:
            log.close()


_BOT_PREFIXES = ("SLACK_", "ROLES_", "COMMUNITIES_", "COMMUNITY_", "REDIS_", "APPROVALS_")


def _bot_variable(name: str) -> bool:
    return name.upper().startswith(_BOT_PREFIXES) or name.upper() in ("PORT", "HEALTH_PORT")
