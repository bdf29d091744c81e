"""The Communities API sandbox served over real HTTP on loopback.

`SandboxApp` (app.py) is the WSGI app; `HttpServer` (waitress, bot.runtime.http_server)
serves it, as it serves the bot itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from types import TracebackType

from bot.runtime.http_server import HttpServer
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    DEFAULT_SANDBOX_COMMUNITIES,
    Settings,
)
from bot.sandbox.app import ADMIN_PREFIX, API_PREFIX, TOKEN_PATH, SandboxApp
from bot.sandbox.state import SandboxFaults, SandboxState

logger = logging.getLogger("bot.sandbox")

# Latency and hang faults sleep on a worker thread each, so the sandbox keeps more of them
# than the bot's web server: slow replies must not queue the fast ones behind them.
THREADS = 64


def default_communities() -> list[tuple[str, str]]:
    return Settings.model_construct(
        sandbox_communities=DEFAULT_SANDBOX_COMMUNITIES
    ).sandbox_community_pairs()


class SandboxServer:
    """The Communities API sandbox on a loopback port, served from a daemon thread."""

    def __init__(
        self,
        communities: Iterable[tuple[str, str]] | None = None,
        client_id: str = DEFAULT_SANDBOX_CLIENT_ID,
        client_secret: str = DEFAULT_SANDBOX_CLIENT_SECRET,
        token_lifetime: float = 3600,
        latency_ms: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        pairs = list(communities) if communities is not None else default_communities()
        self.state = SandboxState(pairs, client_id, client_secret, token_lifetime)
        self.faults: SandboxFaults = self.state.faults
        self.latency_ms = latency_ms  # a base latency that reset() keeps
        self.host = host
        self.port = port
        self._stopping = threading.Event()  # wakes requests sleeping in latency or a hang
        self._http: HttpServer | None = None

    @property
    def root_url(self) -> str:
        if self.port == 0:
            raise RuntimeError("the sandbox has no port yet: start() it first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.root_url + TOKEN_PATH

    @property
    def admin_url(self) -> str:
        return self.root_url + ADMIN_PREFIX

    def start(self) -> SandboxServer:
        """Bind and serve; the socket is listening when this returns."""
        if self._http is not None:
            raise RuntimeError("the sandbox is already started")
        self._stopping.clear()
        app = SandboxApp(self.state, self.latency_ms, self._stopping)
        self._http = HttpServer(
            app,
            host=self.host,
            port=self.port,
            threads=THREADS,
            name="communities-sandbox",
            ident="CommunitiesSandbox/1",
        )
        self.port = self._http.port
        self._http.start()
        logger.info("Communities API sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving: wakes hung requests, ends kept-alive connections. Idempotent."""
        if self._http is None:
            return
        self._stopping.set()
        self._http.stop()
        self._http = None
        logger.info("Communities API sandbox stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
