"""Change date: the requester or a manager opens a small modal to move a scheduled change
(submitted in views/change_date)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.approvals import Decision, Refusal
from bot.domain.requests import Operation, Status
from bot.domain.roles import Role
from bot.slack.blocks.modals import change_date_modal
from bot.slack.blocks.replies import error_reply
from bot.slack.blocks.requests import summary
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal, tell_clicker

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_change_date(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    user_id = body["user"]["id"]
    request = services.store.get(action["value"])
    if request is None or request.status is not Status.SCHEDULED:
        refused = Decision(False, request, Refusal.CONFLICT)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    if user_id != request.requester_id and not services.roles.has(user_id, Role.MANAGER):
        refused = Decision(False, request, Refusal.NOT_REQUESTER)
        tell_clicker(body, respond, client, error_reply(explain_refusal(refused)))
        return
    label = "Credit available from" if request.operation is Operation.ADD else "Last working day"
    current = services.policy.schedule.local(request.due_at).date()
    client.views_open(
        trigger_id=body["trigger_id"],
        view=change_date_modal(request.id, summary(request), label, current, services.environment),
    )
