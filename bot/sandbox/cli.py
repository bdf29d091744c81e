"""`python -m bot sandbox`: the Communities API sandbox as a process of its own.

Other processes (a bot, a benchmark, a test) then point COMMUNITIES_API_URL and
COMMUNITIES_TOKEN_URL at it and drive its faults through the admin endpoints.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from pydantic import ValidationError

from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    ConfigError,
    Settings,
)
from bot.sandbox.server import SandboxServer


def run_standalone(host: str, port: int) -> None:
    """Serve the sandbox until SIGINT or SIGTERM, then stop cleanly. Main thread only."""
    settings = _sandbox_settings()
    server = SandboxServer(
        communities=settings.sandbox_community_pairs(),
        client_id=settings.communities_client_id or DEFAULT_SANDBOX_CLIENT_ID,
        client_secret=(
            settings.communities_client_secret.get_secret_value()
            if settings.communities_client_secret
            else DEFAULT_SANDBOX_CLIENT_SECRET
        ),
        token_lifetime=settings.sandbox_token_lifetime,
        latency_ms=settings.sandbox_latency_ms,
        host=host,
        port=port,
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, _setter(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with server:
            _announce(server, settings)
            stop.wait()
            print("Stopping the Communities API SANDBOX.", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Stopped.", flush=True)


def _sandbox_settings() -> Settings:
    # Only the sandbox's own settings matter here, so the bot's cross-field checks
    # (Slack credentials and so on) must not stop a sandbox from starting.
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(
            [f"{str(error['loc'][0]).upper()}: {error['msg']}" for error in exc.errors()]
        ) from None
    if not settings.sandbox_community_pairs():
        raise ConfigError(["SANDBOX_COMMUNITIES: list at least one id:name"])
    return settings


def _setter(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return handle


def _announce(server: SandboxServer, settings: Settings) -> None:
    secret = (
        "(from COMMUNITIES_CLIENT_SECRET)"
        if settings.communities_client_secret
        else DEFAULT_SANDBOX_CLIENT_SECRET
    )
    client_id = (
        "(from COMMUNITIES_CLIENT_ID)"
        if settings.communities_client_id
        else DEFAULT_SANDBOX_CLIENT_ID
    )
    communities = ", ".join(f"{cid} ({name})" for cid, name in settings.sandbox_community_pairs())
    lines = [
        "Coolblue Communities API SANDBOX: in memory, not the real API; data is lost on exit.",
        f"  COMMUNITIES_API_URL={server.base_url}",
        f"  COMMUNITIES_TOKEN_URL={server.token_url}",
        f"  communities:   {communities}",
        f"  client ID:     {client_id}",
        f"  client secret: {secret}",
        f"  admin:         {server.admin_url}/stats (faults, reset, revoke-tokens, members)",
        "Stop with Ctrl+C (SIGINT) or SIGTERM.",
    ]
    print("\n".join(lines), flush=True)
