"""Retry a failed request (bot.domain.access says who). The worker checks before it
creates again."""

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
def handle_retry(
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    services: Services,
) -> None:
    actor = actor_of(services, body["user"]["id"])  # e-mail "" when unknown: refused
    decision = services.requests.retry(action["value"], actor)
    after_click(
        decision, body, respond, client, services, t("Retrying `{id}`.", id=action["value"])
    )
