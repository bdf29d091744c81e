"""Shared by the Add and Remove modals: validate, store, then acknowledge."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt import Ack

from bot.communities.errors import CommunitiesError
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role
from bot.slack.text import escape

if TYPE_CHECKING:
    from bot.runtime.services import Services

log = logging.getLogger("bot.slack")


def submit_request(ack: Ack, user_id: str, services: Services,
                   file: Callable[[dict[str, str]], MemberRequest | dict[str, str]]) -> None:
    """`file` validates and stores; it gets {community id: name} and returns the stored
    request or field errors. The request is stored BEFORE the ack, so a failure (Redis
    down: bot.slack.app.handle_error answers in the modal) keeps what the user typed."""
    if not services.roles.has(user_id, Role.HR):
        ack(response_action="errors",
            errors={"community_id": "Only HR may file requests. Ask an admin for the role."})
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
    ack()
    services.requests.publish_filed(outcome)
