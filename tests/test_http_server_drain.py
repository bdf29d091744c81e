"""SIGTERM on the web process: requests in flight are answered before the server closes
(HttpServer.stop(drain=…)), and no new connection is taken meanwhile. Real HTTP on
loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from bot.runtime.http_server import HttpServer

STARTED = threading.Event()


def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    STARTED.set()
    time.sleep(1.0)  # a request still being worked on when the stop comes
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
    return [b"done"]


def test_a_request_in_flight_is_answered_when_the_server_drains():
    STARTED.clear()
    server = HttpServer(slow_app).start()
    answers: list[httpx.Response | Exception] = []

    def call() -> None:
        try:
            answers.append(httpx.get(f"{server.url}/slow", timeout=10))
        except httpx.HTTPError as exc:
            answers.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert STARTED.wait(5)
    url = server.url
    server.stop(drain=5.0)
    caller.join(10)
    [answer] = answers
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 200 and answer.text == "done"
    try:
        refused = httpx.get(f"{url}/slow", timeout=2)
    except httpx.TransportError:
        refused = None
    assert refused is None  # the server is gone once drained
