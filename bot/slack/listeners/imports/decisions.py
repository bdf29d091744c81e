"""Approve, Reject and Stop on an import's approval message: a manager's click, checked on
the server at the moment of the click against the stored import (bot.domain.bulk)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.approvals import Refusal
from bot.domain.bulk import ImportDecision, ImportEvent, ImportStatus
from bot.domain.roles import Role
from bot.slack.blocks.imports import REASON, reject_modal
from bot.slack.blocks.modals import field_values
from bot.slack.blocks.replies import error_reply, refusal
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import tell_clicker
from bot.slack.text import mentions, when
from bot.slack.users import UNKNOWN, MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services

EMAIL_UNKNOWN = (
    "Slack did not tell me your e-mail address just now, so I cannot check that this "
    "import's file does not name you. Nothing was changed; try again in a moment."
)

_DECIDED = {
    ImportStatus.APPROVED: "approved",
    ImportStatus.EXECUTING: "approved",
    ImportStatus.DONE: "approved",
    ImportStatus.STOPPED: "approved",
    ImportStatus.REJECTED: "rejected",
    ImportStatus.EXPIRED: "expired",
}


def explain(decision: ImportDecision) -> str:
    """Why a click on an import did nothing, in words."""
    request = decision.request
    if decision.reason is Refusal.MISSING or request is None:
        return "That import no longer exists."
    if decision.reason is Refusal.OWN:
        return "You filed this import, so someone else has to decide on it."
    if decision.reason is Refusal.EMPLOYEE:
        return "This import's file names you, so someone else has to decide on it."
    if decision.reason is Refusal.EMAIL_UNKNOWN:
        return EMAIL_UNKNOWN
    if decision.reason is Refusal.DUPLICATE:
        return "You already approved this import; it needs another manager."
    if request.status is ImportStatus.PENDING:
        return f"Import `{request.id}` is still waiting for approval."
    if request.status is ImportStatus.EXPIRED:
        return f"Import `{request.id}` expired at {when(request.decided_at)}."
    if request.status is ImportStatus.STOPPED:
        return f"Import `{request.id}` was already stopped at {when(request.stopped_at)}."
    if request.status is ImportStatus.DONE:
        return f"Import `{request.id}` is already finished."
    word = _DECIDED.get(request.status, request.status.value)
    return (
        f"Import `{request.id}` was already {word} by {mentions(request.decided_by)} "
        f"at {when(request.decided_at)}."
    )


@reports_errors
def handle_import_approve(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    user_id = body["user"]["id"]
    if services.imports is None:
        return
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("approve imports", {Role.MANAGER}))
        return
    # An e-mail Slack would not give is "" and the domain refuses the click (fail closed).
    email = services.users.email_of(user_id)
    decision = services.imports.service.approve(action["value"], user_id, email)
    if not decision.ok:
        tell_clicker(body, respond, client, error_reply(explain(decision)))


@reports_errors
def handle_import_stop(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    user_id = body["user"]["id"]
    if services.imports is None:
        return
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("stop imports", {Role.MANAGER}))
        return
    decision = services.imports.service.stop(action["value"], user_id)
    if not decision.ok:
        tell_clicker(body, respond, client, error_reply(explain(decision)))


@reports_errors
def handle_import_reject(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
    services: Services,
) -> None:  # fmt: skip
    """Ask for a reason in a modal; the submission checks every rule again."""
    user_id = body["user"]["id"]
    imports = services.imports
    if imports is None:
        return
    if not services.roles.has(user_id, Role.MANAGER):
        tell_clicker(body, respond, client, refusal("reject imports", {Role.MANAGER}))
        return
    request = imports.store.get(action["value"])
    if request is None or request.status is not ImportStatus.PENDING:
        refused = ImportDecision(False, request, Refusal.CONFLICT)
        tell_clicker(body, respond, client, error_reply(explain(refused)))
        return
    email = services.users.cached_email_of(user_id)
    reason = imports.service.decider_refusal(request, user_id, email)
    if reason not in (Refusal.NONE, Refusal.EMAIL_UNKNOWN):
        tell_clicker(
            body, respond, client, error_reply(explain(ImportDecision(False, request, reason)))
        )
        return
    client.views_open(
        trigger_id=body["trigger_id"], view=reject_modal(request, services.environment)
    )
    if email == UNKNOWN:
        services.users.email_of(user_id)  # for the submission, which reads the cache only


def handle_import_reject_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Decided in the ack, so a refusal shows in the modal; the telling is lazy."""
    user_id = body["user"]["id"]
    context["rejected_import_id"], context["email_wanted"] = None, False
    imports = services.imports
    reason = (field_values(view).get(REASON) or "").strip()
    if imports is None:
        ack(response_action="errors", errors={REASON: "Imports are not set up here."})
        return
    try:
        allowed = services.quick_roles.has(user_id, Role.MANAGER)
    except MembershipUnknown:
        ack(response_action="errors", errors={REASON: "Couldn't check your role; try again."})
        return
    if not allowed:
        ack(response_action="errors", errors={REASON: "Only managers may reject imports."})
        return
    if not reason:
        ack(response_action="errors", errors={REASON: "Say why, for the requester."})
        return
    import_id = json.loads(view.get("private_metadata") or "{}").get("import_id", "")
    decision = imports.service.reject(
        import_id, user_id, services.users.cached_email_of(user_id), reason[:1000], announce=False
    )
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
