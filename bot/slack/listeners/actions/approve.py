"""Approve: a manager's click, checked on the server at the moment of the click."""

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
def handle_approve(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    user_id = body["user"]["id"]
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("approve requests", {Role.MANAGER}))
        return
    # An e-mail Slack would not give is "" and the domain refuses the click (fail closed).
    email = services.users.email_of(user_id)
    decision = services.requests.approve(action["value"], user_id, email)
    after_click(decision, body, respond, client, services, f"You approved `{action['value']}`.")
