"""The Bolt app: listeners, the services they share, and one error handler."""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

import redis
from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks.replies import error_reply
from bot.slack.listeners import register_listeners

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.runtime.services import Services

log = logging.getLogger("bot.slack")


def build_app(services: Services, client: WebClient) -> App:
    settings = services.settings
    secret = settings.slack_signing_secret
    app = App(
        client=client,
        token=client.token,
        signing_secret=secret.get_secret_value() if secret else None,
        # The token is checked at start-up by the runtime; don't call auth.test per process twice.
        token_verification_enabled=False,
        logger=logging.getLogger("bot.slack.bolt"),
    )

    @app.middleware
    def attach_services(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
        context["services"] = services
        next()

    app.error(handle_error)
    register_listeners(app)
    return app


def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse | None:
    """Last resort: log the details, tell the user something short and true, where they
    are: in the modal (it stays open with their input) or as a private reply."""
    reference = uuid.uuid4().hex[:8]
    log.error("unhandled error (reference %s): %r", reference, error, exc_info=error)
    text = f"{_words_for(error)} Reference: {reference}."
    if body.get("type") == "view_submission":
        inputs = [b["block_id"] for b in body.get("view", {}).get("blocks", [])
                  if b.get("type") == "input"]
        if inputs:  # Bolt sends this instead of a 500
            errors = {"response_action": "errors", "errors": {inputs[0]: text}}
            return BoltResponse(status=200, body=json.dumps(errors),
                                headers={"content-type": "application/json;charset=utf-8"})
    if respond is not None and body.get("response_url"):
        respond(error_reply(text))
    return None


def _words_for(error: Exception) -> str:
    if isinstance(error, redis.RedisError):
        return "Our storage is unavailable right now, so nothing was changed. Try again shortly."
    if isinstance(error, SlackApiError):
        return f"Slack refused part of this ({error.response.get('error', 'error')})."
    return "Something went wrong on our side; nothing was changed."
