"""Cancel: the requester withdraws a request until it runs; a manager may cancel a
scheduled change (bot.domain.access says who)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.slack.actors import actor_of
from bot.slack.errors import reports_errors
from bot.slack.listeners.actions.feedback import after_click

if TYPE_CHECKING:
    from bot.slack.services import Services


@reports_errors
def handle_cancel(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    actor = actor_of(services, body["user"]["id"])
    decision = services.requests.cancel(action["value"], actor)
    after_click(
        decision, body, respond, client, services, t("You cancelled `{id}`.", id=action["value"])
    )
