"""Reject: ask the manager for a reason in a modal (submitted in views/reject_reason).

Nothing slow comes before views.open (the trigger lasts 3 s): the role and the request come
from caches, and the manager's e-mail address (users.info) is waited for EMAIL_WAIT seconds
at most; a slower Slack gets the modal first while the look-up goes on, so the submission,
which reads the address from the cache only, finds it there. The submission checks every
rule again (bot.domain.approvals.RequestService.reject)."""

from __future__ import annotations

from concurrent.futures import TimeoutError
from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.approvals import Decision, Refusal, decider_refusal
from bot.domain.requests import Status
from bot.domain.roles import Role
from bot.slack.blocks.modals import reject_modal
from bot.slack.blocks.replies import error_reply, refusal
from bot.slack.blocks.requests import summary
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal, tell_clicker
from bot.slack.users import UNKNOWN

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
    user_id = body["user"]["id"]
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("reject requests", {Role.MANAGER}))
        return
    request = services.store.get(action["value"])
    if request is None or request.status is not Status.PENDING:
        refused = Decision(False, request, Refusal.CONFLICT)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    looked_up = services.refresher.submit(services.users.email_of, user_id)
    try:
        email = looked_up.result(timeout=EMAIL_WAIT)
    except TimeoutError:
        email = UNKNOWN  # the submission decides, once the look-up has filled the cache
    reason = decider_refusal(request, user_id, email)
    if reason not in (Refusal.NONE, Refusal.EMAIL_UNKNOWN):
        refused = Decision(False, request, reason)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    origin = {"home": "1"} if body.get("view", {}).get("type") == "home" else {}
    client.views_open(
        trigger_id=body["trigger_id"],
        view=reject_modal(request.id, summary(request), services.environment, origin),
    )
