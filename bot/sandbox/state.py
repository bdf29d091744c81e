"""What the sandbox remembers: communities, members, tokens, counters, faults, a request log.

Everything lives behind one lock, because the HTTP server answers requests on many
threads. Readers get copies, so a test can inspect state while requests are in flight.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.domain.money import to_cents

OPERATIONS = ("getToken", "listCommunities", "createMember", "deleteMember", "getRemainingCredit")
TOKEN_OPERATION = "getToken"
CREATE_OPERATION = "createMember"


@dataclass
class SandboxFaults:
    """Misbehaviour to inject. Changes apply to the next requests; `_next` counters count down.

    The `_next` faults and `error_rate` hit the API operations; they hit the token
    endpoint only when `operation` is "getToken", so tests of API retries do not also
    have to survive a broken token endpoint. `rate_limit_operation`, when set, is the one
    operation `rate_limit_next` counts down on, whatever `operation` says (a create whose
    answer is lost, then a check that gets 429).
    """

    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_next: int = 0
    retry_after_seconds: int = 1
    fail_next: int = 0
    fail_status: int = 503
    hang_next: int = 0
    hang_seconds: float = 30.0
    drop_after_create_next: int = 0
    drop_next: int = 0
    operation: str | None = None
    rate_limit_operation: str | None = None

    def clear(self) -> None:
        """Back to the defaults, in place, so every holder of this object sees it."""
        for spec in dataclasses.fields(self):
            setattr(self, spec.name, spec.default)


@dataclass(frozen=True)
class FaultPlan:
    """What the faults decided for one request, taken atomically under the state lock."""

    latency_seconds: float = 0.0
    drop: bool = False
    status: int | None = None  # answer with this problem status instead of handling
    retry_after_seconds: int | None = None
    hang_seconds: float = 0.0


@dataclass
class _Member:
    email: str
    first_name: str
    last_name: str
    external_reference: str | None
    remaining_credit: Decimal

    def as_dict(self, community_id: str) -> dict[str, Any]:
        return {
            "community_id": community_id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "external_reference": self.external_reference,
            "remaining_credit": self.remaining_credit,
        }


class AlreadyMember(Exception):
    """The e-mail address (case-insensitive) is already a member of that community."""


class UnknownCommunity(KeyError):
    """The sandbox was not seeded with that community ID."""


@dataclass
class SandboxState:
    communities: list[tuple[str, str]]
    client_id: str
    client_secret: str
    token_lifetime: float = 3600
    faults: SandboxFaults = field(default_factory=SandboxFaults)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._random = random.Random()
        self._members: dict[tuple[str, str], _Member] = {}
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._token_requests = 0
        self._operation_counts: dict[str, int] = {}
        self._requests: list[dict[str, Any]] = []

    # Counters and log ------------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """Successful token issuances."""
        with self._lock:
            return self._token_requests

    @property
    def operation_counts(self) -> dict[str, int]:
        """Requests received per operationId, including failed and faulted ones."""
        with self._lock:
            return dict(self._operation_counts)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every token and API request: method, raw path, headers (a case-insensitive
        `Headers`; the token endpoint's Authorization redacted), parsed body, status."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def count_operation(self, operation: str) -> None:
        with self._lock:
            self._operation_counts[operation] = self._operation_counts.get(operation, 0) + 1

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    # Communities and members -------------------------------------------------------

    def has_community(self, community_id: str) -> bool:
        return any(known == community_id for known, _ in self.communities)

    def member(self, community_id: str, email: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._members.get((community_id, email.lower()))
            return found.as_dict(community_id) if found else None

    def members(self, community_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                member.as_dict(cid)
                for (cid, _), member in self._members.items()
                if community_id is None or cid == community_id
            ]

    def add_member(
        self,
        community_id: str,
        email: str,
        first_name: str,
        last_name: str,
        credit: Decimal,
        external_reference: str | None = None,
    ) -> dict[str, Any]:
        """Store a member; raises UnknownCommunity or AlreadyMember."""
        if not self.has_community(community_id):
            raise UnknownCommunity(community_id)
        with self._lock:
            key = (community_id, email.lower())
            if key in self._members:
                raise AlreadyMember(community_id)
            self._members[key] = _Member(
                email, first_name, last_name, external_reference, to_cents(credit)
            )
            return self._members[key].as_dict(community_id)

    def remove_member(self, community_id: str, email: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._members.pop((community_id, email.lower()), None)
            return found.as_dict(community_id) if found else None

    # Tokens ------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            # Forget expired tokens here so a long benchmark does not grow the dict forever.
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.token_lifetime
            self._token_requests += 1
        return token

    def token_is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def reset(self) -> None:
        """Forget members, tokens, counters, the request log and faults."""
        with self._lock:
            self._members.clear()
            self._tokens.clear()
            self._token_requests = 0
            self._operation_counts.clear()
            self._requests.clear()
            self.faults.clear()

    # Faults ------------------------------------------------------------------------

    def plan_faults(self, operation: str, base_latency_ms: int) -> FaultPlan:
        """Decide, and count down, the faults for one request of `operation`."""
        with self._lock:
            faults = self.faults
            latency = (base_latency_ms + max(faults.latency_ms, 0)) / 1000
            limited = faults.rate_limit_operation
            if limited is not None and limited == operation and self._take("rate_limit_next"):
                return FaultPlan(
                    latency_seconds=latency,
                    status=429,
                    retry_after_seconds=faults.retry_after_seconds,
                )
            if not self._faults_apply_to(operation):
                return FaultPlan(latency_seconds=latency)
            if self._take("drop_next"):
                return FaultPlan(latency_seconds=latency, drop=True)
            if limited is None and self._take("rate_limit_next"):
                return FaultPlan(
                    latency_seconds=latency,
                    status=429,
                    retry_after_seconds=faults.retry_after_seconds,
                )
            if self._take("fail_next"):
                return FaultPlan(latency_seconds=latency, status=faults.fail_status)
            if self._take("hang_next"):
                return FaultPlan(latency_seconds=latency, hang_seconds=faults.hang_seconds)
            if faults.error_rate > 0 and self._random.random() < faults.error_rate:
                return FaultPlan(latency_seconds=latency, status=503)
            return FaultPlan(latency_seconds=latency)

    def take_drop_after_create(self) -> bool:
        with self._lock:
            return self._faults_apply_to(CREATE_OPERATION) and self._take("drop_after_create_next")

    def _faults_apply_to(self, operation: str) -> bool:
        wanted = self.faults.operation
        if wanted is None:
            return operation != TOKEN_OPERATION
        return wanted == operation

    def _take(self, counter: str) -> bool:
        remaining = getattr(self.faults, counter)
        if remaining <= 0:
            return False
        setattr(self.faults, counter, remaining - 1)
        return True
