"""Build the services from the settings, starting the embedded parts when asked for:
a real redis-server (no REDIS_URL) and the sandbox API (no COMMUNITIES_API_URL)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import redis
from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.communities import CommunitiesClient
from bot.runtime.settings import DEFAULT_SANDBOX_CLIENT_ID, DEFAULT_SANDBOX_CLIENT_SECRET, Settings
from bot.domain.approvals import RequestService
from bot.domain.policy import Policy
from bot.domain.roles import Role, RoleDirectory
from bot.domain.store import RequestStore
from bot.runtime.communities import communities_client
from bot.runtime.services import Services
from bot.sandbox import SandboxServer
from bot.slack.notifier import SlackNotifier
from bot.slack.users import UserDirectory
from bot.storage import RedisServer

log = logging.getLogger("bot")


@dataclass
class Runtime:
    """The services plus whatever we started for them, stopped in reverse order."""

    services: Services
    slack: WebClient
    redis_server: RedisServer | None = None
    sandbox: SandboxServer | None = None

    def close(self) -> None:
        self.services.api.close()
        self.services.redis.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.redis_server is not None:
            self.redis_server.stop()


def connect_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2,
                                socket_timeout=10, health_check_interval=30,
                                retry_on_timeout=False)


def slack_client(token: str | None, base_url: str) -> WebClient:
    """slack_sdk's WebClient, also retrying Slack's 429s (honouring Retry-After)."""
    client = WebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def start_runtime(settings: Settings, *, slack: WebClient | None = None) -> Runtime:
    redis_server = None
    if settings.redis_url is None:
        redis_server = RedisServer(Path(settings.data_dir) / "redis")
        url = redis_server.start()
        log.info("embedded Redis on %s (data in %s)", url, redis_server.data_dir)
    else:
        url = settings.redis_url.get_secret_value()
    client = connect_redis(url)

    sandbox = None
    if settings.uses_sandbox:
        sandbox = SandboxServer(
            communities=settings.sandbox_community_pairs(),
            client_id=settings.communities_client_id or DEFAULT_SANDBOX_CLIENT_ID,
            client_secret=_secret(settings.communities_client_secret,
                                  DEFAULT_SANDBOX_CLIENT_SECRET),
            latency_ms=settings.sandbox_latency_ms)
        sandbox.start()
        log.info("SANDBOX Communities API on %s", sandbox.base_url)
        api = communities_client(settings, client, base_url=sandbox.base_url,
                                 token_url=sandbox.token_url)
    else:
        api = communities_client(settings, client)

    if slack is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        slack = slack_client(token, settings.slack_api_url)
    services = build_services(settings, client, api, slack)
    return Runtime(services, slack, redis_server, sandbox)


def build_services(settings: Settings, client: redis.Redis, api: CommunitiesClient,
                   slack: WebClient) -> Services:
    store = RequestStore(client)
    users = UserDirectory(slack, client)
    grants = {Role.HR: settings.roles_hr, Role.MANAGER: settings.roles_manager,
              Role.SUPPORT: settings.roles_support, Role.ADMIN: settings.roles_admin}
    roles = RoleDirectory(grants, client, users.members_of, settings.group_cache_seconds)
    notifier = SlackNotifier(slack, store, settings.approvals_channel or "", roles)
    policy = Policy.from_settings(settings)
    service = RequestService(store, policy, notifier, settings.environment_label)
    return Services(settings=settings, redis=client, store=store, roles=roles,
                    requests=service, notifier=notifier, users=users, api=api, policy=policy)


def _secret(value: SecretStr | None, default: str) -> str:
    return value.get_secret_value() if value is not None else default
