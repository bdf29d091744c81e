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
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.middleware import Middleware
from slack_bolt.util.utils import get_name_for_callable
from slack_sdk import WebClient

from bot import i18n
from bot.slack.ack_gate import ACKS, AfterAcks, favour_acks
from bot.slack.errors import handle_error
from bot.slack.listeners import register_listeners
from bot.slack.web_client import PooledWebClient

if TYPE_CHECKING:
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


# Told how long each request took to be acknowledged: its kind (REQUEST_KINDS), seconds.
AckObserver = Callable[[str, float], None]

REQUEST_KINDS = frozenset(
    {
        "command",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "event_callback",
        "shortcut",
        "message_action",
        "url_verification",
    }
)


def request_kind(body: dict[str, Any]) -> str:
    """What a Slack request is, as a metric label: a slash command, or the payload's type
    (one of REQUEST_KINDS, else "other")."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in REQUEST_KINDS else "other"


class _CopyAfterAcks(ThreadListenerRunner):
    """Bolt's listener runner, copying a request for its lazy listeners in the listener
    thread instead of the thread that acks. The copy re-parses the body and deep-copies it
    with the context (a click's payload carries the whole message): work of the listener,
    not of the ack. Nothing changes the request once its ack is made, so copying it a moment
    later copies the same thing; the executor (AfterAcks) lets the acks in flight go first."""

    def _start_lazy_function(self, lazy_func: Callable[..., None], request: BoltRequest) -> None:
        name = get_name_for_callable(lazy_func)
        lazy = cast(ThreadLazyListenerRunner, self.lazy_listener_runner)

        def copy_then_run() -> None:
            try:
                copied = self._build_lazy_request(request, name)
            except Exception:  # Bolt would have raised it in the ack's thread
                log.exception("could not copy a request for its lazy listener %s", name)
                return
            with _reader(copied):
                build_runnable_function(func=lazy_func, logger=lazy.logger, request=copied)()

        lazy.executor.submit(copy_then_run)


class _BodyMatcher(BuiltinListenerMatcher):
    """Bolt's own matcher for `app.command`, `app.action`, `app.view` and the rest, asked
    with the one argument it takes. Bolt (1.x) builds every argument a listener could ask for
    (the payload read eight ways, say, respond, ...) for each matcher it tries, and it tries
    the listeners in turn: a submission was matched against seven, a fifth of its ack's
    work. Remove once Bolt builds only the arguments a function names."""

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        return bool(self.func(body=req.body))


class _AttachServices(Middleware):
    """Every listener's `services`. A Middleware subclass rather than a function: Bolt
    builds every argument a function middleware could take, per request, to call it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        req.context["services"] = self.services
        return next()


class _AckTimedApp(App):
    """Bolt's App, telling `on_ack` how long `dispatch` took. With process_before_response
    every listener acks inside dispatch and lazy work runs after it, so that is the time to
    the ack, in HTTP mode (bot.runtime.web) and Socket Mode (Bolt's run_bolt_app) alike. A
    global middleware cannot measure it: Bolt runs the listeners after the middleware chain
    has returned, not inside `next()`."""

    on_ack: AckObserver | None = None

    def _init_context(self, req: BoltRequest) -> None:
        """Bolt builds a new WebClient for each request (so a listener may change its token
        without touching the app's). Ours has one token per process and never changes it, so
        listeners get the app's own client: its kept-alive connections
        (bot.slack.web_client), and no client to build on the ack path or to deep-copy for
        each lazy listener."""
        if not isinstance(self.client, PooledWebClient) or req.context.function_bot_access_token:
            # A Workflow Builder step's request: Bolt's AttachingFunctionToken middleware
            # sets the execution's own token on the context's client, so that client must
            # be one of this request's, never the app's shared one (its token would become
            # the execution's, revoked once the step completes).
            super()._init_context(req)
            return
        # Bolt's own _init_context (slack_bolt 1.x), less the WebClient it builds.
        req.context["logger"] = get_bolt_app_logger(
            app_name=self.name, base_logger=self._base_logger
        )
        req.context["token"] = self._token
        req.context["client"] = self.client
        req.context["listener_runner"] = self.listener_runner

    def _register_listener(
        self, functions: Any, primary_matcher: ListenerMatcher, *args: Any, **kwargs: Any
    ) -> Any:
        if type(primary_matcher) is BuiltinListenerMatcher and primary_matcher.arg_names == [
            "body"
        ]:
            primary_matcher.__class__ = _BodyMatcher  # same state, one method differs
        return super()._register_listener(functions, primary_matcher, *args, **kwargs)

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        with ACKS.acking(), _reader(req):
            if self.on_ack is None:
                return super().dispatch(req)
            started = time.perf_counter()
            try:
                return super().dispatch(req)
            finally:
                self.on_ack(request_kind(req.body), time.perf_counter() - started)


def _reader(req: BoltRequest) -> AbstractContextManager[None]:
    """Whoever sent the request reads its replies, modals and errors in their Slack locale,
    learnt when the first text is written: from the cache, else users.info. An ack that
    writes no text asks nothing; one that does (a refusal) may wait on users.info once per
    person per cache lifetime, as a first contact's words would otherwise be English."""

    def locale() -> str:
        services: Services | None = req.context.get("services")  # set by a middleware
        user_id = req.context.user_id
        if services is None or not user_id:
            return ""
        return services.users.locale_of(user_id)

    return i18n.reading_as(locale)


def drain(app: App, timeout: float) -> None:
    """Let post-ack work under way (lazy listeners) finish, `timeout` seconds at most: a
    command acknowledged before a SIGTERM still gets its answer."""
    executor = app.listener_runner.listener_executor
    done = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    done.start()
    done.join(timeout)


def build_app(
    services: Services,
    client: WebClient,
    signing_secret: SecretStr | None,
    *,
    on_ack: AckObserver | None = None,
) -> App:
    """The Bolt app; `on_ack` (metrics) is told how long each request took to its ack."""
    app = _AckTimedApp(
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
        listener_executor=AfterAcks(LAZY_THREADS, thread_name_prefix="lazy"),
        logger=_bolt_logger(),
    )
    app.on_ack = on_ack
    app.listener_runner.__class__ = _CopyAfterAcks  # same state, one method differs
    favour_acks()

    app.use(_AttachServices(services))

    app.error(handle_error)
    register_listeners(app)
    services.quick_roles.warm()  # group members cached before the first ack needs them
    return app
