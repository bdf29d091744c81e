"""Retry a failed request (managers; never the requester nor the employee). The worker
checks before it creates again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.roles import Role
from bot.slack.blocks.replies import refusal
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import after_click, tell_clicker

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_retry(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    user_id = body["user"]["id"]
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("retry requests", {Role.MANAGER}))
        return
    email = services.users.email_of(user_id)  # "" when unknown: refused (fail closed)
    decision = services.requests.retry(action["value"], user_id, email)
    after_click(decision, body, respond, client, services, f"Retrying `{action['value']}`.")
