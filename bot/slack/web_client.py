"""slack_sdk's WebClient on kept-alive connections.

slack_sdk's WebClient sends each Web API call with `urllib.request.urlopen`: a new TCP
connection, and in production a new TLS handshake, per call (a round trip or two to Slack
before the call itself). `PooledWebClient` sends them through one `httpx.Client` per
process instead, whose pool keeps connections open between calls; everything else
(request building, retry handlers, rate limits, SlackResponse) stays slack_sdk's, because
only `_perform_urllib_http_request_internal`, the one method that touches the network,
is replaced. Errors keep urllib's shapes, so slack_sdk's retry handlers decide as before:
a failed connection is a URLError (retried by the connection-error handler), a timeout
waiting for the answer a TimeoutError (not retried: the call may have been done), a
non-2xx answer an HTTPError (a 429 goes to the rate-limit handler).
"""

from __future__ import annotations

import io
import socket
import ssl
from http.client import HTTPMessage
from typing import Any, cast
from urllib.error import HTTPError, URLError
from urllib.request import Request

import httpx
from slack_sdk import WebClient

# Threads that call Slack at once in a process (listener lanes + worker slots) stay well
# under this; a connection idle longer than Slack keeps it open is closed by us first.
MAX_KEEPALIVE = 32
KEEPALIVE_SECONDS = 30.0


class PooledWebClient(WebClient):
    """A WebClient whose calls share kept-alive connections (thread-safe, one pool)."""

    def __init__(self, *args: Any, verify: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        """`verify`: whom to trust, for these calls only. (slack_sdk's `ssl` would also go to
        every Respond Bolt makes, which Bolt deep-copies for lazy listeners, and an
        SSLContext cannot be copied.) Default: `ssl`'s, else the system's default context,
        as urllib's (it honours SSL_CERT_FILE), not httpx's certifi bundle."""
        super().__init__(*args, **kwargs)
        verify = verify or self.ssl or ssl.create_default_context()
        limits = httpx.Limits(
            max_connections=None,
            max_keepalive_connections=MAX_KEEPALIVE,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        # httpx writes a request's head and body separately: without TCP_NODELAY, Nagle's
        # algorithm holds the body back until the head is acknowledged, and a delayed ACK
        # makes that up to 40 ms on a kept-alive connection (urllib sends both at once).
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        self.http = httpx.Client(
            transport=httpx.HTTPTransport(verify=verify, limits=limits, socket_options=nodelay),
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,  # a proxy is slack_sdk's `proxy`, handled by urllib below
        )

    def __deepcopy__(self, memo: dict[int, object]) -> PooledWebClient:
        # Bolt deep-copies each request for its lazy listeners, this client included: the
        # copy would be a second pool (and a deep copy of an httpx.Client fails). One token
        # per process, so the lazy listener may share this one.
        return self

    def close(self) -> None:
        self.http.close()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or not url.lower().startswith(("http://", "https://")):
            return dict(super()._perform_urllib_http_request_internal(url, req))
        headers = {name: str(value) for name, value in req.header_items()}
        try:
            reply = self.http.request(
                req.get_method(), url, content=cast(bytes | None, req.data), headers=headers
            )
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise URLError(exc) from exc
            raise TimeoutError(str(exc)) from exc
        except httpx.TransportError as exc:
            raise URLError(exc) from exc
        message = _message(reply.headers)
        if not 200 <= reply.status_code < 300:
            raise HTTPError(
                url, reply.status_code, reply.reason_phrase, message, io.BytesIO(reply.content)
            )
        if message.get_content_type() == "application/gzip":
            return {"status": reply.status_code, "headers": message, "body": reply.content}
        charset = message.get_content_charset() or "utf-8"
        body = reply.content.decode(charset)
        return {"status": reply.status_code, "headers": message, "body": body}


def _message(headers: httpx.Headers) -> HTTPMessage:
    """httpx's headers in the type urllib answers with (slack_sdk reads them as such)."""
    message = HTTPMessage()
    for name, value in headers.multi_items():
        message[name] = value
    return message
