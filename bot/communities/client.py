"""The Coolblue Communities API client: tokens, retries, typed errors, money as Decimal.

Every path and JSON field name comes from `contract.py`; every failure becomes one of
the typed errors in `errors.py`. Nothing here knows about Slack.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr
from redis import Redis

from bot.communities import contract
from bot.communities.errors import (
    AlreadyMember,
    AmbiguousCreate,
    AuthenticationFailed,
    CommunitiesError,
    CommunityNotAvailable,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Timeout,
)
from bot.communities.models import (
    Community,
    CommunityList,
    NewMember,
    RemainingCredit,
    RevokedCredit,
)
from bot.communities.tokens import IssuedToken, TokenCache, cache_namespace
from bot.runtime.settings import (
    DEFAULT_SANDBOX_CLIENT_ID,
    DEFAULT_SANDBOX_CLIENT_SECRET,
    ConfigError,
    Settings,
)
from bot.domain.money import to_cents

logger = logging.getLogger("bot.communities")

COMMUNITIES_CACHE_PREFIX = "communities:list:"
COMMUNITIES_CACHE_SECONDS = 300
LOCAL_CACHE_SECONDS = 5.0
# An unknown ID triggers at most one fresh GET /communities per this many seconds, so a
# community Coolblue just added shows up without letting typos hammer the API.
MISS_REFRESH_SECONDS = 30
SANDBOX_COMPANY = "CommunityBot"

# Operation names for logs: the contract's operationIds.
OP_TOKEN = "getToken"
OP_LIST = "listCommunities"
OP_CREATE = "createMember"
OP_CREDIT = "getRemainingCredit"
OP_DELETE = "deleteMember"

# The request certainly never reached the server: safe to repeat even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Our own mistake (bad URL, proxy set-up): repeating cannot help.
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.LocalProtocolError)


# httpx logs every request URL at INFO, and member URLs carry the e-mail address. Redact
# any path segment that looks like an address so turning on httpx logging leaks nothing.
_ADDRESS_SEGMENT = re.compile(r"[^/\s\"'?#]*(?:@|%40)[^/\s\"'?#]*", re.IGNORECASE)


class _RedactAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _ADDRESS_SEGMENT.sub("<redacted>", record.msg)
        return True


def _redact(arg: object) -> object:
    if isinstance(arg, str | httpx.URL):
        return _ADDRESS_SEGMENT.sub("<redacted>", str(arg))
    return arg


def _install_httpx_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactAddresses) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactAddresses())


_install_httpx_redaction()


@dataclass(frozen=True)
class _Reply:
    response: httpx.Response
    correlation_id: str
    # An earlier attempt may have been processed (timeout, dropped connection, 5xx).
    ambiguous_before: bool


class CommunitiesClient:
    """Synchronous, thread-safe client of one Communities API environment."""

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not company.strip():
            raise ValueError("company must not be empty: it names us in the User-Agent")
        self._base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._company = company
        self._redis = redis
        self._allowed = tuple(allowed_community_ids)
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self.user_agent = contract.USER_AGENT_PREFIX + company
        self._http = httpx.Client(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16,
                                keepalive_expiry=30.0),
            transport=transport,
            follow_redirects=False,
        )
        self._communities_key = COMMUNITIES_CACHE_PREFIX + cache_namespace(
            self._base_url, client_id
        )
        self._local_communities: tuple[float, CommunityList | None] = (0.0, None)
        # The renewing process may take all its attempts; waiters must outlast that.
        lock_ttl = self._max_attempts * (timeout + backoff_cap) + 1.0
        self.tokens = TokenCache(
            redis, token_url=token_url, client_id=client_id, fetch=self._fetch_token,
            lock_ttl=lock_ttl,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        redis: Redis,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> CommunitiesClient:
        """Build from Settings; `base_url`/`token_url` point at the in-process sandbox."""
        api_url = base_url or settings.communities_api_url
        tok_url = token_url or settings.communities_token_url
        sandbox = settings.uses_sandbox
        client_id = settings.communities_client_id or (
            DEFAULT_SANDBOX_CLIENT_ID if sandbox else None)
        secret = settings.communities_client_secret or (
            SecretStr(DEFAULT_SANDBOX_CLIENT_SECRET) if sandbox else None)
        company = settings.communities_company or (SANDBOX_COMPANY if sandbox else None)
        missing = [name for name, value in (
            ("COMMUNITIES_API_URL", api_url), ("COMMUNITIES_TOKEN_URL", tok_url),
            ("COMMUNITIES_CLIENT_ID", client_id), ("COMMUNITIES_CLIENT_SECRET", secret),
            ("COMMUNITIES_COMPANY", company)) if value is None]
        if missing:
            raise ConfigError([f"{name}: required for the Communities API" for name in missing])
        assert api_url and tok_url and client_id and secret and company  # narrowed above
        return cls(
            base_url=api_url, token_url=tok_url, client_id=client_id, client_secret=secret,
            company=company, redis=redis, allowed_community_ids=settings.community_ids,
            timeout=settings.communities_timeout_seconds, transport=transport,
        )

    def __repr__(self) -> str:
        return f"CommunitiesClient(base_url={self._base_url!r}, company={self._company!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CommunitiesClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # Communities ---------------------------------------------------------------

    def list_communities(self, refresh: bool = False) -> CommunityList:
        """The communities the API lists for this client, narrowed by COMMUNITY_IDS."""
        listed = None if refresh else self._cached_communities()
        if listed is None:
            listed = self._fetch_communities()
            self._redis.set(self._communities_key, _dump_communities(listed),
                            ex=COMMUNITIES_CACHE_SECONDS)
            self._local_communities = (time.monotonic() + LOCAL_CACHE_SECONDS, listed)
        return self._narrow(listed)

    def ensure_community(self, community_id: str) -> Community:
        """The community, or CommunityNotAvailable before any member call is made."""
        if self._allowed and community_id not in self._allowed:
            raise _not_available(community_id)
        found = _find(self.list_communities(), community_id)
        if found is None and self._may_refresh_on_miss():
            found = _find(self.list_communities(refresh=True), community_id)
        if found is None:
            raise _not_available(community_id)
        return found

    # Members -------------------------------------------------------------------

    def create_member(self, community_id: str, member: NewMember, *,
                      correlation_id: str | None = None) -> RemainingCredit:
        """Onboard a member. Raises AmbiguousCreate when the outcome is unknown: check
        with get_remaining_credit before trying again, never re-send blindly."""
        self.ensure_community(community_id)
        body = _json_bytes(_create_body(member))
        reply = self._api(OP_CREATE, "POST", contract.members_path(community_id),
                          correlation_id=correlation_id, content=body, replayable=False)
        self._raise_for_status(OP_CREATE, reply, community_id)
        data = _parse(reply)
        return _remaining_credit(data, reply, fallback_email=member.email)

    def get_remaining_credit(self, community_id: str, email: str, *,
                             correlation_id: str | None = None) -> RemainingCredit:
        self.ensure_community(community_id)
        reply = self._api(OP_CREDIT, "GET", contract.member_credit_path(community_id, email),
                          correlation_id=correlation_id)
        self._raise_for_status(OP_CREDIT, reply, community_id)
        return _remaining_credit(_parse(reply), reply, fallback_email=email)

    def delete_member(self, community_id: str, email: str, *,
                      correlation_id: str | None = None) -> RevokedCredit:
        """Offboard a member. `revoked_credit` is None when an earlier attempt of this
        call had already removed the member (we only learnt so from a 404)."""
        self.ensure_community(community_id)
        reply = self._api(OP_DELETE, "DELETE", contract.member_path(community_id, email),
                          correlation_id=correlation_id)
        if reply.response.status_code == 404 and reply.ambiguous_before:
            logger.info("communities operation=%s outcome=already-removed correlation_id=%s",
                        OP_DELETE, reply.correlation_id)
            return RevokedCredit(email=email, revoked_credit=None,
                                 correlation_id=reply.correlation_id)
        self._raise_for_status(OP_DELETE, reply, community_id)
        data = _parse(reply)
        return RevokedCredit(
            email=_optional_text(data, contract.EMAIL_ADDRESS) or email,
            revoked_credit=_money(data, contract.REVOKED_CREDIT, reply),
            correlation_id=reply.correlation_id,
        )

    # Communities list internals ----------------------------------------------

    def _fetch_communities(self) -> CommunityList:
        reply = self._api(OP_LIST, "GET", contract.LIST_COMMUNITIES, correlation_id=None)
        self._raise_for_status(OP_LIST, reply, None)
        data = _parse(reply)
        items = data.get(contract.COMMUNITIES) if isinstance(data, dict) else None
        if not isinstance(items, list):
            _unexpected(reply)
        communities = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get(contract.COMMUNITY_ID), str):
                _unexpected(reply)
            community_id = item[contract.COMMUNITY_ID]
            name = item.get(contract.COMMUNITY_NAME)
            communities.append(Community(community_id, name if isinstance(name, str)
                                         else community_id))
        return CommunityList(tuple(communities), reply.correlation_id)

    def _cached_communities(self) -> CommunityList | None:
        # A few seconds in this process on top of the shared Redis copy: every command and
        # every member call asks, and the list changes only when Coolblue changes it.
        held_until, held = self._local_communities
        if held is not None and time.monotonic() < held_until:
            return held
        raw = self._redis.get(self._communities_key)
        listed = _load_communities(raw) if raw is not None else None
        self._local_communities = (time.monotonic() + LOCAL_CACHE_SECONDS, listed)
        return listed

    def _narrow(self, listed: CommunityList) -> CommunityList:
        if not self._allowed:
            return listed
        unlisted = [cid for cid in self._allowed if _find(listed, cid) is None]
        if unlisted:
            # IDs of communities, not people: fine to log, and it explains a short menu.
            logger.warning("communities COMMUNITY_IDS not listed by the API: %s",
                           ", ".join(unlisted))
        kept = tuple(c for c in listed.communities if c.id in self._allowed)
        return CommunityList(kept, listed.correlation_id)

    def _may_refresh_on_miss(self) -> bool:
        return bool(self._redis.set(self._communities_key + ":miss-refresh", "1",
                                    nx=True, ex=MISS_REFRESH_SECONDS))

    # Tokens --------------------------------------------------------------------

    def _fetch_token(self) -> IssuedToken:
        correlation_id = str(uuid.uuid4())
        form = {
            contract.TOKEN_FIELD_GRANT_TYPE: contract.TOKEN_GRANT_TYPE,
            contract.TOKEN_FIELD_CLIENT_ID: self._client_id,
            contract.TOKEN_FIELD_CLIENT_SECRET: self._client_secret.get_secret_value(),
        }
        # Asking for another token is harmless, so the token request may be repeated.
        reply = self._send(OP_TOKEN, "POST", self._token_url, headers=self._headers(
            correlation_id), data=form, correlation_id=correlation_id, replayable=True)
        status = reply.response.status_code
        if status in (400, 401):
            raise AuthenticationFailed(_token_refused_message(status),
                                       correlation_id=reply.correlation_id, status=status)
        if status != 200:
            raise CommunitiesError(
                f"Coolblue's token endpoint answered {status}. Check COMMUNITIES_TOKEN_URL "
                "(it should end in /oauth2/token on the environment host).",
                correlation_id=reply.correlation_id, status=status)
        return _issued_token(_parse(reply), reply)

    # Transport -----------------------------------------------------------------

    def _headers(self, correlation_id: str) -> dict[str, str]:
        return {
            "User-Agent": self.user_agent,
            contract.CORRELATION_HEADER: correlation_id,
            "Accept": "application/json",
        }

    def _api(self, operation: str, method: str, path: str, *, correlation_id: str | None,
             content: bytes | None = None, replayable: bool = True) -> _Reply:
        """One API call with a bearer token; a 401 renews the token and retries once."""
        ours = correlation_id or str(uuid.uuid4())
        headers = self._headers(ours)
        if content is not None:
            headers["Content-Type"] = "application/json"
        ambiguous = False
        for auth_attempt in (1, 2):
            token = self.tokens.get()
            headers["Authorization"] = f"Bearer {token}"
            reply = self._send(operation, method, path, headers=headers, content=content,
                               correlation_id=ours, replayable=replayable)
            ambiguous = ambiguous or reply.ambiguous_before
            if reply.response.status_code != 401:
                return _Reply(reply.response, reply.correlation_id, ambiguous)
            if auth_attempt == 1:
                # Expired early, revoked, or rotated: drop it unless someone already has.
                self.tokens.invalidate(token)
                logger.info("communities operation=%s status=401 action=renew-token "
                            "correlation_id=%s", operation, reply.correlation_id)
        raise AuthenticationFailed(correlation_id=reply.correlation_id, status=401)

    def _send(self, operation: str, method: str, url: str, *, headers: dict[str, str],
              correlation_id: str, replayable: bool, content: bytes | None = None,
              data: dict[str, str] | None = None) -> _Reply:
        """Send with retries. `replayable=False` (create) never repeats a request the
        server may have processed: it raises AmbiguousCreate instead."""
        ambiguous = False
        failure: CommunitiesError = ServiceUnavailable(correlation_id=correlation_id)
        for attempt in range(1, self._max_attempts + 1):
            started = time.monotonic()
            try:
                response = self._http.request(method, url, headers=headers, content=content,
                                              data=data)
            except httpx.TransportError as exc:
                _log_attempt(operation, type(exc).__name__, attempt, started, correlation_id)
                failure, maybe_processed = _transport_failure(exc, correlation_id, replayable)
                ambiguous = ambiguous or maybe_processed
                delay = self._backoff(attempt)
            else:
                echoed = response.headers.get(contract.CORRELATION_HEADER) or correlation_id
                _log_attempt(operation, response.status_code, attempt, started, echoed)
                status = response.status_code
                if status == 429:
                    failure, delay = self._rate_limited(response, echoed, attempt)
                elif status >= 500:
                    if not replayable:
                        raise AmbiguousCreate(correlation_id=echoed, status=status)
                    failure = ServiceUnavailable(correlation_id=echoed, status=status)
                    ambiguous, delay = True, self._backoff(attempt)
                else:
                    return _Reply(response, echoed, ambiguous)
            if attempt < self._max_attempts:
                time.sleep(delay)
        raise failure

    def _rate_limited(self, response: httpx.Response, correlation_id: str,
                      attempt: int) -> tuple[RateLimited, float]:
        retry_after = _retry_after(response)
        failure = RateLimited(retry_after=retry_after, correlation_id=correlation_id)
        if retry_after is None:
            return failure, self._backoff(attempt)
        if retry_after > self._retry_after_cap:
            # Waiting that long would hold up a person in Slack; say so instead.
            raise RateLimited(
                f"Coolblue is rate-limiting us (429) and asks to wait {retry_after:.0f} s. "
                "Try again later.", retry_after=retry_after, correlation_id=correlation_id)
        return failure, retry_after

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spread retries of many workers instead of synchronising them.
        return random.uniform(0, min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1)))

    # Errors --------------------------------------------------------------------

    def _raise_for_status(self, operation: str, reply: _Reply, community_id: str | None) -> None:
        status = reply.response.status_code
        if 200 <= status < 300:
            return
        cid = reply.correlation_id
        if status == 400:
            raise _invalid_request(reply)
        if status == 404:
            raise NotFound(_not_found_message(operation, community_id), correlation_id=cid,
                           status=404)
        if status == 409:
            raise AlreadyMember(correlation_id=cid, status=409)
        if status == 403:
            raise CommunitiesError(
                "Coolblue refused access (403): this client is not allowed to do that in "
                "this community. Ask Coolblue to check the integration's permissions.",
                correlation_id=cid, status=403)
        raise CommunitiesError(f"Coolblue answered with an unexpected status {status}.",
                               correlation_id=cid, status=status)


# Helpers ---------------------------------------------------------------------------


def _log_attempt(operation: str, status: int | str, attempt: int, started: float,
                 correlation_id: str) -> None:
    # Never the URL (member URLs carry the e-mail address), never headers (the token).
    logger.info("communities operation=%s status=%s attempt=%d duration_ms=%d "
                "correlation_id=%s", operation, status, attempt,
                (time.monotonic() - started) * 1000, correlation_id)


def _transport_failure(exc: httpx.TransportError, correlation_id: str,
                       replayable: bool) -> tuple[CommunitiesError, bool]:
    """The error to raise if this was the last attempt, and whether the server may
    have processed the request."""
    if isinstance(exc, _NOT_RETRYABLE):
        raise CommunitiesError(
            "Could not send the request to Coolblue; check COMMUNITIES_API_URL and "
            "COMMUNITIES_TOKEN_URL (and any proxy settings).", correlation_id=correlation_id,
        ) from None
    is_timeout = isinstance(exc, httpx.TimeoutException)
    failure: CommunitiesError = (Timeout(correlation_id=correlation_id) if is_timeout
                                 else ServiceUnavailable(correlation_id=correlation_id))
    if isinstance(exc, _NOT_SENT):
        return failure, False
    if not replayable:
        raise AmbiguousCreate(correlation_id=correlation_id) from None
    return failure, True


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get(contract.RETRY_AFTER_HEADER)
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _not_available(community_id: str) -> CommunityNotAvailable:
    return CommunityNotAvailable(
        f"Community '{community_id}' is not available to this integration. Community IDs "
        "of the acceptance and production environments differ; use one the bot offers."
    )


def _not_found_message(operation: str, community_id: str | None) -> str:
    if operation == OP_CREATE:
        return (f"Coolblue does not know community '{community_id}' for this client. "
                "Community IDs of acceptance and production differ.")
    return (f"Not found: this e-mail address is not a member of community "
            f"'{community_id}' (or the community is unknown to this client).")


def _token_refused_message(status: int) -> str:
    if status == 401:
        return ("Coolblue refused our client credentials (401). Check "
                "COMMUNITIES_CLIENT_ID and COMMUNITIES_CLIENT_SECRET, and that "
                "COMMUNITIES_TOKEN_URL belongs to the same environment (acceptance or "
                "production) as those credentials.")
    return ("Coolblue's token endpoint rejected our request (400). Check that "
            "COMMUNITIES_TOKEN_URL is the environment's /oauth2/token address and that the "
            "client is set up for the client-credentials grant.")


def _invalid_request(reply: _Reply) -> InvalidRequest:
    problem = _problem(reply.response)
    errors = problem.get(contract.PROBLEM_ERRORS)
    field_errors: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for field, messages in errors.items():
            items = messages if isinstance(messages, list) else [messages]
            field_errors[str(field)] = [str(m) for m in items]
    message = None
    if not field_errors:
        detail = problem.get(contract.PROBLEM_DETAIL) or problem.get(contract.PROBLEM_TITLE)
        message = f"Coolblue rejected the request: {detail}" if detail else None
    return InvalidRequest(message, field_errors=field_errors,
                          correlation_id=reply.correlation_id, status=400)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _parse(reply: _Reply) -> Any:
    try:
        return json.loads(reply.response.content, parse_float=Decimal)
    except ValueError:
        _unexpected(reply)


def _unexpected(reply: _Reply) -> NoReturn:
    raise CommunitiesError("Coolblue sent a reply we could not read.",
                           correlation_id=reply.correlation_id,
                           status=reply.response.status_code)


def _money(data: Any, field: str, reply: _Reply) -> Decimal:
    value = data.get(field) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        _unexpected(reply)
    amount = Decimal(value)
    if not amount.is_finite():
        _unexpected(reply)
    return to_cents(amount)


def _optional_text(data: Any, field: str) -> str | None:
    value = data.get(field) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _remaining_credit(data: Any, reply: _Reply, *, fallback_email: str) -> RemainingCredit:
    return RemainingCredit(
        email=_optional_text(data, contract.EMAIL_ADDRESS) or fallback_email,
        remaining_credit=_money(data, contract.REMAINING_CREDIT, reply),
        correlation_id=reply.correlation_id,
        first_name=_optional_text(data, contract.FIRST_NAME),
        last_name=_optional_text(data, contract.LAST_NAME),
        external_reference=_optional_text(data, contract.EXTERNAL_REFERENCE),
    )


def _issued_token(data: Any, reply: _Reply) -> IssuedToken:
    if not isinstance(data, dict):
        _unexpected(reply)
    token = data.get(contract.TOKEN_ACCESS_TOKEN)
    lifetime = data.get(contract.TOKEN_EXPIRES_IN)
    token_type = data.get(contract.TOKEN_TYPE, "Bearer")
    if (not isinstance(token, str) or not token or isinstance(lifetime, bool)
            or not isinstance(lifetime, int | Decimal) or lifetime <= 0
            or str(token_type).lower() != "bearer"):
        _unexpected(reply)
    return IssuedToken(token, float(lifetime))


def _find(listed: CommunityList, community_id: str) -> Community | None:
    return next((c for c in listed.communities if c.id == community_id), None)


def _dump_communities(listed: CommunityList) -> str:
    return json.dumps({"communities": [[c.id, c.name] for c in listed.communities],
                       "correlation_id": listed.correlation_id})


def _load_communities(raw: str | bytes) -> CommunityList | None:
    try:
        data = json.loads(raw)
        communities = tuple(Community(str(i), str(n)) for i, n in data["communities"])
        return CommunityList(communities, str(data["correlation_id"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable cache entry: fetch again


# Request bodies --------------------------------------------------------------------


def _create_body(member: NewMember) -> dict[str, Any]:
    credit_field = f"{contract.CREDITS}[0].{contract.CREDIT}"
    if not member.credit.is_finite() or to_cents(member.credit) != member.credit:
        # Never round someone's money silently: refuse what is not whole cents.
        raise InvalidRequest(field_errors={credit_field: ["must be an amount in whole cents"]})
    person: dict[str, Any] = {
        contract.EMAIL_ADDRESS: member.email,
        contract.FIRST_NAME: member.first_name,
        contract.LAST_NAME: member.last_name,
    }
    if member.external_reference is not None:
        person[contract.EXTERNAL_REFERENCE] = member.external_reference
    return {contract.MEMBER_OBJECT: person,
            contract.CREDITS: [{contract.CREDIT: to_cents(member.credit)}]}


def _json_bytes(value: Any) -> bytes:
    """JSON where a Decimal is a number with exactly two decimals. The standard encoder
    would need float for that, and float is how 0.30 turns into 0.30000000000000004."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(to_cents(value), "f")
    if value is None or isinstance(value, bool | str):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    # float included: it has no place in a money API.
    raise TypeError(f"cannot encode {type(value).__name__} for the Communities API")
