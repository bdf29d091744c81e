"""Shared by the Add and Remove modals: validate and store in the ack, publish lazily.

The ack waits on no network call but Redis: the role comes from the group cache, the
communities from the modal itself (bot.slack.listeners.commands.request_forms)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.domain.approvals import AlreadyOpen
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role
from bot.slack.errors import reports_errors
from bot.slack.listeners.commands.request_forms import offered_communities
from bot.slack.users import MembershipUnknown

if TYPE_CHECKING:
    from bot.slack.services import Services

TRY_AGAIN = "Couldn't check your role with Slack just now; nothing was filed. Try again."
REOPEN = "This form is out of date. Close it and run the command again; nothing was filed."


def submit_request(
    ack: Ack,
    context: BoltContext,
    user_id: str,
    view: dict[str, Any],
    services: Services,
    file: Callable[[dict[str, str]], MemberRequest | dict[str, str]],
) -> None:
    """`file` validates and stores; it gets {community id: name} and returns the stored
    request or field errors. The request is stored BEFORE the ack, so a failure (Redis
    down: bot.slack.errors.handle_error answers in the modal) keeps what the user typed."""
    context["filed_request_id"] = None
    try:
        allowed = services.quick_roles.has(user_id, Role.HR)
    except MembershipUnknown:
        ack(response_action="errors", errors={"community_id": TRY_AGAIN})
        return
    if not allowed:
        ack(
            response_action="errors",
            errors={"community_id": "Only HR may file requests. Ask an admin for the role."},
        )
        return
    communities = offered_communities(view)
    if communities is None:
        ack(response_action="errors", errors={"community_id": REOPEN})
        return
    try:
        outcome = file(communities)
    except AlreadyOpen as exc:  # one open request per address: shown where it was typed
        ack(response_action="errors", errors={"email": str(exc)})
        return
    if isinstance(outcome, dict):
        ack(response_action="errors", errors=outcome)
        return
    context["filed_request_id"] = outcome.id  # for publish_filed_request, after the ack
    ack()


@reports_errors
def publish_filed_request(services: Services, filed_request_id: str | None) -> None:
    """Post the approval message and DM the requester, after the modal closed."""
    request = services.store.get(filed_request_id) if filed_request_id else None
    if request is not None:
        services.requests.publish_filed(request)
