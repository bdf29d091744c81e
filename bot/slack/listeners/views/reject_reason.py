"""The Reject modal was submitted: the role and the rules are checked again, at this
moment; the decision is made in the ack (so a refusal shows in the modal), the telling is
lazy. The ack asks Slack nothing: the role and the manager's e-mail address come from the
caches (filled when the Reject button was clicked); what is not cached is refused with
"try again" and fetched after the ack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.domain.access import Refusal
from bot.domain.notifier import Event
from bot.i18n import N_, t
from bot.slack.actors import quick_actor_of
from bot.slack.blocks.modals import field_values
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import explain_refusal
from bot.slack.listeners.events.app_home_opened import publish_home
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services

ROLE_UNKNOWN = N_("Couldn't check your role with Slack just now; nothing was changed. Try again.")


def handle_reject_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    user_id = body["user"]["id"]
    context["rejected_request_id"], context["email_wanted"] = None, False
    metadata = json.loads(view.get("private_metadata") or "{}")
    reason = (field_values(view).get("reason") or "").strip()
    try:
        actor = quick_actor_of(services, user_id)
    except MembershipUnknown:
        ack(response_action="errors", errors={"reason": t(ROLE_UNKNOWN)})
        return
    if not reason:
        ack(response_action="errors", errors={"reason": t("Say why, for the requester.")})
        return
    decision = services.requests.reject(
        metadata.get("request_id", ""), actor, reason[:1000], announce=False
    )
    if not decision.ok:
        context["email_wanted"] = decision.reason is Refusal.EMAIL_UNKNOWN
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
    email_wanted: bool | None,
) -> None:
    if email_wanted:  # the ack found no cached address: fetch it for the next try
        services.users.email_of(body["user"]["id"])
    if rejected_request_id is None:
        return
    services.requests.announce(rejected_request_id, Event.REJECTED)
    if json.loads(view.get("private_metadata") or "{}").get("home"):
        publish_home(client, services, body["user"]["id"])
