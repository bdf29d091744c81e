"""The Coolblue Communities API client: the calls, their typed errors, money as Decimal.

Where to look:

* auth.py            the bearer token on each call (an httpx.Auth flow) and the token request
* tokens.py          the token cached in Redis, renewed by one process at a time
* retry.py           which requests are sent again, backoff, jitter and Retry-After
* codec.py           the JSON bodies: the POST members body, the replies as models
* contract.py        every path and field name
* community_cache.py the cached list of communities
* errors.py          the typed errors and their words for people

Nothing here knows about Slack or the bot's settings (see bot/runtime/communities.py).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import httpx
from pydantic import SecretStr
from redis import Redis

from bot.communities import codec, contract
from bot.communities.auth import (
    OPERATION_EXTENSION,
    BearerAuth,
    ClientAuth,
    TokenEndpoint,
    request_headers,
)
from bot.communities.community_cache import CommunityCache
from bot.communities.errors import (
    AlreadyMember,
    AuthenticationFailed,
    CommunitiesError,
    CommunityNotAvailable,
    NotFound,
)
from bot.communities.models import (
    Community,
    CommunityList,
    NewMember,
    RemainingCredit,
    RevokedCredit,
)
from bot.communities.retry import AttemptObserver, Reply, RetryPolicy
from bot.communities.tokens import RenewalObserver, TokenCache, cache_namespace

__all__ = ["CommunitiesClient"]

logger = logging.getLogger("bot.communities")

# Operation names for logs: the contract's operationIds.
OP_LIST = "listCommunities"
OP_CREATE = "createMember"
OP_CREDIT = "getRemainingCredit"
OP_DELETE = "deleteMember"

_Decoded = TypeVar("_Decoded")


class CommunitiesClient:
    """Synchronous, thread-safe client of one Communities API environment.

    `allowed_community_ids` narrows what the API lists (COMMUNITY_IDS); `client_auth`
    says how we authenticate at the token endpoint ("body" or HTTP "basic"). For metrics,
    `on_attempt` is told of every HTTP attempt, token requests included (operationId,
    status or transport error, seconds), and `on_token_renewal` of each token renewal this
    process made ("renewed" or "failed"); neither is ever given a URL, header or address.
    `stop`, once set, ends every wait (Retry-After, backoff, a token renewal elsewhere) with
    Interrupted, so a process told to stop is not held by Coolblue's pauses.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        company: str,
        redis: Redis,
        allowed_community_ids: tuple[str, ...] | list[str] = (),
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        retry_after_cap: float = 30.0,
        client_auth: ClientAuth = "body",
        transport: httpx.BaseTransport | None = None,
        on_attempt: AttemptObserver | None = None,
        on_token_renewal: RenewalObserver | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if not company.strip():
            raise ValueError("company must not be empty: it names us in the User-Agent")
        self._base_url = base_url.rstrip("/")
        self._company = company
        self._allowed = tuple(allowed_community_ids)
        self._retry = RetryPolicy(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            retry_after_cap=retry_after_cap,
            observer=on_attempt,
            stop=stop,
        )
        self.user_agent = contract.USER_AGENT_PREFIX + company
        self._http = httpx.Client(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=32, max_keepalive_connections=16, keepalive_expiry=30.0
            ),
            transport=transport,
            follow_redirects=False,
        )
        self._communities = CommunityCache(redis, cache_namespace(self._base_url, client_id))
        self.token_endpoint = TokenEndpoint(
            self._http,
            url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            user_agent=self.user_agent,
            retry=self._retry,
            client_auth=client_auth,
        )
        # The renewing process may take all its attempts; waiters must outlast that.
        lock_ttl = self._retry.max_attempts * (timeout + backoff_cap) + 1.0
        self.tokens = TokenCache(
            redis,
            token_url=token_url,
            client_id=client_id,
            fetch=self.token_endpoint,
            lock_ttl=lock_ttl,
            on_renewal=on_token_renewal,
            stop=stop,
        )
        self._auth = BearerAuth(self.tokens)

    def __repr__(self) -> str:
        return f"CommunitiesClient(base_url={self._base_url!r}, company={self._company!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CommunitiesClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Communities ---------------------------------------------------------------

    def list_communities(self, refresh: bool = False) -> CommunityList:
        """The communities the API lists for this client, narrowed by COMMUNITY_IDS."""
        listed = None if refresh else self._communities.get()
        if listed is None:
            listed = self._fetch_communities()
            self._communities.put(listed)
        return self._narrow(listed)

    def ensure_community(self, community_id: str) -> Community:
        """The community, or CommunityNotAvailable before any member call is made."""
        if self._allowed and community_id not in self._allowed:
            raise _not_available(community_id)
        found = _find(self.list_communities(), community_id)
        if found is None and self._communities.may_refresh_on_miss():
            found = _find(self.list_communities(refresh=True), community_id)
        if found is None:
            raise _not_available(community_id)
        return found

    # Members -------------------------------------------------------------------

    def create_member(
        self, community_id: str, member: NewMember, *, correlation_id: str | None = None
    ) -> RemainingCredit:
        """Onboard a member. Raises AmbiguousCreate when the outcome is unknown: check
        with get_remaining_credit before trying again, never re-send blindly."""
        self.ensure_community(community_id)
        body = codec.encode_new_member(member)
        reply = self._api(
            OP_CREATE,
            "POST",
            contract.members_path(community_id),
            correlation_id=correlation_id,
            content=body,
            replayable=False,
        )
        self._raise_for_status(OP_CREATE, reply, community_id)
        return _decoded(
            reply,
            lambda content, cid: codec.decode_remaining_credit(
                content, correlation_id=cid, fallback_email=member.email
            ),
        )

    def get_remaining_credit(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RemainingCredit:
        self.ensure_community(community_id)
        reply = self._api(
            OP_CREDIT,
            "GET",
            contract.member_credit_path(community_id, email),
            correlation_id=correlation_id,
        )
        self._raise_for_status(OP_CREDIT, reply, community_id)
        return _decoded(
            reply,
            lambda content, cid: codec.decode_remaining_credit(
                content, correlation_id=cid, fallback_email=email
            ),
        )

    def delete_member(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RevokedCredit:
        """Offboard a member. `revoked_credit` is None when an earlier attempt of this
        call had already removed the member (we only learnt so from a 404)."""
        self.ensure_community(community_id)
        reply = self._api(
            OP_DELETE,
            "DELETE",
            contract.member_path(community_id, email),
            correlation_id=correlation_id,
        )
        if reply.response.status_code == 404 and reply.ambiguous_before:
            logger.info(
                "communities operation=%s outcome=already-removed correlation_id=%s",
                OP_DELETE,
                reply.correlation_id,
                extra={"correlation_id": reply.correlation_id},
            )
            return RevokedCredit(
                email=email, revoked_credit=None, correlation_id=reply.correlation_id
            )
        self._raise_for_status(OP_DELETE, reply, community_id)
        return _decoded(
            reply,
            lambda content, cid: codec.decode_revoked_credit(
                content, correlation_id=cid, fallback_email=email
            ),
        )

    # Internals -----------------------------------------------------------------

    def _fetch_communities(self) -> CommunityList:
        reply = self._api(OP_LIST, "GET", contract.LIST_COMMUNITIES, correlation_id=None)
        self._raise_for_status(OP_LIST, reply, None)
        return _decoded(
            reply, lambda content, cid: codec.decode_community_list(content, correlation_id=cid)
        )

    def _narrow(self, listed: CommunityList) -> CommunityList:
        if not self._allowed:
            return listed
        unlisted = [cid for cid in self._allowed if _find(listed, cid) is None]
        if unlisted:
            # IDs of communities, not people: fine to log, and it explains a short menu.
            logger.warning(
                "communities COMMUNITY_IDS not listed by the API: %s", ", ".join(unlisted)
            )
        kept = tuple(c for c in listed.communities if c.id in self._allowed)
        return CommunityList(kept, listed.correlation_id)

    def _api(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        correlation_id: str | None,
        content: bytes | None = None,
        replayable: bool = True,
    ) -> Reply:
        """One API call with retries (retry.py); the bearer token and its one renewal on
        a 401 are the Auth flow's (auth.py). A 401 after the renewal is raised here."""
        ours = correlation_id or str(uuid.uuid4())
        headers = request_headers(self.user_agent, ours)
        if content is not None:
            headers["Content-Type"] = "application/json"

        def attempt_once() -> httpx.Response:
            return self._http.request(
                method,
                path,
                headers=headers,
                content=content,
                auth=self._auth,
                extensions={OPERATION_EXTENSION: operation},
            )

        reply = self._retry.send(
            operation, attempt_once, correlation_id=ours, replayable=replayable
        )
        if reply.response.status_code == 401:
            raise AuthenticationFailed(correlation_id=reply.correlation_id, status=401)
        return reply

    def _raise_for_status(self, operation: str, reply: Reply, community_id: str | None) -> None:
        status = reply.response.status_code
        if 200 <= status < 300:
            return
        cid = reply.correlation_id
        if status == 400:
            raise codec.decode_invalid_request(reply.response.content, correlation_id=cid)
        if status == 404:
            raise NotFound(
                _not_found_message(operation, community_id), correlation_id=cid, status=404
            )
        if status == 409:
            raise AlreadyMember(correlation_id=cid, status=409)
        if status == 403:
            raise CommunitiesError(
                "Coolblue refused access (403): this client is not allowed to do that in "
                "this community. Ask Coolblue to check the integration's permissions.",
                correlation_id=cid,
                status=403,
            )
        raise CommunitiesError(
            f"Coolblue answered with an unexpected status {status}.",
            correlation_id=cid,
            status=status,
        )


# Helpers ---------------------------------------------------------------------------


def _decoded(reply: Reply, decode: Callable[[bytes, str], _Decoded]) -> _Decoded:
    """`decode(body, correlation_id)`, an unreadable body as a CommunitiesError."""
    try:
        return decode(reply.response.content, reply.correlation_id)
    except codec.UnreadableReply:
        raise CommunitiesError(
            "Coolblue sent a reply we could not read.",
            correlation_id=reply.correlation_id,
            status=reply.response.status_code,
        ) from None


def _find(listed: CommunityList, community_id: str) -> Community | None:
    return next((c for c in listed.communities if c.id == community_id), None)


def _not_available(community_id: str) -> CommunityNotAvailable:
    return CommunityNotAvailable(
        f"Community '{community_id}' is not available to this integration. Community IDs "
        "of the acceptance and production environments differ; use one the bot offers."
    )


def _not_found_message(operation: str, community_id: str | None) -> str:
    if operation == OP_CREATE:
        return (
            f"Coolblue does not know community '{community_id}' for this client. "
            "Community IDs of acceptance and production differ."
        )
    return (
        f"Not found: this e-mail address is not a member of community "
        f"'{community_id}' (or the community is unknown to this client)."
    )
