"""Socket Mode: the Bolt app over a WebSocket the bot opens to Slack, kept alive.

`start_socket_mode` is the one way to start it (`python -m bot` and `LocalStack` both call
it). It runs on slack_sdk's websocket-client SocketModeClient, not on its builtin client,
because of what each did when a connection broke (slack_sdk 3.48, slack_bolt 1.30,
websocket-client 1.9, measured against the stand-in's Socket Mode server;
tests/test_socket_mode_e2e.py holds the cases):

- **Socket closed without a close frame** (a network cut, a load balancer going away): the
  builtin client never takes the end of the stream for the end (its receive loop reads the
  empty reads as "no data yet"), spins a core, logs `Failed to check the state of sock (…
  BrokenPipeError …)` at every ping and reconnects only after five failed pings (about a
  minute at its 10 s default). websocket-client reads the end of the stream at once and
  the client reconnects within a second.
- **Connection gone silent** (half-open: the TCP connection looks up, nothing comes back,
  not even pongs): the builtin client notices after four ping intervals; the stock
  websocket-client one never does.

The stock websocket-client SocketModeClient (what Bolt's
`slack_bolt.adapter.socket_mode.websocket_client.SocketModeHandler` uses) runs
websocket-client's `run_forever` with `ping_interval` but no `ping_timeout`. So no pong is
ever awaited (a silent connection is kept for good, while Slack delivers to it), and the
reader waits in select() with websocket-client's default 10 s timeout. When the client
replaces a connection (on Slack's `disconnect`) it closes the old one from another thread;
about one time in three that close reads Slack's answering close frame itself and closes
the descriptor under the reader, whose select() is not woken by that: the reader sleeps
out its 10 s, nothing is read, and the client's monitor opens a new URL every ping
interval meanwhile (seen: 13 URLs and no connection in 10 s).

`_Client` is that SocketModeClient with one change, in the one method that calls
`run_forever`: it passes `ping_timeout` (half the ping interval). websocket-client then
drops a connection whose pong is late (`_cut_when_silent` saves its 3 s wait for a close
frame there), and its reader wakes every `ping_timeout` to see that its connection was
replaced. The Bolt side is Bolt's own (`run_bolt_app`,
`send_response`), as in Bolt's handler. `_Client` can go, for Bolt's `SocketModeHandler`,
once slack_sdk passes a `ping_timeout` there (at slack_sdk 3.48 it does not):
`test_stock_client_keeps_a_silent_connection` fails that day.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from websocket import WebSocketApp, WebSocketTimeoutException

log = logging.getLogger("bot.socket_mode")

PING_INTERVAL = 5.0  # seconds between pings; a silent connection goes within ~2.5 of them
CONCURRENCY = 16  # envelopes handled at once, as many as HTTP mode's waitress threads
CLOSE_WAIT = 2.0  # seconds for Slack to answer our close frame when stopping


class _Client(SocketModeClient):
    """slack_sdk's websocket-client SocketModeClient, awaiting pongs (see the module doc)."""

    def __init__(self, *args: Any, ping_timeout: float, **kwargs: Any) -> None:
        self.ping_timeout = ping_timeout  # before the base class starts its threads
        super().__init__(*args, **kwargs)
        self.on_error_listeners.append(_cut_when_silent)

    def _run_current_session(self) -> None:
        # slack_sdk 3.48's method, with ping_timeout passed to run_forever.
        session = self.current_session
        if session is None:
            return
        try:
            self.logger.info("Starting to receive messages from a new connection")
            session.run_forever(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                http_proxy_host=self.http_proxy_host,
                http_proxy_port=self.http_proxy_port,
                http_proxy_auth=self.http_proxy_auth,
                proxy_type=self.proxy_type,
            )
            self.logger.info("Stopped receiving messages from a connection")
        except Exception as e:
            self.logger.exception(f"Failed to start or stop the current session: {e}")
            if self.current_session is not None:
                self.current_session.close()


def _cut_when_silent(session: WebSocketApp, error: Exception) -> None:
    """A late pong: shut the socket down before websocket-client closes the connection, or
    its close waits 3 s more for a close frame that the silent peer will not send."""
    raw = session.sock.sock if session.sock is not None else None
    if isinstance(error, WebSocketTimeoutException) and raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)


class _NormalCloseIsNoError(logging.Filter):
    """slack_sdk's client (its on_error: "on_error invoked (error: …Exception, …)") and
    websocket-client ("… - goodbye") log every end of a connection at ERROR, a normal close
    (code 1000: our stop, Slack's refresh) too. That one is logged at INFO instead, so only
    where INFO is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "closed normally (code 1000)" in str(record.msg):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def _log_normal_closes_as_info(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if not any(isinstance(f, _NormalCloseIsNoError) for f in logger.filters):
            logger.addFilter(_NormalCloseIsNoError())


class SocketModeListener:
    """The Bolt app on a Socket Mode client; `stop()` to disconnect.

    `stock=True` runs Bolt's own websocket-client handler instead, without the change
    above: only to show what it does alone (tests/test_socket_mode_e2e.py)."""

    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        ping_interval: float = PING_INTERVAL,
        concurrency: int = CONCURRENCY,
        stock: bool = False,
    ) -> None:
        _log_normal_closes_as_info(app.logger, logging.getLogger("websocket"))
        self.client: SocketModeClient
        if stock:
            handler = SocketModeHandler(
                app, app_token, ping_interval=ping_interval, concurrency=concurrency
            )
            self.client = handler.client
        else:
            self.client = _Client(
                app_token=app_token,
                logger=app.logger,
                web_client=app.client,
                ping_interval=ping_interval,
                ping_timeout=ping_interval / 2,  # websocket-client wants it below the interval
                concurrency=concurrency,
            )

            def handle(client: SocketModeClient, request: SocketModeRequest) -> None:
                started = time.time()
                send_response(client, request, run_bolt_app(app, request), started)

            self.client.socket_mode_request_listeners.append(handle)  # type: ignore[arg-type]
        self._stopping = threading.Event()
        self._closed = threading.Event()  # a connection ended (the client's on_close)
        self.client.on_close_listeners.append(lambda _ws: self._closed.set())

    def connect(self) -> SocketModeListener:
        """Open the first connection (apps.connections.open raises on a bad app token)."""
        self.client.connect()
        return self

    def is_connected(self) -> bool:
        return bool(self.client.is_connected())

    def health(self) -> str:
        """For /healthz (bot.runtime.health): "ok" while connected, else what is wrong."""
        if self._stopping.is_set():
            return "stopped"
        return "ok" if self.is_connected() else "disconnected"

    def stop(self) -> None:
        """Close the connection and the client's threads, at once. Idempotent.

        The client's own `close()` takes up to a ping timeout (10 s for the stock client):
        it closes the connection from this thread, which leaves the reader in select() as
        described above, and its message loop waits up to 1 s on an empty queue. So: no
        more reconnecting, our close frame sent without waiting, the reader ends on Slack's
        answer (or the socket is shut down after CLOSE_WAIT), the socket closed, the message
        loop woken; then the client closes what is left."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        client = self.client
        client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
        session = client.current_session
        websocket = session.sock if session is not None else None
        if websocket is not None:
            self._closed.clear()
            with contextlib.suppress(Exception):  # already gone: nothing to wait for
                websocket.send_close()
                if not self._closed.wait(CLOSE_WAIT) and websocket.sock is not None:
                    websocket.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader
            # send_close() marked the connection closed, so websocket-client's own close()
            # returns early from here on and would leave the descriptor open.
            websocket.shutdown()  # type: ignore[no-untyped-call]
        client.closed = True  # the message loop ends at its next turn…
        client.message_queue.put(None)  # …which this wakes at once
        client.close()


def start_socket_mode(
    app: App,
    app_token: str,
    *,
    ping_interval: float = PING_INTERVAL,
    concurrency: int = CONCURRENCY,
    stock: bool = False,
) -> SocketModeListener:
    """Connect `app` to Slack over Socket Mode; `stop()` the result to disconnect. Raises
    slack_sdk's SlackApiError when Slack refuses the app token (nothing left running)."""
    listener = SocketModeListener(
        app, app_token, ping_interval=ping_interval, concurrency=concurrency, stock=stock
    )
    try:
        return listener.connect()
    except BaseException:
        listener.stop()
        raise
