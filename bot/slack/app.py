"""The Bolt app: listeners, the services they share, and one error handler.

Every listener is split the way Bolt recommends for HTTP mode: a quick `ack` function that
answers Slack at once (`process_before_response=True`, so no polling for the ack), and
`lazy` functions that do the slow work afterwards on the listener executor.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from pydantic import SecretStr
from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.errors import handle_error
from bot.slack.listeners import register_listeners

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.slack.services import Services

log = logging.getLogger("bot.slack")

LAZY_THREADS = 8  # post-ack work; more threads only fight acks for the GIL


def build_app(services: Services, client: WebClient, signing_secret: SecretStr | None) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # The token is checked once at start-up by the runtime (auth.test).
        token_verification_enabled=False,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(LAZY_THREADS, thread_name_prefix="lazy"),
        logger=logging.getLogger("bot.slack.bolt"),
    )

    @app.middleware
    def attach_services(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    app.error(handle_error)
    register_listeners(app)
    return app
