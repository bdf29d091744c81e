"""The last resort for errors in listeners: log the details, tell the user something
short and true where they are, never a stack trace or a secret."""

from __future__ import annotations

import functools
import json
import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.i18n import t
from bot.slack.blocks.replies import error_reply
from bot.slack.text import escape

log = logging.getLogger("bot.slack")


def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> BoltResponse | None:
    """Bolt's @app.error handler; also called for lazy listeners (see `reports_errors`).
    A failed modal submission is answered in the modal, which keeps what the user typed."""
    reference = uuid.uuid4().hex[:8]
    # The type and where it happened, never the message: an exception's words can carry
    # what a person typed or an address (a validation error, a URL with an e-mail in it).
    where = "".join(traceback.format_tb(error.__traceback__)).rstrip()
    log.error("unhandled %s (reference %s)\n%s", type(error).__name__, reference, where)
    text = t("{problem} Reference: {reference}.", problem=_words_for(error), reference=reference)
    if body.get("type") == "view_submission":
        inputs = [
            b["block_id"]
            for b in body.get("view", {}).get("blocks", [])
            if b.get("type") == "input"
        ]
        if inputs:  # Bolt sends this instead of a 500
            errors = {"response_action": "errors", "errors": {inputs[0]: text}}
            return BoltResponse(
                status=200,
                body=json.dumps(errors),
                headers={"content-type": "application/json;charset=utf-8"},
            )
    if respond is not None and getattr(respond, "response_url", None):
        respond(error_reply(text))
    return None


def reports_errors(listener: Callable[..., None]) -> Callable[..., None]:
    """Bolt only logs a lazy listener's exception (without a traceback) and tells nobody;
    route it through handle_error like any other."""

    @functools.wraps(listener)
    def run(**kwargs: Any) -> None:
        try:
            listener(**kwargs)
        except Exception as error:
            handle_error(error, kwargs.get("body") or {}, kwargs.get("respond"))

    return run


def _words_for(error: Exception) -> str:
    if isinstance(error, redis.RedisError):
        return t("Our storage is unavailable right now, so nothing was changed. Try again shortly.")
    if isinstance(error, SlackApiError):
        return t(
            "Slack refused part of this ({error}).", error=escape(str(error.response.get("error")))
        )
    return t("Something went wrong on our side; nothing was changed.")
