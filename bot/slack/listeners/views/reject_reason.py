"""The Reject modal was submitted: the role is checked again, at this moment; the
decision is made in the ack (so a refusal shows in the modal), the telling is lazy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.domain.notifier import Event
from bot.domain.roles import Role
from bot.slack.blocks.modals import field_values
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal
from bot.slack.listeners.events.app_home_opened import publish_home

if TYPE_CHECKING:
    from bot.slack.services import Services


def handle_reject_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    user_id = body["user"]["id"]
    metadata = json.loads(view.get("private_metadata") or "{}")
    reason = (field_values(view).get("reason") or "").strip()
    if not services.roles.has(user_id, Role.MANAGER):
        ack(response_action="errors", errors={"reason": "Only managers may reject requests."})
        return
    if not reason:
        ack(response_action="errors", errors={"reason": "Say why, for the requester."})
        return
    decision = services.requests.reject(
        metadata.get("request_id", ""), user_id, reason[:1000], announce=False
    )
    if not decision.ok:
        ack(response_action="errors", errors={"reason": explain_refusal(decision)})
        return
    context["rejected_request_id"] = decision.request.id if decision.request else None
    ack()


@reports_errors
def announce_rejection(
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    services: Services,
    rejected_request_id: str | None,
) -> None:
    if rejected_request_id is None:
        return
    services.requests.announce(rejected_request_id, Event.REJECTED)
    if json.loads(view.get("private_metadata") or "{}").get("home"):
        publish_home(client, services, body["user"]["id"])
