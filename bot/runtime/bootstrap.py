"""Turn the settings into running objects: Redis, the API client, the Slack client and
the services the listeners share. The embedded redis-server (no REDIS_URL) is started
here; the sandbox API (no COMMUNITIES_API_URL) is a local tool, started by the entry
points above this layer (bot.local) and handed in as `api_urls`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.communities import CommunitiesClient
from bot.domain.approvals import RequestService
from bot.domain.bulk import ImportService
from bot.domain.clock import Clock, SystemClock
from bot.domain.policy import Policy
from bot.domain.roles import Role, RoleDirectory
from bot.domain.schedule import Schedule
from bot.runtime.communities import communities_client
from bot.runtime.import_runner import ImportRunner, RateGate
from bot.runtime.metrics import Metrics
from bot.runtime.settings import Settings
from bot.runtime.worker import Worker
from bot.slack.import_notifier import SlackImportNotifier
from bot.slack.import_services import ImportServices
from bot.slack.notifier import SlackNotifier
from bot.slack.services import Services
from bot.slack.users import UserDirectory
from bot.slack.web_client import PooledWebClient
from bot.storage import RedisServer
from bot.storage.audit_log import RedisAuditLog
from bot.storage.group_cache import RedisGroupCache
from bot.storage.imports import RedisImportStore
from bot.storage.requests import RedisRequestStore

log = logging.getLogger("bot")


@dataclass(frozen=True)
class ApiUrls:
    """Where the Communities API is, when not where the settings say (the sandbox)."""

    base_url: str
    token_url: str


@dataclass
class Runtime:
    """The services plus whatever was started for them, stopped in reverse order."""

    settings: Settings
    redis: redis.Redis
    services: Services
    slack: WebClient
    clock: Clock
    redis_server: RedisServer | None = None
    api_urls: ApiUrls | None = None  # the sandbox's, when the settings name none
    # This process's metrics (GET /metrics): one registry per Runtime, see bot.runtime.metrics.
    metrics: Metrics = field(default_factory=Metrics)

    def build_worker(self, *, name: str | None = None, sweep_every: float = 30.0) -> Worker:
        return Worker(
            self.redis,
            self.services.store,
            self.services.requests,
            self.services.api,
            concurrency=self.settings.worker_concurrency,
            claim_idle=self.settings.worker_claim_idle_seconds,
            sweep_every=sweep_every,
            max_deliveries=self.settings.worker_max_deliveries,
            name=name or self.settings.worker_name,
            metrics=self.metrics,
        )

    def build_import_runner(self, *, name: str | None = None) -> ImportRunner:
        """The import runner each worker process starts beside its Worker, with a
        Communities client of its own whose 429s pause every process's import traffic."""
        assert self.services.imports is not None
        gate = RateGate()
        urls = self.api_urls
        api = communities_client(
            self.settings,
            self.redis,
            base_url=urls.base_url if urls else None,
            token_url=urls.token_url if urls else None,
            transport=gate,
            metrics=self.metrics,
        )
        return ImportRunner(
            self.redis,
            self.services.imports.store,
            self.services.imports.service,
            api,
            self.services.imports.notifier,
            concurrency=self.settings.import_concurrency,
            claim_idle=self.settings.worker_claim_idle_seconds,
            max_deliveries=self.settings.worker_max_deliveries,
            name=name or self.settings.worker_name,
            gate=gate,
            on_close=api.close,
        )

    def close(self) -> None:
        self.services.close()
        self.services.api.close()
        if isinstance(self.slack, PooledWebClient):
            self.slack.close()
        self.redis.close()
        if self.redis_server is not None:
            self.redis_server.stop()


def connect_redis(
    url: str, socket_timeout: float = 10.0, *, tls_verify: bool = True
) -> redis.Redis:
    """A client of `url` (nothing is sent yet). A rediss:// URL is TLS; `tls_verify`
    False (REDIS_TLS_VERIFY=false) accepts a certificate no authority vouches for, as
    Heroku Redis's self-signed one: still encrypted, the server's identity unchecked."""
    tls: dict[str, object] = {}
    if url.startswith("rediss://") and not tls_verify:
        tls = {"ssl_cert_reqs": "none", "ssl_check_hostname": False}
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        health_check_interval=30,
        retry_on_timeout=False,
        **tls,
    )


def redis_problem(exc: redis.RedisError) -> str:
    """What to do about a Redis that cannot be reached, for the start-up message (never
    the URL: it carries the password)."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"Redis's TLS certificate was not accepted ({text}): if the host signs its own "
            "certificate (Heroku Redis does), set REDIS_TLS_VERIFY=false"
        )
    return f"cannot reach Redis ({text}): check that it runs and that REDIS_URL points at it"


def slack_client(token: str | None, base_url: str) -> PooledWebClient:
    """slack_sdk's WebClient on kept-alive connections (bot.slack.web_client), also
    retrying Slack's 429s (honouring Retry-After)."""
    client = PooledWebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def policy_from(settings: Settings) -> Policy:
    return Policy(
        approvals_add=settings.approvals_required_add,
        approvals_remove=settings.approvals_required_remove,
        max_credit=settings.max_credit_eur,
        expiry_seconds=settings.request_expiry_hours * 3600,
        reminder_seconds=settings.reminder_after_hours * 3600,
        retention_seconds=settings.retention_days * 86400,
        schedule=Schedule(
            ZoneInfo(settings.timezone),
            onboard_at=settings.schedule_onboard_at,
            offboard_at=settings.schedule_offboard_at,
        ),
    )


def start_runtime(
    settings: Settings,
    *,
    slack: WebClient | None = None,
    api_urls: ApiUrls | None = None,
    clock: Clock | None = None,
) -> Runtime:
    clock = clock or SystemClock()
    metrics = Metrics()
    redis_server = None
    client = None
    try:  # whatever fails or interrupts start-up stops what it started
        if settings.redis_url is None:
            redis_server = RedisServer(Path(settings.data_dir) / "redis")
            url = redis_server.start()
            log.info("embedded Redis on %s (data in %s)", url, redis_server.data_dir)
        else:
            url = settings.redis_url.get_secret_value()
        client = connect_redis(
            url, settings.redis_socket_timeout_seconds, tls_verify=settings.redis_tls_verify
        )
        metrics.watch_queues(client)
        if api_urls is None:
            api = communities_client(settings, client, metrics=metrics)
        else:
            api = communities_client(
                settings,
                client,
                base_url=api_urls.base_url,
                token_url=api_urls.token_url,
                metrics=metrics,
            )
        if slack is None:
            token = (
                settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
            )
            slack = slack_client(token, settings.slack_api_url)
        metrics.count_slack_calls(slack)
        services = build_services(settings, client, api, slack, clock, metrics=metrics)
    except BaseException:
        if client is not None:
            client.close()
        if redis_server is not None:
            redis_server.stop()
        raise
    return Runtime(
        settings, client, services, slack, clock, redis_server, api_urls=api_urls, metrics=metrics
    )


def build_services(
    settings: Settings,
    client: redis.Redis,
    api: CommunitiesClient,
    slack: WebClient,
    clock: Clock,
    *,
    metrics: Metrics | None = None,
) -> Services:
    store = RedisRequestStore(
        client,
        clock=clock,
        retention_seconds=settings.retention_days * 86400,
        on_change=metrics.request_changed if metrics else None,
    )
    users = UserDirectory(slack, client)
    grants = {
        Role.HR: settings.roles_hr,
        Role.MANAGER: settings.roles_manager,
        Role.SUPPORT: settings.roles_support,
        Role.ADMIN: settings.roles_admin,
    }
    roles = RoleDirectory(
        grants, RedisGroupCache(client), users.members_of, settings.group_cache_seconds
    )
    notifier = SlackNotifier(
        slack,
        store,
        settings.approvals_channel or "",
        roles,
        members=api,
        offboard_at=f"{settings.schedule_offboard_at:%H:%M}",
    )
    policy = policy_from(settings)
    service = RequestService(store, policy, notifier, settings.environment_label, clock)
    imports = build_imports(settings, client, slack, policy, clock.now)
    return Services(
        imports=imports,
        store=store,
        roles=roles,
        requests=service,
        notifier=notifier,
        users=users,
        api=api,
        policy=policy,
        audit_log=RedisAuditLog(client),
        environment=settings.environment_label,
        clock=clock,
    )


def build_imports(
    settings: Settings,
    client: redis.Redis,
    slack: WebClient,
    policy: Policy,
    now: Callable[[], float] = time.time,
) -> ImportServices:
    """The import store, notifier and service (bot.slack.import_services)."""
    store = RedisImportStore(client, retention_seconds=settings.retention_days * 86400, now=now)
    notifier = SlackImportNotifier(
        slack,
        store,
        settings.approvals_channel or "",
        progress_seconds=settings.import_progress_seconds,
        now=now,
    )
    service = ImportService(
        store,
        policy,
        notifier,
        settings.environment_label,
        approvals_required=settings.import_approvals_required,
        max_total_credit=settings.import_max_total_credit_eur,
        now=now,
    )
    return ImportServices(
        service,
        store,
        notifier,
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        inline_rows=settings.import_inline_rows,
        download_seconds=settings.import_download_seconds,
    )
