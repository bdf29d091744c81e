"""Change date: opens a small modal to move a scheduled change (submitted in
views/change_date), for whoever bot.domain.access lets change it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.access import Action, Refusal
from bot.domain.approvals import Decision
from bot.domain.requests import Operation, Status
from bot.i18n import t
from bot.slack.actors import actor_before_modal
from bot.slack.blocks.modals import change_date_modal
from bot.slack.blocks.requests import summary
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import refusal_reply, tell_clicker

if TYPE_CHECKING:
    from bot.slack.services import Services

EMAIL_WAIT = 0.5  # seconds of the trigger's 3 that users.info may take before the modal


@reports_errors
def handle_change_date(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    actor = actor_before_modal(services, body["user"]["id"], EMAIL_WAIT)
    checked = services.requests.check(Action.CHANGE_DATE, action["value"], actor)
    request = checked.request
    if request is None or request.status is not Status.SCHEDULED:
        checked = Decision(False, request, Refusal.CONFLICT)
    if not checked.ok and checked.reason is not Refusal.EMAIL_UNKNOWN:
        tell_clicker(body, respond, client, refusal_reply(checked))
        return
    assert request is not None
    label = (
        t("Credit available from") if request.operation is Operation.ADD else t("Last working day")
    )
    current = services.policy.schedule.local(request.due_at).date()
    client.views_open(
        trigger_id=body["trigger_id"],
        view=change_date_modal(request.id, summary(request), label, current, services.environment),
    )
