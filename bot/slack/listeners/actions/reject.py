"""Reject: ask the manager for a reason in a modal (submitted in views/reject_reason)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.approvals import Decision, Refusal
from bot.domain.requests import Status
from bot.domain.roles import Role
from bot.slack.blocks.modals import reject_modal
from bot.slack.blocks.replies import error_reply, refusal
from bot.slack.blocks.requests import summary
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal, tell_clicker

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_reject(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    user_id = body["user"]["id"]
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("reject requests", {Role.MANAGER}))
        return
    request = services.store.get(action["value"])
    if request is None or request.status is not Status.PENDING:
        refused = Decision(False, request, Refusal.CONFLICT)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    if request.requester_id == user_id:
        refused = Decision(False, request, Refusal.OWN)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    origin = {"home": "1"} if body.get("view", {}).get("type") == "home" else {}
    client.views_open(
        trigger_id=body["trigger_id"],
        view=reject_modal(request.id, summary(request), services.environment, origin),
    )
