"""One way to serve a WSGI app over HTTP: waitress, in a background thread, stoppable.

The bot's web process (`python -m bot`), the local console and the tests serve the Bolt app
with it; the local tools above this layer (the Communities API sandbox, the Slack stand-in)
serve their own WSGI apps with it too, so all of them start, answer and stop alike.

Replies on kept-alive connections are not delayed: waitress sets TCP_NODELAY on every
accepted connection by default (`Adjustments.socket_options`, applied in
`TcpWSGIServer.set_socket_options`), so nothing here sets it. Without it, Nagle's algorithm
holds part of each reply until the client's delayed ACK, ~40 ms a reply (measured with
waitress too; tests/test_sandbox.py guards it). Do not pass `socket_options` without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from waitress import create_server
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.wasyncore import loop

__all__ = ["DropConnection", "HttpServer", "WSGIApp"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DropConnection(Exception):
    """Raised by an app served by `HttpServer`: close the connection and send nothing at all,
    not even a status line (the sandbox's faults: a reply lost on the way)."""


class _WithoutPaths(logging.LoggerAdapter):  # type: ignore[type-arg]
    """waitress's logger ("waitress"), minus the request path waitress names when a request
    ends without a reply: paths can hold e-mail addresses (the sandbox's member paths do)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return str(msg).split(" while serving ", 1)[0], kwargs


class _Channel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    logger = _WithoutPaths(logging.getLogger("waitress"), {})


def _dropping(app: WSGIApp) -> WSGIApp:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except DropConnection:
            # waitress's own signal for "the client is gone": it closes the connection
            # without writing a byte (nothing is written before the app returns).
            raise ClientDisconnected from None

    return wsgi


class HttpServer:
    """waitress in a background thread: `start()`, `url`, `stop()`, or a `with` block.

    `serve_forever()` serves in the calling thread instead, until `stop()` from another.
    """

    def __init__(
        self,
        wsgi: WSGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        name: str = "http",
        ident: str = "community-bot",
        max_body: int = 1024**3,
    ) -> None:
        self.server: BaseWSGIServer = create_server(
            _dropping(wsgi),
            host=host,
            port=port,
            threads=threads,
            ident=ident,
            # waitress stops accepting at 100 open connections by default; a proxy or Slack
            # keeping connections alive would hang there.
            connection_limit=1000,
            clear_untrusted_proxy_headers=True,
            # waitress buffers a body before the app sees it (1 GB by default): the bot's
            # server takes no more than its edge accepts (413 from waitress itself).
            max_request_body_size=max_body,
        )
        self.server.channel_class = _Channel
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])

    def start(self) -> HttpServer:
        """Serve from a daemon thread; the socket is already listening (bound in __init__)."""
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serve()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            loop(timeout=0.2, map=self.server._map, use_poll=True, count=1)

    def stop(self, drain: float = 0.0) -> None:
        """Stop accepting, end open connections, let running requests finish (5 s at most).
        With `drain`, first stop accepting and give the requests in flight up to `drain`
        seconds to be answered (a SIGTERM from the platform). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if drain > 0 and self._thread.is_alive():
            self.server.accepting = False  # no new connections; open ones are still served
            self.server.pull_trigger()
            deadline = time.monotonic() + drain
            while self._in_flight() and time.monotonic() < deadline:
                time.sleep(0.02)
        self._stopping.set()
        self.server.pull_trigger()  # wakes the loop now rather than at its next timeout
        if self._thread.is_alive():
            self._thread.join(5)
        for channel in list(self.server._map.values()):
            if isinstance(channel, HTTPChannel):
                channel.handle_close()
        # Requests still running write into closed channels (waitress drops that) and may
        # pull the trigger, so the trigger and the listening socket are closed after them.
        self.server.task_dispatcher.shutdown()
        self.server.close()

    def _in_flight(self) -> bool:
        """A request queued, running, or with an answer not yet written out."""
        dispatcher = self.server.task_dispatcher
        with dispatcher.lock:
            if dispatcher.queue or dispatcher.active_count > 0:
                return True
        return any(
            isinstance(channel, HTTPChannel) and (channel.total_outbufs_len or channel.requests)
            for channel in list(self.server._map.values())
        )

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
