"""Shared by the Add and Remove modals: validate and store in the ack, publish lazily.

The ack waits on no network call but Redis: the role comes from the group cache, the
communities from the modal itself (bot.slack.listeners.commands.request_forms), the filer's
e-mail address (a request about themself is refused, bot.domain.access) from the cache the
command filled when it opened the modal; only when that is gone is Slack asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.domain.access import Actor, Refusal
from bot.domain.approvals import AlreadyOpen, Refused
from bot.domain.requests import MemberRequest
from bot.i18n import N_, t
from bot.slack.errors import reports_errors
from bot.slack.listeners.commands.request_forms import offered_communities
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services

TRY_AGAIN = N_("Couldn't check your role with Slack just now; nothing was filed. Try again.")
EMAIL_UNKNOWN = N_(
    "Slack did not tell me your e-mail address just now, so I cannot check that this request "
    "is not about you. Nothing was filed; try again in a moment."
)
REOPEN = N_("This form is out of date. Close it and run the command again; nothing was filed.")


def submit_request(
    ack: Ack,
    context: BoltContext,
    user_id: str,
    view: dict[str, Any],
    services: Services,
    file: Callable[[dict[str, str], Actor], MemberRequest | dict[str, str]],
) -> None:
    """`file` validates and stores; it gets {community id: name} and returns the stored
    request or field errors. The request is stored BEFORE the ack, so a failure (Redis
    down: bot.slack.errors.handle_error answers in the modal) keeps what the user typed."""
    context["filed_request_id"] = None
    try:
        roles = services.quick_roles.roles_of(user_id)
    except MembershipUnknown:
        ack(response_action="errors", errors={"community_id": t(TRY_AGAIN)})
        return
    email = services.users.email_of(user_id)  # the cache first, Slack only when it has none
    actor = Actor(user_id, email, roles)
    communities = offered_communities(view)
    if communities is None:
        ack(response_action="errors", errors={"community_id": t(REOPEN)})
        return
    try:
        outcome = file(communities, actor)
    except AlreadyOpen as exc:  # one open request per address: shown where it was typed
        ack(response_action="errors", errors={"email": str(exc)})
        return
    except Refused as exc:
        ack(response_action="errors", errors=_refused(exc.verdict.reason))
        return
    if isinstance(outcome, dict):
        ack(response_action="errors", errors=outcome)
        return
    context["filed_request_id"] = outcome.id  # for publish_filed_request, after the ack
    ack()


def _refused(reason: Refusal) -> dict[str, str]:
    """A filing bot.domain.access refused, on the field it concerns."""
    if reason is Refusal.EMPLOYEE:
        return {
            "email": t("This is your own address; someone else has to file a request about you.")
        }
    if reason is Refusal.EMAIL_UNKNOWN:
        return {"email": t(EMAIL_UNKNOWN)}
    return {"community_id": t("Only HR may file requests. Ask an admin for the role.")}


@reports_errors
def publish_filed_request(services: Services, filed_request_id: str | None) -> None:
    """Post the approval message and DM the requester, after the modal closed."""
    request = services.store.get(filed_request_id) if filed_request_id else None
    if request is not None:
        services.requests.publish_filed(request)
