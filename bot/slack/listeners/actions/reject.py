"""Reject: ask for a reason in a modal (submitted in views/reject_reason).

Nothing slow comes before views.open (the trigger lasts 3 s): the role and the request come
from caches, and the e-mail address (users.info) is waited for EMAIL_WAIT seconds at most
(bot.slack.actors.actor_before_modal). The submission asks bot.domain.access again
(bot.domain.approvals.RequestService.reject)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.access import Action, Refusal
from bot.domain.approvals import Decision
from bot.domain.requests import Status
from bot.slack.actors import actor_before_modal
from bot.slack.blocks.modals import reject_modal
from bot.slack.blocks.requests import summary
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import refusal_reply, tell_clicker

if TYPE_CHECKING:
    from bot.slack.services import Services

EMAIL_WAIT = 0.5  # seconds of the trigger's 3 that users.info may take before the modal


@reports_errors
def handle_reject(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    actor = actor_before_modal(services, body["user"]["id"], EMAIL_WAIT)
    checked = services.requests.check(Action.REJECT, action["value"], actor)
    request = checked.request
    open_to_decide = checked.ok or checked.reason is Refusal.EMAIL_UNKNOWN  # submission asks
    if open_to_decide and (request is None or request.status is not Status.PENDING):
        checked = Decision(False, request, Refusal.CONFLICT)
    if not checked.ok and checked.reason is not Refusal.EMAIL_UNKNOWN:
        tell_clicker(body, respond, client, refusal_reply(checked))
        return
    assert request is not None
    origin = {"home": "1"} if body.get("view", {}).get("type") == "home" else {}
    client.views_open(
        trigger_id=body["trigger_id"],
        view=reject_modal(request.id, summary(request), services.environment, origin),
    )
