"""Authentication: the bearer token on every API call, and the token request itself.

* `BearerAuth` is an `httpx.Auth` flow: it sends the request with the cached token; on a
  401 it drops that token (only if it is still the one that failed: another process may
  already have replaced it) and sends the request once more with a fresh one. A second
  401 is the caller's to report.
* `TokenEndpoint` asks the token endpoint for a new token (client-credentials grant). It
  is what `TokenCache` (tokens.py) calls, under its single-renewer lock.

The client authenticates to the token endpoint with its ID and secret either in the
form body (`client_auth="body"`, the default) or as HTTP Basic (`"basic"`, RFC 6749
section 2.3.1: each of ID and secret form-urlencoded, then joined by ':' and base64'd).
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Generator
from typing import Literal, get_args
from urllib.parse import quote_plus

import httpx
from pydantic import SecretStr

from bot.communities import codec, contract
from bot.communities.errors import AuthenticationFailed, CommunitiesError
from bot.communities.retry import RetryPolicy
from bot.communities.tokens import IssuedToken, TokenCache

__all__ = [
    "CLIENT_AUTH_METHODS",
    "OPERATION_EXTENSION",
    "BearerAuth",
    "ClientAuth",
    "TokenEndpoint",
    "basic_credentials",
    "request_headers",
]

logger = logging.getLogger("bot.communities")

ClientAuth = Literal["body", "basic"]
CLIENT_AUTH_METHODS: tuple[str, ...] = get_args(ClientAuth)

# The operationId of a request, carried in its httpx extensions so the flow can log it.
OPERATION_EXTENSION = "bot.communities.operation"
OP_TOKEN = "getToken"


def request_headers(user_agent: str, correlation_id: str) -> dict[str, str]:
    """The headers every request carries, token request included."""
    return {
        "User-Agent": user_agent,
        contract.CORRELATION_HEADER: correlation_id,
        "Accept": "application/json",
    }


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The `Authorization` value for HTTP Basic client authentication (RFC 6749 2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class BearerAuth(httpx.Auth):
    """The cached bearer token on a request; one renewal and one re-send on a 401."""

    # Read a 401's body before renewing, so its connection is back in the pool while
    # the token request needs one.
    requires_response_body = True

    def __init__(self, tokens: TokenCache) -> None:
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"BearerAuth({self._tokens!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.get()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        # Expired early, revoked, or rotated: drop it unless someone already has.
        self._tokens.invalidate(token)
        logger.info(
            "communities operation=%s status=401 action=renew-token correlation_id=%s",
            request.extensions.get(OPERATION_EXTENSION, "unknown"),
            response.headers.get(contract.CORRELATION_HEADER)
            or request.headers.get(contract.CORRELATION_HEADER, ""),
        )
        request.headers["Authorization"] = f"Bearer {self._tokens.get()}"
        yield request


class TokenEndpoint:
    """Fetches a new access token; the `fetch` of a TokenCache."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        url: str,
        client_id: str,
        client_secret: SecretStr,
        user_agent: str,
        retry: RetryPolicy,
        client_auth: ClientAuth = "body",
    ) -> None:
        if client_auth not in CLIENT_AUTH_METHODS:
            raise ValueError(f"client_auth must be one of {CLIENT_AUTH_METHODS}")
        self._http = http
        self._url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._user_agent = user_agent
        self._retry = retry
        self.client_auth: ClientAuth = client_auth

    def __repr__(self) -> str:
        return f"TokenEndpoint(url={self._url!r}, client_auth={self.client_auth!r})"

    def build_request(self, correlation_id: str) -> httpx.Request:
        """The token request as it goes over the wire (not sent)."""
        headers = request_headers(self._user_agent, correlation_id)
        form = {contract.TOKEN_FIELD_GRANT_TYPE: contract.TOKEN_GRANT_TYPE}
        secret = self._client_secret.get_secret_value()
        if self.client_auth == "basic":
            headers["Authorization"] = basic_credentials(self._client_id, secret)
        else:
            form[contract.TOKEN_FIELD_CLIENT_ID] = self._client_id
            form[contract.TOKEN_FIELD_CLIENT_SECRET] = secret
        return self._http.build_request("POST", self._url, headers=headers, data=form)

    def __call__(self) -> IssuedToken:
        correlation_id = str(uuid.uuid4())
        request = self.build_request(correlation_id)
        # Asking for another token is harmless, so the token request may be repeated.
        reply = self._retry.send(
            OP_TOKEN,
            lambda: self._http.send(request, auth=None),
            correlation_id=correlation_id,
            replayable=True,
        )
        status = reply.response.status_code
        if status in (400, 401):
            raise AuthenticationFailed(
                _token_refused_message(status), correlation_id=reply.correlation_id, status=status
            )
        if status != 200:
            raise CommunitiesError(
                f"Coolblue's token endpoint answered {status}. Check COMMUNITIES_TOKEN_URL "
                "(it should end in /oauth2/token on the environment host).",
                correlation_id=reply.correlation_id,
                status=status,
            )
        try:
            return codec.decode_issued_token(reply.response.content)
        except codec.UnreadableReply:
            raise CommunitiesError(
                "Coolblue sent a reply we could not read.",
                correlation_id=reply.correlation_id,
                status=status,
            ) from None


def _token_refused_message(status: int) -> str:
    if status == 401:
        return (
            "Coolblue refused our client credentials (401). Check "
            "COMMUNITIES_CLIENT_ID and COMMUNITIES_CLIENT_SECRET, and that "
            "COMMUNITIES_TOKEN_URL belongs to the same environment (acceptance or "
            "production) as those credentials."
        )
    return (
        "Coolblue's token endpoint rejected our request (400). Check that "
        "COMMUNITIES_TOKEN_URL is the environment's /oauth2/token address and that the "
        "client is set up for the client-credentials grant."
    )
