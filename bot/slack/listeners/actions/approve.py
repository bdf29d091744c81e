"""Approve: a click, decided on the server at the moment of the click (bot.domain.access)."""

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
def handle_approve(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    # An e-mail Slack would not give is "" and the domain refuses the click (fail closed).
    actor = actor_of(services, body["user"]["id"])
    decision = services.requests.approve(action["value"], actor)
    after_click(
        decision, body, respond, client, services, t("You approved `{id}`.", id=action["value"])
    )
