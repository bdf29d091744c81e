"""Shared by the Add and Remove modals: validate and store in the ack, publish lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt import Ack, BoltContext

from bot.communities.errors import CommunitiesError
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role
from bot.slack.errors import reports_errors
from bot.slack.text import escape

if TYPE_CHECKING:
    from bot.slack.services import Services


def submit_request(
    ack: Ack,
    context: BoltContext,
    user_id: str,
    services: Services,
    file: Callable[[dict[str, str]], MemberRequest | dict[str, str]],
) -> None:
    """`file` validates and stores; it gets {community id: name} and returns the stored
    request or field errors. The request is stored BEFORE the ack, so a failure (Redis
    down: bot.slack.errors.handle_error answers in the modal) keeps what the user typed."""
    if not services.roles.has(user_id, Role.HR):
        ack(
            response_action="errors",
            errors={"community_id": "Only HR may file requests. Ask an admin for the role."},
        )
        return
    try:
        listed = services.api.list_communities().communities
        outcome = file({c.id: c.name for c in listed})
    except CommunitiesError as exc:
        ack(response_action="errors", errors={"community_id": escape(exc.message)})
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
