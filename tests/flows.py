"""Steps people take in Slack, driven over signed HTTP against a LocalStack."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.domain.requests import MemberRequest, Status
from bot.local.stack import APPROVALS_CHANNEL, LocalStack
from bot.local.waiting import wait_until
from bot.slack_standin import Message

T = TypeVar("T")

JANE = {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com", "credit": "750.00"}


def eventually(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    """Poll until truthy; for state outside the stand-in (Redis, the sandbox)."""
    return wait_until(predicate, timeout=timeout, what=what or str(predicate))


def open_modal(stack: LocalStack, user: str, text: str) -> dict[str, Any]:
    before = stack.standin.open_view(user)
    result = stack.driver.command(user, text)
    assert result.status_code == 200
    return stack.standin.wait_for(
        lambda: (view := stack.standin.open_view(user)) is not None and view != before and view,
        description=f"modal for {text!r}",
    )


def file_request(
    stack: LocalStack, user: str, values: dict[str, str], subcommand: str = "add"
) -> MemberRequest:
    """Open the modal, submit it, and return the stored request."""
    known = set(stack.services.store.recent_ids(500))
    view = open_modal(stack, user, subcommand)
    result = stack.driver.fill_and_submit(user, view["id"], values)
    assert result.errors is None, result.errors
    new = eventually(
        lambda: set(stack.services.store.recent_ids(500)) - known, what="request stored"
    )
    (request_id,) = new
    request = eventually(
        lambda: (r := stack.services.store.get(request_id)) and r.message_ts and r,
        what="approval message posted",
    )
    return request


def approval_message(stack: LocalStack, request: MemberRequest) -> Message:
    message = stack.standin.message(APPROVALS_CHANNEL, request.message_ts)
    assert message is not None
    return message


def click(stack: LocalStack, user: str, label: str, request: MemberRequest):
    return stack.driver.click(user, label, channel=APPROVALS_CHANNEL, ts=request.message_ts)


def wait_status(
    stack: LocalStack, request_id: str, *statuses: Status, timeout: float = 10.0
) -> MemberRequest:
    return eventually(
        lambda: (r := stack.services.store.get(request_id)) and r.status in statuses and r,
        timeout,
        f"{request_id} in {statuses}",
    )


def ephemeral_after(stack: LocalStack, user: str, count_before: int) -> str:
    shown = stack.standin.wait_for(
        lambda: len(e := stack.standin.ephemerals(user)) > count_before and e,
        description=f"new ephemeral for {user}",
    )
    return " ".join(e["text"] + " " + str(e.get("blocks") or "") for e in shown[count_before:])


def click_as_shown(
    stack: LocalStack, user: str, shown: dict[str, Any], label: str = "Approve"
) -> Any:
    """Click a button on a copy of a message as a client showed it earlier (a stale screen,
    or many people clicking at once), whatever the message looks like now."""
    return stack.driver.click_as_shown(user, label, APPROVALS_CHANNEL, shown)


def worker_process(stack, tmp_path: Path, **env_overrides: str) -> subprocess.Popen[bytes]:
    """`python -m bot worker` as its own OS process, against the stack's Redis, sandbox
    and Slack stand-in."""
    settings, sandbox = stack.settings, stack.sandbox
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
        "SLACK_API_URL": settings.slack_api_url,
        "APPROVALS_CHANNEL": "C0APPROVALS",
        "REDIS_URL": settings.redis_url.get_secret_value(),
        "COMMUNITIES_ENVIRONMENT": "acceptance",
        "COMMUNITIES_API_URL": sandbox.base_url,
        "COMMUNITIES_TOKEN_URL": sandbox.token_url,
        "COMMUNITIES_CLIENT_ID": "sandbox-client",
        "COMMUNITIES_CLIENT_SECRET": "sandbox-secret",
        "COMMUNITIES_COMPANY": "Acme",
        "WORKER_CLAIM_IDLE_SECONDS": "1",
        **env_overrides,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def health_parts(report: dict[str, object]) -> dict[str, object]:
    """A /healthz report without where Redis is (checked here: standalone, on loopback)."""
    parts = dict(report)
    assert parts.pop("redis_mode") == "standalone"
    assert str(parts.pop("redis_primary")).startswith("127.0.0.1:")
    return parts
