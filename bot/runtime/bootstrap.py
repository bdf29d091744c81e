"""Turn the settings into running objects: Redis, the API client, the Slack client and
the services the listeners share. The embedded redis-server (no REDIS_URL) is started
here; the sandbox API (no COMMUNITIES_API_URL) is a local tool, started by the entry
points above this layer (bot.local) and handed in as `api_urls`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import redis
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.communities import CommunitiesClient, CommunitiesError
from bot.domain.approvals import RequestService
from bot.domain.bulk import ImportService
from bot.domain.clock import Clock, SystemClock
from bot.domain.community_policy import PolicyBook
from bot.domain.community_roles import CommunityRoles
from bot.domain.policy import Policy
from bot.domain.roles import Role, RoleDirectory
from bot.domain.schedule import Schedule
from bot.domain.steps import StepService
from bot.runtime.communities import communities_client
from bot.runtime.import_runner import ImportRunner, RateGate
from bot.runtime.metrics import Metrics
from bot.runtime.policy import policy_book
from bot.runtime.settings import ConfigError, Settings
from bot.runtime.worker import Worker
from bot.slack.downloads import FileHosts
from bot.slack.import_notifier import SlackImportNotifier
from bot.slack.import_services import ImportServices
from bot.slack.notifier import SlackNotifier
from bot.slack.services import Services
from bot.slack.steps import SlackStepCompleter, community_names, step_actor
from bot.slack.users import UserDirectory
from bot.slack.web_client import PooledWebClient
from bot.storage import RedisServer
from bot.storage.audit_log import RedisAuditLog
from bot.storage.connection import RedisTarget, connect, parse_sentinels
from bot.storage.delegations import RedisDelegationStore
from bot.storage.escalations import RedisEscalations
from bot.storage.group_cache import RedisGroupCache
from bot.storage.imports import RedisImportStore
from bot.storage.migrate import migrate_hash_tags
from bot.storage.requests import RedisRequestStore
from bot.storage.steps import RedisStepStore

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
        """A Worker with a Communities client of its own, whose waits (Retry-After,
        backoff) end the moment the worker is told to stop."""
        stopping = threading.Event()
        api = self._communities_client(stop=stopping)
        return Worker(
            self.redis,
            self.services.store,
            self.services.requests,
            api,
            concurrency=self.settings.worker_concurrency,
            claim_idle=self.settings.worker_claim_idle_seconds,
            sweep_every=sweep_every,
            max_deliveries=self.settings.worker_max_deliveries,
            name=name or self.settings.worker_name,
            metrics=self.metrics,
            steps=self.services.steps,
            stopping=stopping,
            on_close=api.close,
        )

    def build_import_runner(
        self, *, name: str | None = None, sweep_every: float = 30.0
    ) -> ImportRunner:
        """The import runner each worker process starts beside its Worker, with a
        Communities client of its own whose 429s pause every process's import traffic."""
        assert self.services.imports is not None
        stopping = threading.Event()  # stop() sets it: every wait of the rows ends
        gate = RateGate(stop=stopping)
        api = self._communities_client(transport=gate, stop=stopping)
        return ImportRunner(
            self.redis,
            self.services.imports.store,
            self.services.imports.service,
            api,
            self.services.imports.notifier,
            concurrency=self.settings.import_concurrency,
            claim_idle=self.settings.worker_claim_idle_seconds,
            max_deliveries=self.settings.worker_max_deliveries,
            sweep_every=sweep_every,
            name=name or self.settings.worker_name,
            gate=gate,
            on_close=api.close,
            stopping=stopping,
        )

    def _communities_client(
        self, *, transport: httpx.BaseTransport | None = None, stop: threading.Event | None = None
    ) -> CommunitiesClient:
        urls = self.api_urls
        return communities_client(
            self.settings,
            self.redis,
            base_url=urls.base_url if urls else None,
            token_url=urls.token_url if urls else None,
            transport=transport,
            metrics=self.metrics,
            stop=stop,
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
    """A client of one Redis at `url` (nothing is sent yet); see redis_target for the
    modes. A rediss:// URL is TLS; `tls_verify` False (REDIS_TLS_VERIFY=false) accepts a
    certificate no authority vouches for, as Heroku Redis's self-signed one: still
    encrypted, the server's identity unchecked."""
    return connect(RedisTarget(url, socket_timeout=socket_timeout, tls_verify=tls_verify))


def redis_target(settings: Settings, url: str | None = None) -> RedisTarget:
    """Where the settings say Redis is (`url`: the embedded server's, when started)."""
    if url is None:
        url = settings.redis_url.get_secret_value() if settings.redis_url else "redis://"
    return RedisTarget(
        url,
        mode=settings.redis_mode,
        sentinels=parse_sentinels(settings.redis_sentinels) if settings.redis_sentinels else (),
        master=settings.redis_sentinel_master or "",
        tls_verify=settings.redis_tls_verify,
        socket_timeout=settings.redis_socket_timeout_seconds,
        wait_replicas=settings.wait_replicas,
        wait_ms=settings.redis_wait_ms,
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


def check_policy_communities(settings: Settings, api: CommunitiesClient) -> None:
    """With POLICY_FILE: a community the file names that the API does not list for this
    client stops start-up (ConfigError, the lines `python -m bot policy check` prints).
    An API that cannot be reached now only delays that finding to the first request
    (which then says the community is not available): a web process still starts."""
    if settings.policy_file is None:
        return
    # Imported only with a file: a start without one loads nothing more than before.
    from bot.domain.policy_file import PolicyFileError
    from bot.runtime.policy import (
        listed_community_ids,
        policy_book,
        problem_lines,
        unlisted_problems,
    )

    try:
        book = policy_book(settings)
    except PolicyFileError as exc:
        raise ConfigError(problem_lines(settings.policy_file, exc.problems)) from None
    try:
        listed = listed_community_ids(api)
    except (CommunitiesError, redis.RedisError) as exc:
        log.warning("POLICY_FILE: could not check its communities against the API: %s", exc)
        return
    problems = unlisted_problems(book.community_ids or (), listed)
    if problems:
        raise ConfigError(problem_lines(settings.policy_file, problems))


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
        url = None
        if settings.uses_embedded_redis:
            redis_server = RedisServer(Path(settings.data_dir) / "redis")
            url = redis_server.start()
            log.info("embedded Redis on %s (data in %s)", url, redis_server.data_dir)
        client = connect(redis_target(settings, url))
        migrate_hash_tags(client)  # before anything reads the ledger (docs/redis.md)
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
        check_policy_communities(settings, api)
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
    book = policy_book(settings)
    delegations = RedisDelegationStore(client)
    community = CommunityRoles(
        book,
        roles,
        delegations=delegations,
        timezone=ZoneInfo(settings.timezone),
        now=clock.now,
    )
    # Without POLICY_FILE nothing is scoped per community: ROLES_* everywhere, as before
    # (delegation still works: /community away makes the delegate a manager).
    service = RequestService(
        store,
        policy,
        notifier,
        settings.environment_label,
        clock,
        community=community,
        escalations=RedisEscalations(client),
        members=api,
    )
    imports = build_imports(
        settings, client, slack, policy, clock.now, lambda: roles.users_with(Role.MANAGER)
    )
    # Whose language: a person's Slack locale for DMs, the community's policy language for
    # approval messages and their threads (bot.i18n).
    notifier.locale_of = users.locale_of
    notifier.language_of = _language_of(book)
    imports.notifier.locale_of = users.locale_of
    imports.notifier.language_of = _language_of(book)
    if book.from_file:
        notifier.channel_for = _channel_of(book)
        notifier.managers_of = lambda community_id: community.users_with(Role.MANAGER, community_id)
        imports.notifier.channel_for = _channel_of(book)
        imports.service.roles_in = community.roles_for
        imports.service.standing_in_for = community.standing_in_for
        imports.service.policy_of = service.policy_of
    services = Services(
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
        book=book,
        community=community,
        delegations=delegations,
    )
    services.steps = StepService(
        RedisStepStore(client, settings.retention_days * 86400),
        service,
        SlackStepCompleter(slack),
        actor_of=step_actor(
            services.quick_roles, roles, users, community if book.from_file else None
        ),
        communities=community_names(api),
        policy=policy,
        clock=clock,
        locale_of=users.locale_of,  # a refused step is told in its requester's language
    )
    notifier.after_change = services.steps.request_changed
    return services


def _language_of(book: PolicyBook) -> Callable[[str], str]:
    def language(community_id: str) -> str:
        found = book.for_community(community_id)
        return found.language if found is not None else "en"

    return language


def _channel_of(book: PolicyBook) -> Callable[[str], str]:
    def channel(community_id: str) -> str:
        found = book.for_community(community_id)
        return found.channel if found is not None else ""

    return channel


def build_imports(
    settings: Settings,
    client: redis.Redis,
    slack: WebClient,
    policy: Policy,
    now: Callable[[], float] = time.time,
    approvers: Callable[[], set[str]] = set,
) -> ImportServices:
    """The import store, notifier and service (bot.slack.import_services)."""
    store = RedisImportStore(client, retention_seconds=settings.retention_days * 86400, now=now)
    notifier = SlackImportNotifier(
        slack,
        store,
        settings.approvals_channel or "",
        approvers=approvers,
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
        file_hosts=FileHosts(settings.slack_extra_file_urls),
    )
