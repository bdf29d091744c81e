"""The Reject modal was submitted: the role is checked again, at this moment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.domain.roles import Role
from bot.slack.blocks.modals import field_values
from bot.slack.listeners.actions.feedback import explain_refusal
from bot.slack.listeners.events.app_home_opened import publish_home

if TYPE_CHECKING:
    from bot.runtime.services import Services


def handle_reject_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                             client: WebClient, services: Services) -> None:
    user_id = body["user"]["id"]
    metadata = json.loads(view.get("private_metadata") or "{}")
    reason = (field_values(view).get("reason") or "").strip()
    if not services.roles.has(user_id, Role.MANAGER):
        ack(response_action="errors", errors={"reason": "Only managers may reject requests."})
        return
    if not reason:
        ack(response_action="errors", errors={"reason": "Say why, for the requester."})
        return
    decision = services.requests.reject(metadata.get("request_id", ""), user_id, reason[:1000])
    if not decision.ok:
        ack(response_action="errors", errors={"reason": explain_refusal(decision)})
        return
    ack()
    if metadata.get("home"):
        publish_home(client, services, user_id)
