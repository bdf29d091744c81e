"""`python -m bot sandbox`: the Communities API sandbox as a process of its own.

Other processes (a bot, a benchmark, a test) then point COMMUNITIES_API_URL and
COMMUNITIES_TOKEN_URL at it and drive its faults through the admin endpoints.
"""

from __future__ import annotations

import shlex
import signal
import threading
from collections.abc import Callable
from decimal import Decimal
from types import FrameType

from pydantic import ValidationError

from bot.communities import contract
from bot.communities.codec import encode_new_member
from bot.domain.members import NewMember
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
            while not stop.wait(0.2):  # in turns: the handler runs on the main thread
                pass
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


# The company name the printed variables suggest; any name after "Coolblue-" is accepted.
EXAMPLE_COMPANY = "YourCompany"
EXAMPLE_EMAIL = "jane.doe@example.com"


def _announce(server: SandboxServer, settings: Settings) -> None:
    print("\n".join(announcement(server, settings)), flush=True)


def announcement(server: SandboxServer, settings: Settings) -> list[str]:
    """What a newcomer needs to use the sandbox: its paths, the variables that point the bot
    at it, and one curl per operation that works when pasted in order into a shell."""
    api = server.base_url
    pairs = settings.sandbox_community_pairs()
    communities = ", ".join(f"{cid} ({name})" for cid, name in pairs)
    community = pairs[0][0]
    routes = [
        ("POST", server.token_url, "a token: client credentials, HTTP Basic or in the form"),
        ("GET", api + contract.LIST_COMMUNITIES, "the communities this client may manage"),
        ("POST", api + contract.MEMBERS, "create a member with a business credit"),
        ("GET", api + contract.MEMBER_CREDIT, "a member's remaining credit"),
        ("DELETE", api + contract.MEMBER, "delete a member: revokes the remaining credit"),
    ]
    lines = [
        "Coolblue Communities API SANDBOX: in memory, not the real API; data is lost on exit.",
        "",
        "It serves:",
        *(f"  {method:<7}{url}   {what}" for method, url, what in routes),
        f"  admin: {server.admin_url}/stats (faults, reset, revoke-tokens, members)",
        f"  communities: {communities}",
        "Every API call needs `Authorization: Bearer <token>` and "
        f"`User-Agent: {contract.USER_AGENT_PREFIX}<YourCompanyName>`.",
        "",
        "Point the bot at it (or put these lines, without `export`, in .env):",
        *(f"  {line}" for line in _variables(server, settings)),
        "",
        "Try each operation, in this order, in a shell holding those variables:",
        *(f"  {line}" for line in _curls(community)),
        "",
        "Stop with Ctrl+C (SIGINT) or SIGTERM.",
    ]
    return lines


def _variables(server: SandboxServer, settings: Settings) -> list[str]:
    client_id = settings.communities_client_id or DEFAULT_SANDBOX_CLIENT_ID
    secret = (
        "# COMMUNITIES_CLIENT_SECRET: already in your environment "
        "(from COMMUNITIES_CLIENT_SECRET), not shown"
        if settings.communities_client_secret
        else f"export COMMUNITIES_CLIENT_SECRET={DEFAULT_SANDBOX_CLIENT_SECRET}"
    )
    return [
        # COMMUNITIES_ENVIRONMENT names one of Coolblue's two environments; the sandbox
        # plays acceptance (nothing reaches real customers), so that is what it exports.
        "# the SANDBOX stands in for Coolblue's acceptance environment:",
        "export COMMUNITIES_ENVIRONMENT=acceptance",
        f"export COMMUNITIES_API_URL={server.base_url}",
        f"export COMMUNITIES_TOKEN_URL={server.token_url}",
        f"export COMMUNITIES_CLIENT_ID={client_id}",
        secret,
        f"export COMMUNITIES_COMPANY={settings.communities_company or EXAMPLE_COMPANY}",
    ]


def _curls(community: str) -> list[str]:
    token = (
        'export TOKEN=$(curl -sf -u "$COMMUNITIES_CLIENT_ID:$COMMUNITIES_CLIENT_SECRET" '
        f"-d {contract.TOKEN_FIELD_GRANT_TYPE}={contract.TOKEN_GRANT_TYPE} "
        '"$COMMUNITIES_TOKEN_URL" | python3 -c '
        "'import json, sys; "
        f'print(json.load(sys.stdin)["{contract.TOKEN_ACCESS_TOKEN}"])'
        "')"
    )
    headers = (
        '-H "Authorization: Bearer $TOKEN" '
        f'-H "User-Agent: {contract.USER_AGENT_PREFIX}$COMMUNITIES_COMPANY"'
    )
    body = encode_new_member(
        NewMember(email=EXAMPLE_EMAIL, first_name="Jane", last_name="Doe", credit=Decimal("750"))
    ).decode()
    members = contract.members_path(community)
    member = contract.member_path(community, EXAMPLE_EMAIL)
    credit = contract.member_credit_path(community, EXAMPLE_EMAIL)
    return [
        token,
        f'curl -sf {headers} "$COMMUNITIES_API_URL{contract.LIST_COMMUNITIES}"',
        f'curl -sf {headers} -H "Content-Type: application/json" -d {shlex.quote(body)} '
        f'"$COMMUNITIES_API_URL{members}"',
        f'curl -sf {headers} "$COMMUNITIES_API_URL{credit}"',
        f'curl -sf -X DELETE {headers} "$COMMUNITIES_API_URL{member}"',
    ]
