"""Approve, Reject and Stop on an import's approval message: a manager's click, checked on
the server at the moment of the click against the stored import (bot.domain.bulk)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.access import TABLE, Action, Refusal
from bot.domain.bulk import ImportDecision, ImportEvent, ImportStatus
from bot.i18n import N_, t
from bot.slack.actors import actor_before_modal, actor_of, quick_actor_of
from bot.slack.blocks.imports import REASON, reject_modal
from bot.slack.blocks.modals import field_values
from bot.slack.blocks.replies import Reply, error_reply, refusal
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import tell_clicker
from bot.slack.listeners.events.app_home_opened import publish_home
from bot.slack.text import mentions, when
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services

EMAIL_UNKNOWN = N_(
    "Slack did not tell me your e-mail address just now, so I cannot check that this "
    "import's file does not name you. Nothing was changed; try again in a moment."
)

EMAIL_WAIT = 0.5  # seconds of the trigger's 3 that users.info may take before the modal

_APPROVED = N_("Import `{id}` was already approved by {who} at {when}.")
_DECIDED = {
    ImportStatus.APPROVED: _APPROVED,
    ImportStatus.EXECUTING: _APPROVED,
    ImportStatus.DONE: _APPROVED,
    ImportStatus.STOPPED: _APPROVED,
    ImportStatus.REJECTED: N_("Import `{id}` was already rejected by {who} at {when}."),
    ImportStatus.CANCELLED: N_("Import `{id}` was already cancelled by {who} at {when}."),
}


ACTION_WORDS = {
    Action.APPROVE: N_("approve imports"),
    Action.REJECT: N_("reject imports"),
    Action.STOP: N_("stop imports"),
    Action.CANCEL: N_("cancel imports they did not file"),
}


def refusal_reply(decision: ImportDecision) -> Reply:
    """The reply to a refused click: the role it needs, or why it did nothing."""
    if decision.reason is Refusal.ROLE and decision.action is not None:
        found = ACTION_WORDS.get(decision.action)
        words = t(found) if found is not None else decision.action.value
        return refusal(words, set(TABLE[decision.action].roles))
    return error_reply(explain(decision))


def explain(decision: ImportDecision) -> str:
    """Why a click on an import did nothing, in words."""
    request = decision.request
    if decision.reason is Refusal.MISSING or request is None:
        return t("That import no longer exists.")
    if decision.reason is Refusal.ROLE and decision.action is not None:
        return str(refusal_reply(decision)["text"]).removeprefix(":no_entry: ")
    if decision.reason is Refusal.CHANGER:
        return t("You stopped this import, so someone else has to decide on it.")
    if decision.reason is Refusal.OWN:
        return t("You filed this import, so someone else has to decide on it.")
    if decision.reason is Refusal.EMPLOYEE:
        return t("This import's file names you, so someone else has to decide on it.")
    if decision.reason is Refusal.EMAIL_UNKNOWN:
        return t(EMAIL_UNKNOWN)
    if decision.reason is Refusal.DUPLICATE:
        return t("You already approved this import; it needs another manager.")
    if decision.reason is Refusal.STAND_IN:
        return t(
            "The approver you stand in for filed, stopped or approved this import, so "
            "someone else has to decide on it."
        )
    if request.status is ImportStatus.PENDING and decision.action is Action.CANCEL:
        return t("Import `{id}` is still waiting for approval: reject it instead.", id=request.id)
    if request.status is ImportStatus.PENDING:
        return t("Import `{id}` is still waiting for approval.", id=request.id)
    if request.status is ImportStatus.EXPIRED:
        return t("Import `{id}` expired at {when}.", id=request.id, when=when(request.decided_at))
    if request.status is ImportStatus.STOPPED:
        return t(
            "Import `{id}` was already stopped at {when}.",
            id=request.id,
            when=when(request.stopped_at),
        )
    if request.status is ImportStatus.DONE:
        return t("Import `{id}` is already finished.", id=request.id)
    who, at = mentions(request.decided_by), when(request.decided_at)
    sentence = _DECIDED.get(request.status)
    if sentence is None:  # a status without words of its own
        return t(
            "Import `{id}` was already {status} by {who} at {when}.",
            id=request.id,
            status=request.status.value,
            who=who,
            when=at,
        )
    return t(sentence, id=request.id, who=who, when=at)


@reports_errors
def handle_import_approve(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    if services.imports is None:
        return
    # An e-mail Slack would not give is "" and the domain refuses the click (fail closed).
    actor = actor_of(services, body["user"]["id"])
    decision = services.imports.service.approve(action["value"], actor)
    if not decision.ok:
        tell_clicker(body, respond, client, refusal_reply(decision))


@reports_errors
def handle_import_stop(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    if services.imports is None:
        return
    actor = actor_of(services, body["user"]["id"])
    decision = services.imports.service.stop(action["value"], actor)
    if not decision.ok:
        tell_clicker(body, respond, client, refusal_reply(decision))


@reports_errors
def handle_import_cancel(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    """The requester withdraws a pending import (from App Home or /community pending)."""
    if services.imports is None:
        return
    actor = actor_of(services, body["user"]["id"])
    decision = services.imports.service.cancel(action["value"], actor)
    if not decision.ok:
        tell_clicker(body, respond, client, refusal_reply(decision))
    elif respond is not None and getattr(respond, "response_url", None):
        respond(
            {
                "response_type": "ephemeral",
                "replace_original": False,
                "text": t("You cancelled import `{id}`.", id=action["value"]),
            }
        )
    if body.get("view", {}).get("type") == "home":
        publish_home(client, services, actor.user_id)


@reports_errors
def handle_import_reject(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    """Ask for a reason in a modal; the submission checks every rule again."""
    imports = services.imports
    if imports is None:
        return
    actor = actor_before_modal(services, body["user"]["id"], EMAIL_WAIT)
    checked = imports.service.check(Action.REJECT, action["value"], actor)
    request = checked.request
    open_to_decide = checked.ok or checked.reason is Refusal.EMAIL_UNKNOWN  # submission asks
    if open_to_decide and (request is None or request.status is not ImportStatus.PENDING):
        checked = ImportDecision(False, request, Refusal.CONFLICT)
    if not checked.ok and checked.reason is not Refusal.EMAIL_UNKNOWN:
        tell_clicker(body, respond, client, refusal_reply(checked))
        return
    assert request is not None
    client.views_open(
        trigger_id=body["trigger_id"], view=reject_modal(request, services.environment)
    )


def handle_import_reject_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Decided in the ack, so a refusal shows in the modal; the telling is lazy."""
    user_id = body["user"]["id"]
    context["rejected_import_id"], context["email_wanted"] = None, False
    imports = services.imports
    reason = (field_values(view).get(REASON) or "").strip()
    if imports is None:
        ack(response_action="errors", errors={REASON: t("Imports are not set up here.")})
        return
    try:
        actor = quick_actor_of(services, user_id)
    except MembershipUnknown:
        ack(response_action="errors", errors={REASON: t("Couldn't check your role; try again.")})
        return
    if not reason:
        ack(response_action="errors", errors={REASON: t("Say why, for the requester.")})
        return
    import_id = json.loads(view.get("private_metadata") or "{}").get("import_id", "")
    decision = imports.service.reject(import_id, actor, reason[:1000], announce=False)
    if not decision.ok:
        context["email_wanted"] = decision.reason is Refusal.EMAIL_UNKNOWN
        ack(response_action="errors", errors={REASON: explain(decision)})
        return
    context["rejected_import_id"] = import_id
    ack()


@reports_errors
def announce_import_rejection(
    body: dict[str, Any], services: Services, rejected_import_id: str | None, email_wanted: bool
) -> None:
    if email_wanted:  # the ack found no cached address: fetch it for the next try
        services.users.email_of(body["user"]["id"])
    if rejected_import_id and services.imports is not None:
        services.imports.service.tell(rejected_import_id, ImportEvent.REJECTED)
