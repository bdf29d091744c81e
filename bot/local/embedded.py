"""The embedded default for a missing COMMUNITIES_API_URL: an in-process sandbox."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from bot.runtime.bootstrap import ApiUrls
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    Settings,
)
from bot.sandbox import SandboxServer

log = logging.getLogger("bot")


def start_sandbox(settings: Settings) -> SandboxServer:
    sandbox = SandboxServer(
        communities=settings.sandbox_community_pairs(),
        client_id=settings.communities_client_id or DEFAULT_SANDBOX_CLIENT_ID,
        client_secret=_secret(settings.communities_client_secret, DEFAULT_SANDBOX_CLIENT_SECRET),
        latency_ms=settings.sandbox_latency_ms,
    )
    sandbox.start()
    log.info("SANDBOX Communities API on %s", sandbox.base_url)
    return sandbox


def sandbox_urls(sandbox: SandboxServer) -> ApiUrls:
    return ApiUrls(base_url=sandbox.base_url, token_url=sandbox.token_url)


def _secret(value: SecretStr | None, default: str) -> str:
    return value.get_secret_value() if value is not None else default
