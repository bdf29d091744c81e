"""Configuration: every setting the bot reads, typed and validated once at start-up.

Values come from the environment and a `.env` file. A bad or missing setting stops
start-up with one line per problem naming the variable (`ConfigError`), every problem in
one pass; secrets are `SecretStr`, so they never show in a repr, a log line or a traceback.
Each process (`Process`) asks only for what it needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.storage.connection import parse_sentinels

SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

CommaList = Annotated[tuple[str, ...], NoDecode]

DEFAULT_SANDBOX_CLIENT_ID = "sandbox-client"
DEFAULT_SANDBOX_CLIENT_SECRET = "sandbox-secret"
DEFAULT_SANDBOX_COMMUNITIES = "acme-employees:Acme Employees"


class Process(StrEnum):
    """The process the settings are read for; each asks only for what it needs."""

    CONSOLE = "console"  # `python -m bot console`, or `python -m bot` without Slack credentials
    ALL_IN_ONE = "all-in-one"  # `python -m bot` with Slack credentials
    WEB = "web"  # `python -m bot web`
    WORKER = "worker"  # `python -m bot worker`

    @property
    def is_split(self) -> bool:
        """One of several processes that must share Redis and the Communities API."""
        return self in (Process.WEB, Process.WORKER)


class ConfigError(Exception):
    """Start-up configuration is unusable; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Base URLs besides https://files.slack.com/ that attached files may be fetched from
    # with the bot token: only the local Slack stand-in's (its LocalStack sets it). None by
    # default; never put another host here.
    slack_extra_file_urls: CommaList = ()
    port: int = Field(default=3000, ge=1, le=65535)
    # Socket Mode and `python -m bot worker`: a small HTTP port for /healthz and /metrics
    # (HTTP mode serves both on PORT); unset: none
    health_port: int | None = Field(default=None, ge=1, le=65535)
    approvals_channel: str | None = None

    # Redis
    redis_url: SecretStr | None = None
    data_dir: str = "data"
    # A reply slower than this counts as a Redis outage (the worker backs off and retries).
    redis_socket_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # rediss:// only: false accepts a certificate nobody vouches for (Heroku Redis signs its
    # own); the connection is still encrypted, but not proven to reach that host.
    redis_tls_verify: bool = True
    # standalone: REDIS_URL is one Redis; cluster: REDIS_URL is a seed node of a Redis
    # Cluster or Valkey cluster (ElastiCache Serverless); sentinel: the primary that
    # REDIS_SENTINELS (host:port,...) name for REDIS_SENTINEL_MASTER (docs/redis.md).
    redis_mode: Literal["standalone", "cluster", "sentinel"] = "standalone"
    redis_sentinels: str | None = None
    redis_sentinel_master: str | None = None
    # Replicas that must confirm the write recording an attempt before Coolblue is called
    # (WAIT); unset: 0 standalone, 1 in cluster and sentinel mode.
    redis_wait_replicas: int | None = Field(default=None, ge=0, le=5)
    redis_wait_ms: int = Field(default=1000, ge=10, le=10_000)
    # Finished requests, their indexes, ended imports (rows included) and the audit trail
    # are kept this long.
    retention_days: float = Field(default=365, gt=0)

    # Communities API
    communities_environment: Literal["sandbox", "acceptance", "production"] | None = None
    communities_api_url: str | None = None
    communities_token_url: str | None = None
    communities_client_id: str | None = None
    communities_client_secret: SecretStr | None = None
    communities_company: str | None = None
    community_ids: CommaList = ()
    communities_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    communities_client_auth: Literal["body", "basic"] = "body"

    # Roles: Slack user IDs (U…/W…) and user-group IDs (S…)
    roles_hr: CommaList = ()
    roles_manager: CommaList = ()
    roles_support: CommaList = ()
    roles_admin: CommaList = ()
    group_cache_seconds: int = Field(default=300, ge=0, le=3600)

    # Policy
    approvals_required_add: int = Field(default=1, ge=0, le=2)
    approvals_required_remove: int = Field(default=1, ge=0, le=2)
    max_credit_eur: Decimal = Field(
        default=Decimal("2500.00"), gt=0, max_digits=9, decimal_places=2
    )
    request_expiry_hours: float = Field(default=72, gt=0)
    reminder_after_hours: float = Field(default=24, gt=0)
    # A TOML file giving each community its own channel, people and rules (docs/policy.md);
    # unset: the settings above are the one policy of every community. Read at start-up.
    policy_file: str | None = None

    # Scheduled changes: dates are days in this time zone; an onboarding runs at
    # SCHEDULE_ONBOARD_AT on its start date, an offboarding at SCHEDULE_OFFBOARD_AT on the
    # last working day.
    timezone: str = "Europe/Amsterdam"
    schedule_onboard_at: time = time(0, 0)
    schedule_offboard_at: time = time(23, 59)

    # Worker
    worker_concurrency: int = Field(default=8, ge=1, le=64)
    # A worker that stops heart-beating for this long has its work taken over.
    worker_claim_idle_seconds: float = Field(default=10, gt=0)
    # A request whose execution raised this many times is parked as failed.
    worker_max_deliveries: int = Field(default=5, ge=1, le=100)
    # A stable name (DYNO on Heroku-style hosts) lets a restarted worker resume its own work.
    worker_name: str | None = Field(
        default=None, validation_alias=AliasChoices("worker_name", "dyno")
    )

    # Imports (/community import): bulk onboarding and offboarding from a CSV file
    import_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    import_max_rows: int = Field(default=5000, ge=1, le=100_000)
    # Approvals an import needs: the add/remove policy, or this when it is larger.
    import_approvals_required: int | None = Field(default=None, ge=0, le=5)
    import_max_total_credit_eur: Decimal = Field(
        default=Decimal("100000.00"), gt=0, max_digits=12, decimal_places=2
    )
    # Rows carried out at once across every worker process.
    import_concurrency: int = Field(default=8, ge=1, le=64)
    # The approval message's progress is updated at most this often (chat.update limits).
    import_progress_seconds: float = Field(default=3.0, ge=1.0, le=60.0)
    # Fetching the attached file, within Slack's 3 s for the modal's answer.
    import_download_seconds: float = Field(default=1.5, gt=0, le=2.5)
    # Files of at most this many rows are checked within those 3 s (errors on the field);
    # larger ones after, behind a "checking" view.
    import_inline_rows: int = Field(default=1000, ge=0, le=100_000)

    # Sandbox (used when COMMUNITIES_API_URL is unset, and by `python -m bot sandbox`)
    sandbox_communities: str = DEFAULT_SANDBOX_COMMUNITIES
    sandbox_latency_ms: int = Field(default=0, ge=0, le=60_000)
    sandbox_token_lifetime: int = Field(default=3600, ge=1)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # text: readable lines; json: one JSON object per line, for a log platform
    log_format: Literal["text", "json"] = "text"

    @field_validator("redis_mode", mode="before")
    @classmethod
    def _mode_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_list(cls, value: str | None) -> str | None:
        if value is not None:
            parse_sentinels(value)  # ValueError: pydantic names REDIS_SENTINELS
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "community_ids",
        "roles_hr",
        "roles_manager",
        "roles_support",
        "roles_admin",
        "slack_extra_file_urls",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("roles_hr", "roles_manager", "roles_support", "roles_admin")
    @classmethod
    def _slack_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [item for item in value if not SLACK_ID.match(item)]
        if bad:
            raise ValueError(
                f"expected Slack user IDs (U…/W…) or user-group IDs (S…), got {', '.join(bad)}"
            )
        return value

    @field_validator("slack_extra_file_urls")
    @classmethod
    def _file_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [item for item in value if not item.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"expected http(s) base URLs, got {', '.join(bad)}")
        return tuple(item if item.endswith("/") else item + "/" for item in value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Amsterdam") from None
        return value

    @field_validator("approvals_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not CHANNEL_ID.match(value):
            raise ValueError("expected a channel ID such as C0123456789, not a channel name")
        return value

    @field_validator("communities_api_url")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")) or not value.endswith("/communities-api"):
            raise ValueError("must be an http(s) URL ending in /communities-api")
        return value

    @field_validator("communities_token_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    # Derived facts -------------------------------------------------------------

    @property
    def uses_sandbox(self) -> bool:
        return self.communities_api_url is None

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None and self.redis_mode == "standalone"

    @property
    def wait_replicas(self) -> int:
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 0 if self.redis_mode == "standalone" else 1

    @property
    def has_slack_credentials(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def environment_label(self) -> str:
        """The badge shown on every message outside production."""
        if self.uses_sandbox:
            return "SANDBOX"
        return (self.communities_environment or "acceptance").upper()

    def sandbox_community_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for item in self.sandbox_communities.split(","):
            community_id, _, name = item.strip().partition(":")
            if community_id:
                pairs.append((community_id.strip(), name.strip() or community_id.strip()))
        return pairs

    @property
    def default_process(self) -> Process:
        """What `python -m bot` runs: everything in one process, or the console when there
        are no Slack credentials."""
        return Process.ALL_IN_ONE if self.has_slack_credentials else Process.CONSOLE

    def problems(
        self, process: Process | None = None, invalid: frozenset[str] = frozenset()
    ) -> list[str]:
        """Cross-field checks that a single field validator cannot make, for `process`
        (None: the one `python -m bot` picks). Fields named in `invalid` failed their own
        validation (and hold their defaults here): checks of their values are skipped, but
        they count as set."""
        implicit = process is None
        process = process or self.default_process

        def given(name: str) -> bool:
            return getattr(self, name) is not None or name in invalid

        def valid(*names: str) -> bool:
            return invalid.isdisjoint(names)

        found: list[str] = []
        command = (
            "`python -m bot`" if process is Process.ALL_IN_ONE else f"`python -m bot {process}`"
        )
        if process is not Process.CONSOLE:
            found += self._slack_problems(process, command, valid)
        elif implicit and (self.slack_app_token is not None or given("slack_signing_secret")):
            found.append(
                "SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set"
            )
        if given("communities_api_url"):
            for name in (
                "communities_environment",
                "communities_token_url",
                "communities_client_id",
                "communities_client_secret",
                "communities_company",
            ):
                if not given(name):
                    found.append(f"{name.upper()}: required when COMMUNITIES_API_URL is set")
        elif process.is_split:
            found.append(
                f"COMMUNITIES_API_URL: required for {command}; set the same one for web and "
                "workers, e.g. a `python -m bot sandbox` (an embedded sandbox would be this "
                "process's alone)"
            )
        found += self._redis_problems(valid)
        if process.is_split and self.uses_embedded_redis:
            found.append(
                f"REDIS_URL: required for {command}; set the same one for web and workers "
                "(an embedded Redis would be this process's alone: approved work would never "
                "reach the other)"
            )
        if (
            valid("reminder_after_hours", "request_expiry_hours")
            and self.reminder_after_hours >= self.request_expiry_hours
        ):
            found.append("REMINDER_AFTER_HOURS: must be less than REQUEST_EXPIRY_HOURS")
        if not process.is_split and self.uses_sandbox and not self.sandbox_community_pairs():
            found.append("SANDBOX_COMMUNITIES: list at least one id:name")
        return found

    def _redis_problems(self, valid: Callable[..., bool]) -> list[str]:
        """REDIS_MODE and what it needs, one line each."""
        if not valid("redis_mode"):
            return []
        mode = self.redis_mode
        found: list[str] = []
        url = self.redis_url.get_secret_value() if self.redis_url else ""
        if mode == "cluster":
            if not url:
                found.append("REDIS_URL: required when REDIS_MODE=cluster (a node of the cluster)")
            elif urlsplit(url).path.strip("/") not in ("", "0"):
                found.append(
                    "REDIS_URL: names a database other than 0; a Redis Cluster has only "
                    "database 0 (SELECT is refused)"
                )
        if mode == "sentinel":
            for name in ("redis_sentinels", "redis_sentinel_master"):
                if getattr(self, name) is None and valid(name):
                    found.append(f"{name.upper()}: required when REDIS_MODE=sentinel")
        else:
            for name in ("redis_sentinels", "redis_sentinel_master"):
                if getattr(self, name) is not None:
                    found.append(f"{name.upper()}: set only with REDIS_MODE=sentinel")
        return found

    def _slack_problems(
        self, process: Process, command: str, valid: Callable[..., bool]
    ) -> list[str]:
        found: list[str] = []
        if self.slack_bot_token is None:
            found.append(
                f"SLACK_BOT_TOKEN: required for {command} "
                "(without Slack credentials, `python -m bot` opens the local console)"
            )
        elif not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            found.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
        if self.approvals_channel is None and valid("approvals_channel") and not self.policy_file:
            # With POLICY_FILE, each community needs a channel (the file's check says where).
            found.append(f"APPROVALS_CHANNEL: required for {command}")
        if process is Process.WORKER:
            return found  # a worker answers no Slack requests: no signing secret, no app token
        if self.slack_app_token is None and self.slack_signing_secret is None:
            found.append(
                "SLACK_SIGNING_SECRET: required for HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if self.slack_app_token is not None and not (
            self.slack_app_token.get_secret_value().startswith("xapp-")
        ):
            found.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
        return found


def load_settings(process: Process | None = None, **overrides: object) -> Settings:
    """Read and check the configuration for `process` (None: the one `python -m bot`
    picks); raise ConfigError with one line per problem, all problems at once."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        lines: list[str] = []
        invalid: frozenset[str] = frozenset()
    except ValidationError as exc:
        lines = [_describe(error) for error in exc.errors()]
        invalid = frozenset(str(error["loc"][0]) for error in exc.errors() if error.get("loc"))
        # The other settings are still checked together: read again with the failing
        # fields at their defaults (init arguments win over the environment).
        defaults = {
            name: field.default for name, field in Settings.model_fields.items() if name in invalid
        }
        try:
            settings = Settings(**{**overrides, **defaults})
        except ValidationError:
            raise ConfigError(lines) from None
    problems = lines + settings.problems(process, invalid)
    if settings.policy_file is not None:
        # Imported only with a file: reading the settings stays as light as it was.
        from bot.runtime.policy import policy_file_problems

        # Approval messages need a channel wherever the bot talks to Slack.
        talks_to_slack = (process or settings.default_process) is not Process.CONSOLE
        problems += policy_file_problems(settings, require_channel=talks_to_slack)
    if problems:
        raise ConfigError(problems)
    return settings


def _describe(error: ErrorDetails) -> str:
    variable = str(error["loc"][0]).upper() if error.get("loc") else "CONFIGURATION"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{variable}: {message}"
