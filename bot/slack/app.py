"""The Bolt app: listeners, the services they share, and one error handler.

Every listener is split the way Bolt recommends for HTTP mode: a quick `ack` function that
answers Slack at once (`process_before_response=True`, so no polling for the ack), and
`lazy` functions that do the slow work afterwards on the listener executor.

An ack waits on no network call but Redis: roles come from the group cache
(`Services.quick_roles`), a modal's communities from the modal itself. Post-ack work runs in
lanes, so one kind cannot starve another: Bolt's listener executor opens modals, handles
clicks and tells people; Coolblue look-ups, which can wait seconds on a slow Coolblue, run
in `Services.lookups` (bounded, threads of its own); cache refreshes in `Services.refresher`.
"""

from __future__ import annotations

import logging
import threading
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

LAZY_THREADS = 8  # post-ack Slack work; more threads only fight acks for the GIL


class _NoDebugBodies(logging.Filter):
    """Bolt's DEBUG lines carry request and response bodies (names, addresses, user text,
    response_url), so even with LOG_LEVEL=DEBUG Bolt logs from INFO up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


def _bolt_logger() -> logging.Logger:
    bolt_log = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _NoDebugBodies) for f in bolt_log.filters):
        bolt_log.addFilter(_NoDebugBodies())
    return bolt_log


def drain(app: App, timeout: float) -> None:
    """Let post-ack work under way (lazy listeners) finish, `timeout` seconds at most: a
    command acknowledged before a SIGTERM still gets its answer."""
    executor = app.listener_runner.listener_executor
    done = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    done.start()
    done.join(timeout)


def build_app(services: Services, client: WebClient, signing_secret: SecretStr | None) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # The token is checked once at start-up by the runtime (auth.test).
        token_verification_enabled=False,
        # HTTP mode: bot.runtime.web checks every request's signature before anything is
        # parsed or logged, and may hand Bolt a re-encoded body (its parse_body workaround),
        # which Bolt's own check would refuse. Socket Mode requests are never signed. Serve
        # this app through bot.runtime.web.create_wsgi_app, not Bolt's handler.
        request_verification_enabled=False,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(LAZY_THREADS, thread_name_prefix="lazy"),
        logger=_bolt_logger(),
    )

    @app.middleware
    def attach_services(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    app.error(handle_error)
    register_listeners(app)
    services.quick_roles.warm()  # group members cached before the first ack needs them
    return app
