"""The Change date modal was submitted: the date is checked in the ack (an error shows on
the field), the change is made there too, people are told after it."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.domain.access import Actor
from bot.domain.notifier import Event
from bot.i18n import t
from bot.slack.actors import quick_actor_of
from bot.slack.blocks.modals import field_values
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services


def handle_change_date_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    user_id = body["user"]["id"]
    context["changed_request_id"] = None
    request_id = json.loads(view.get("private_metadata") or "{}").get("request_id", "")
    request = services.store.get(request_id)
    text = field_values(view).get("day") or ""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        ack(response_action="errors", errors={"day": t("Choose a date from the calendar.")})
        return
    if request is None:
        ack(response_action="errors", errors={"day": t("That request no longer exists.")})
        return
    problem = services.policy.schedule.problem(request.operation, day, services.clock.now())
    if problem:
        ack(response_action="errors", errors={"day": problem})
        return
    try:
        actor = quick_actor_of(services, user_id)
    except MembershipUnknown:  # not cached: the requester still may, a manager retries
        actor = Actor(user_id, services.users.cached_email_of(user_id), frozenset())
    decision = services.requests.change_date(request_id, actor, day, announce=False)
    if not decision.ok:
        ack(response_action="errors", errors={"day": explain_refusal(decision)})
        return
    context["changed_request_id"] = request_id
    ack()


@reports_errors
def announce_date_change(services: Services, changed_request_id: str | None) -> None:
    if changed_request_id is not None:
        services.requests.announce(changed_request_id, Event.DATE_CHANGED)
