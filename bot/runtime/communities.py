"""The Communities API client built from the settings: the one place that knows both.

`bot.communities` takes plain arguments and knows nothing of Settings; this module fills
them in, with the sandbox's defaults when COMMUNITIES_API_URL is unset.
"""

from __future__ import annotations

import threading

import httpx
from pydantic import SecretStr
from redis import Redis

from bot.communities import CommunitiesClient
from bot.runtime.metrics import Metrics
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    ConfigError,
    Settings,
)

__all__ = ["SANDBOX_COMPANY", "communities_client"]

# The company named in the User-Agent (Coolblue-<company>) when talking to the sandbox.
SANDBOX_COMPANY = "CommunityBot"


def communities_client(
    settings: Settings,
    redis_client: Redis,
    *,
    base_url: str | None = None,
    token_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    metrics: Metrics | None = None,
    stop: threading.Event | None = None,
) -> CommunitiesClient:
    """The client for the configured environment; `base_url`/`token_url` point it at an
    in-process sandbox instead; `transport` wraps its HTTP (the import runner's 429 gate);
    `metrics` counts its calls and token renewals; `stop` ends its waits (Interrupted).
    Raises ConfigError naming every missing variable."""
    api_url = base_url or settings.communities_api_url
    tok_url = token_url or settings.communities_token_url
    sandbox = settings.uses_sandbox
    client_id = settings.communities_client_id or (DEFAULT_SANDBOX_CLIENT_ID if sandbox else None)
    secret = settings.communities_client_secret or (
        SecretStr(DEFAULT_SANDBOX_CLIENT_SECRET) if sandbox else None
    )
    company = settings.communities_company or (SANDBOX_COMPANY if sandbox else None)
    required = (
        ("COMMUNITIES_API_URL", api_url),
        ("COMMUNITIES_TOKEN_URL", tok_url),
        ("COMMUNITIES_CLIENT_ID", client_id),
        ("COMMUNITIES_CLIENT_SECRET", secret),
        ("COMMUNITIES_COMPANY", company),
    )
    missing = [name for name, value in required if value is None]
    if missing:
        raise ConfigError([f"{name}: required for the Communities API" for name in missing])
    assert api_url and tok_url and client_id and secret and company  # narrowed above
    return CommunitiesClient(
        base_url=api_url,
        token_url=tok_url,
        client_id=client_id,
        client_secret=secret,
        company=company,
        redis=redis_client,
        allowed_community_ids=settings.community_ids,
        timeout=settings.communities_timeout_seconds,
        client_auth=settings.communities_client_auth,
        transport=transport,
        on_attempt=metrics.api_attempt if metrics else None,
        on_token_renewal=metrics.token_renewal if metrics else None,
        stop=stop,
    )
