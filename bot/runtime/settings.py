"""Configuration: every setting the bot reads, typed and validated once at start-up.

Values come from the environment and a `.env` file. A bad or missing setting stops
start-up with one line per problem naming the variable (`ConfigError`); secrets are
`SecretStr`, so they never show in a repr, a log line or a traceback.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

CommaList = Annotated[tuple[str, ...], NoDecode]

DEFAULT_SANDBOX_CLIENT_ID = "sandbox-client"
DEFAULT_SANDBOX_CLIENT_SECRET = "sandbox-secret"
DEFAULT_SANDBOX_COMMUNITIES = "acme-employees:Acme Employees"


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
    port: int = Field(default=3000, ge=1, le=65535)
    approvals_channel: str | None = None

    # Redis
    redis_url: SecretStr | None = None
    data_dir: str = "data"

    # Communities API
    communities_environment: Literal["acceptance", "production"] | None = None
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

    # Worker
    worker_concurrency: int = Field(default=8, ge=1, le=64)
    worker_claim_idle_seconds: float = Field(default=60, gt=0)

    # Sandbox (used when COMMUNITIES_API_URL is unset, and by `python -m bot sandbox`)
    sandbox_communities: str = DEFAULT_SANDBOX_COMMUNITIES
    sandbox_latency_ms: int = Field(default=0, ge=0, le=60_000)
    sandbox_token_lifetime: int = Field(default=3600, ge=1)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator(
        "community_ids", "roles_hr", "roles_manager", "roles_support", "roles_admin", mode="before"
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
        return self.redis_url is None

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

    def problems(self) -> list[str]:
        """Cross-field checks that a single field validator cannot make."""
        found: list[str] = []
        if not self.uses_sandbox:
            for name in (
                "communities_environment",
                "communities_token_url",
                "communities_client_id",
                "communities_client_secret",
                "communities_company",
            ):
                if getattr(self, name) is None:
                    found.append(f"{name.upper()}: required when COMMUNITIES_API_URL is set")
        if self.has_slack_credentials:
            token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else ""
            if not token.startswith("xoxb-"):
                found.append("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
            if self.slack_app_token is None and self.slack_signing_secret is None:
                found.append(
                    "SLACK_SIGNING_SECRET: required for HTTP mode "
                    "(or set SLACK_APP_TOKEN for Socket Mode)"
                )
            if self.approvals_channel is None:
                found.append("APPROVALS_CHANNEL: required when Slack credentials are set")
        elif self.slack_app_token is not None or self.slack_signing_secret is not None:
            found.append(
                "SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set"
            )
        if self.slack_app_token is not None and not (
            self.slack_app_token.get_secret_value().startswith("xapp-")
        ):
            found.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
        if self.reminder_after_hours >= self.request_expiry_hours:
            found.append("REMINDER_AFTER_HOURS: must be less than REQUEST_EXPIRY_HOURS")
        if self.uses_sandbox and not self.sandbox_community_pairs():
            found.append("SANDBOX_COMMUNITIES: list at least one id:name")
        return found


def load_settings(**overrides: object) -> Settings:
    """Read and check the configuration; raise ConfigError with one line per problem."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None
    problems = settings.problems()
    if problems:
        raise ConfigError(problems)
    return settings


def _describe(error: ErrorDetails) -> str:
    variable = str(error["loc"][0]).upper() if error.get("loc") else "CONFIGURATION"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{variable}: {message}"
