"""What a clicker is told, and refreshing the surface a click came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.domain.access import TABLE, Action, Refusal
from bot.domain.approvals import Decision
from bot.domain.requests import Status
from bot.i18n import N_, t
from bot.slack.blocks.replies import Reply, error_reply, refusal
from bot.slack.listeners.events.app_home_opened import publish_home
from bot.slack.text import escape, mentions, when

if TYPE_CHECKING:
    from bot.slack.services import Services

EMAIL_UNKNOWN = N_(
    "Slack did not tell me your e-mail address just now, so I cannot check that this "
    "request is not about you. Nothing was changed; try again in a moment."
)

# The action in words, for "Only managers and admins can <words>."
ACTION_WORDS = {
    Action.FILE: N_("file requests"),
    Action.APPROVE: N_("approve requests"),
    Action.REJECT: N_("reject requests"),
    Action.RETRY: N_("retry requests"),
    Action.CANCEL: N_("cancel requests they did not file"),
    Action.CHANGE_DATE: N_("change the date of requests they did not file"),
    Action.STOP: N_("stop imports"),
}

_APPROVED = N_("Request `{id}` was already approved by {who} at {when}.")
_ALREADY = {
    Status.APPROVED: _APPROVED,
    Status.EXECUTING: _APPROVED,
    Status.DONE: _APPROVED,
    Status.FAILED: _APPROVED,
    Status.REJECTED: N_("Request `{id}` was already rejected by {who} at {when}."),
    Status.CANCELLED: N_("Request `{id}` was already cancelled by {who} at {when}."),
    Status.SCHEDULED: N_("Request `{id}` was already scheduled by {who} at {when}."),
}


def refusal_reply(decision: Decision) -> Reply:
    """The reply to a refused click: the role it needs, or why it did nothing."""
    if decision.reason is Refusal.ROLE and decision.action is not None:
        return refusal(t(ACTION_WORDS[decision.action]), set(TABLE[decision.action].roles))
    return error_reply(explain_refusal(decision))


def explain_refusal(decision: Decision) -> str:
    """Why a click did nothing, in words, naming who decided."""
    request = decision.request
    if decision.reason is Refusal.MISSING or request is None:
        return t("That request no longer exists.")
    if decision.reason is Refusal.ROLE and decision.action is not None:
        return str(refusal_reply(decision)["text"]).removeprefix(":no_entry: ")
    if decision.reason is Refusal.CHANGER:
        return t("You changed this request last, so someone else has to decide on it.")
    if decision.reason is Refusal.OWN:
        return t("You filed this request, so someone else has to decide on it.")
    if decision.reason is Refusal.EMPLOYEE:
        return t("This request is about you, so someone else has to decide on it.")
    if decision.reason is Refusal.EMAIL_UNKNOWN:
        return t(EMAIL_UNKNOWN)
    if decision.reason is Refusal.DUPLICATE:
        return t("You already approved this request; it needs another manager.")
    if decision.reason is Refusal.STAND_IN:
        return t(
            "The approver you stand in for filed, changed or approved this request, so "
            "someone else has to decide on it."
        )
    if decision.reason is Refusal.NOT_A_MEMBER:
        return t(
            "{email} is not a member of {community} "
            "(Coolblue, just now): there is no credit to revoke, so this offboarding cannot "
            "succeed. Nothing was changed: reject it, or approve it once they have joined.",
            email=escape(request.email),
            community=escape(request.community_name),
        )
    if request.status is Status.EXPIRED:
        return t("Request `{id}` expired at {when}.", id=request.id, when=when(request.decided_at))
    if request.status is Status.PENDING:
        return t("Request `{id}` is still waiting for approval.", id=request.id)
    who, at = mentions(request.decided_by), when(request.decided_at)
    sentence = _ALREADY.get(request.status)
    if sentence is None:  # a status without words of its own
        return t(
            "Request `{id}` was already {status} by {who} at {when}.",
            id=request.id,
            status=request.status.value,
            who=who,
            when=at,
        )
    return t(sentence, id=request.id, who=who, when=at)


def after_click(
    decision: Decision,
    body: dict[str, Any],
    respond: Respond | None,
    client: WebClient,
    services: Services,
    done_text: str,
) -> None:
    """Tell the clicker what happened where they clicked. The approval message itself was
    already updated in place by the notifier."""
    user_id = body["user"]["id"]
    in_home = body.get("view", {}).get("type") == "home"
    if not decision.ok:
        tell_clicker(body, respond, client, refusal_reply(decision))
    elif _is_ephemeral(body) and respond is not None:
        respond({"response_type": "ephemeral", "replace_original": False, "text": done_text})
    if in_home:
        publish_home(client, services, user_id)


def tell_clicker(
    body: dict[str, Any], respond: Respond | None, client: WebClient, reply: dict[str, Any]
) -> None:
    """An only-you-can-see-this reply where the click happened."""
    if respond is not None and getattr(respond, "response_url", None):
        respond(reply)
    else:  # clicks in App Home and modals come without a response_url
        user_id = body["user"]["id"]
        client.chat_postEphemeral(channel=user_id, user=user_id, text=reply["text"])


def _is_ephemeral(body: dict[str, Any]) -> bool:
    return bool(body.get("container", {}).get("is_ephemeral"))
