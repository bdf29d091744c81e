"""Slack's Socket Mode side of the stand-in: a WebSocket server on loopback.

What Slack does, as far as the bot can tell (https://api.slack.com/apis/socket-mode):

- `apps.connections.open`, called with the app-level token (`xapp-…`), answers a WebSocket
  URL with a one-use ticket; any other token is refused (web_api.py).
- On each new connection the server sends `hello`.
- Slash commands, interactivity and events arrive as envelopes
  (`{"envelope_id", "type", "payload", "accepts_response_payload"}`); the app acks each with
  `{"envelope_id", "payload"?}`, the payload standing in for the HTTP reply body (a view's
  `response_action`, a command's reply).
- The server may send `{"type": "disconnect", "reason": ...}` (`warning`,
  `refresh_requested`, `link_disabled`) and closes the connection soon after.

Faults for the tests and benchmarks, on the newest connection: `disconnect(reason)`,
`drop()` (the TCP connection closed without a close frame: a network cut or a crashed
load balancer) and `go_silent()` (the connection stays up, but nothing reaches the client
any more, not even pongs: a half-open connection).

Served by `websockets.sync.server` in a background thread: the threading flavour of a
well-kept WebSocket library, so the stand-in stays free of an event loop, like the rest of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.slack_standin.state import APP_ID, Shared

log = logging.getLogger("bot.slack_standin.socket_mode")

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
DisconnectReason = Literal["warning", "refresh_requested", "link_disabled"]

LINK_PATH = "/link/"
# After `refresh_requested` or `link_disabled`, Slack closes the connection itself if the
# client has not moved on by then.
CLOSE_AFTER_DISCONNECT = 5.0


class _Connection(ServerConnection):
    """websockets' server connection with a switch that swallows everything it would send:
    pongs (websockets answers pings by itself), envelopes, close frames."""

    silent = False

    def send_data(self) -> None:
        if self.silent:
            self.protocol.data_to_send()  # taken from the protocol and never written
            return
        super().send_data()


@dataclass
class Link:
    """One WebSocket connection from the app."""

    number: int  # 1, 2, … in the order they were opened
    connection: _Connection
    opened_at: float = field(default_factory=time.monotonic)
    ready: bool = False  # hello sent
    closed: bool = False
    disconnect_sent: DisconnectReason | None = None
    dropped: bool = False
    silent: bool = False
    acks: int = 0

    @property
    def usable(self) -> bool:
        """Envelopes go to this link: open, greeted, and not asked to go away."""
        return (
            self.ready
            and not self.closed
            and self.disconnect_sent not in ("refresh_requested", "link_disabled")
        )


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    elapsed: float  # seconds from sending the envelope to reading its ack
    link: int


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.message: dict[str, Any] | None = None
        self.link = 0


class SocketMode:
    """The Socket Mode server. Off until `enable(app_token)`; `apps.connections.open` asks it
    for URLs (`open_url`), and the driver hands it envelopes (`deliver`)."""

    def __init__(self, shared: Shared, host: str = "127.0.0.1") -> None:
        self._shared = shared
        self._host = host
        self.app_token: str | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._links: list[Link] = []
        self._waiting: dict[str, _Waiter] = {}
        self._lock = threading.Lock()  # tickets, waiting; links change under shared.lock
        self.urls_issued = 0

    # Lifecycle ------------------------------------------------------------------------------

    def enable(self, app_token: str) -> SocketMode:
        """Turn Socket Mode on for the app with this app-level token (starts the server)."""
        if not app_token.startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        self.app_token = app_token
        if self._server is None:
            self._server = serve(
                self._handle,
                self._host,
                0,
                process_request=self._check_ticket,
                create_connection=_Connection,
                ping_interval=None,  # the client pings; the stand-in only answers
                logger=log,
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="standin-socket-mode", daemon=True
            )
            self._thread.start()
        return self

    @property
    def enabled(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Socket Mode is not enabled")
        return int(self._server.socket.getsockname()[1])

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        for link in self.links:
            link.connection.silent = False
        server.shutdown()  # closes every connection (1001 going away) and the listener
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for waiter in self._waiting.values():
                waiter.done.set()

    # apps.connections.open ------------------------------------------------------------------

    def open_url(self) -> str:
        """A fresh WebSocket URL, its ticket good for one connection."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
            self.urls_issued += 1
        return f"ws://{self._host}:{self.port}{LINK_PATH}?ticket={ticket}&app_id={APP_ID}"

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if parts.path != LINK_PATH or not known:
            return connection.respond(401, "invalid or used ticket\n")
        return None

    # Connections ----------------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, _Connection)
        with self._shared.lock:
            link = Link(len(self._links) + 1, connection)
            self._links.append(link)
        try:
            connection.send(json.dumps(self._hello()))
            with self._shared.lock:
                link.ready = True
                self._shared.notify()
            for raw in connection:
                self._received(link, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._shared.lock:
                link.closed = True
                self._shared.notify()

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": sum(1 for link in self.links if not link.closed),
            "debug_info": {
                "host": "applink-standin",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    def _received(self, link: Link, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("link %d sent something that is not JSON", link.number)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            waiter = self._waiting.pop(str(envelope_id), None)
        if waiter is None:
            return  # an ack for an envelope nobody waits for any more (timed out)
        link.acks += 1
        waiter.message, waiter.link = message, link.number
        waiter.done.set()

    @property
    def links(self) -> list[Link]:
        """Every connection so far, oldest first (closed ones too)."""
        with self._shared.lock:
            return list(self._links)

    def current(self) -> Link | None:
        """The newest usable link: the one envelopes go to."""
        with self._shared.lock:
            usable = [link for link in self._links if link.usable]
            return usable[-1] if usable else None

    def wait_ready(self, after: int = 0, timeout: float = 10.0) -> Link:
        """Wait for a usable link numbered above `after` (a new connection, greeted)."""
        deadline = time.monotonic() + timeout
        with self._shared.changed:
            while True:
                link = self.current()
                if link is not None and link.number > after:
                    return link
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    states = [
                        (n.number, "closed" if n.closed else n.disconnect_sent or "open")
                        for n in self._links
                    ]
                    raise TimeoutError(
                        f"no Socket Mode connection after #{after} within {timeout}s; "
                        f"links: {states}, URLs issued: {self.urls_issued}"
                    )
                self._shared.changed.wait(remaining)

    # Envelopes ------------------------------------------------------------------------------

    def deliver(
        self,
        kind: EnvelopeType,
        payload: dict[str, Any],
        timeout: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> Ack | None:
        """Send one envelope over the current link and wait for its ack; None when no ack
        came within `timeout`. With no usable link, wait up to `connect_timeout` for one
        (Slack would answer the person `dispatch_failed` at once; waiting keeps tests free
        of sleeps around a reconnection); TimeoutError if none came."""
        link = self.wait_ready(0, connect_timeout)
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        if kind == "events_api":
            envelope.update(accepts_response_payload=False, retry_attempt=0, retry_reason="")
        else:
            envelope["accepts_response_payload"] = True
        waiter = _Waiter()
        with self._lock:
            self._waiting[envelope_id] = waiter
        started = time.perf_counter()
        try:
            link.connection.send(json.dumps(envelope))
            acked = waiter.done.wait(timeout)
        except ConnectionClosed:
            acked = False
        finally:
            with self._lock:
                self._waiting.pop(envelope_id, None)
        elapsed = time.perf_counter() - started
        if not acked or waiter.message is None:
            return None
        reply = waiter.message.get("payload")
        return Ack(envelope_id, reply if isinstance(reply, dict) else None, elapsed, waiter.link)

    # Faults ---------------------------------------------------------------------------------

    def disconnect(self, reason: DisconnectReason = "refresh_requested") -> Link:
        """Ask the app to move to a new connection, as Slack does before it restarts a
        server (`warning` a little ahead, then `refresh_requested`) or when Socket Mode was
        turned off (`link_disabled`). Slack closes the old connection itself soon after."""
        link = self._newest_open()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-1"}}
        with self._shared.lock:
            link.disconnect_sent = reason
            self._shared.notify()
        with contextlib.suppress(ConnectionClosed):
            link.connection.send(json.dumps(message))
        if reason != "warning":
            timer = threading.Timer(CLOSE_AFTER_DISCONNECT, link.connection.close)
            timer.daemon = True
            timer.start()
        return link

    def drop(self) -> Link:
        """Cut the TCP connection without a close frame: the client reads the end of the
        stream and nothing else. Returns once the server has let go of it too, so the next
        envelope waits for a new connection."""
        link = self._newest_open()
        with self._shared.lock:
            link.dropped = True
            self._shared.notify()
        with contextlib.suppress(OSError):
            link.connection.socket.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5.0
        with self._shared.changed:
            while not link.closed and time.monotonic() < deadline:
                self._shared.changed.wait(deadline - time.monotonic())
        return link

    def go_silent(self) -> Link:
        """Keep the connection up but send nothing more on it, not even pongs."""
        link = self._newest_open()
        with self._shared.lock:
            link.silent = link.connection.silent = True
            self._shared.notify()
        return link

    def _newest_open(self) -> Link:
        with self._shared.lock:
            open_links = [link for link in self._links if link.ready and not link.closed]
        if not open_links:
            raise LookupError("no open Socket Mode connection")
        return open_links[-1]
