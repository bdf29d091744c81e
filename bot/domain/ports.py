"""What the domain needs from the outside world, as Protocols.

The domain never imports Redis, HTTP or Slack: `bot.storage` implements the stores,
`bot.communities` the members API, `bot.slack` the notifier (see bot.domain.notifier).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from bot.domain.requests import MemberRequest, Status


@dataclass(frozen=True)
class TransitionResult:
    """`ok` when this call made the change; `outcome` says what happened: ok | approved |
    partial (more approvals needed) | expired | conflict | missing | own | duplicate.
    `attempts` counts executions, for a change that counted one."""

    ok: bool
    outcome: str
    attempts: int = 0


class RequestStore(Protocol):
    """Requests and their indexes; every state change atomic across processes."""

    def create(
        self, request: MemberRequest, audit_entry: list[str], *, enqueue: bool = False
    ) -> str | None:
        """Store a new request; or return the ID of the open request for the same
        community and address, storing nothing."""

    def get(self, request_id: str) -> MemberRequest | None: ...

    def get_many(self, request_ids: Sequence[str]) -> list[MemberRequest]: ...

    def set_fields(self, request_id: str, **values: str) -> None: ...

    def transition(
        self,
        request_id: str,
        *,
        allowed: set[Status],
        to: Status,
        audit_entry: list[str],
        updates: dict[str, str] | None = None,
        enqueue: bool = False,
        count_attempt: bool = False,
    ) -> TransitionResult: ...

    def approve(
        self, request_id: str, approver_id: str, audit_entry: list[str], expiry_entry: list[str]
    ) -> TransitionResult:
        """Record an approval; `outcome` "expired" when the request was past its lifetime
        (it is then expired, with `expiry_entry` in the audit trail)."""

    def park(self, request_id: str, outcome: str, actor: str) -> bool:
        """Fail approved work that keeps failing before it reaches the API."""

    def mark_round_announced(self, request_id: str, round_number: int) -> None: ...

    def round_announced(self, request_id: str) -> bool: ...

    def pending_ids(self, limit: int = 50) -> list[str]: ...

    def pending_created_before(self, cutoff: float) -> list[str]: ...

    def recent_ids(self, limit: int = 20) -> list[str]: ...

    def ids_of_requester(self, user_id: str, limit: int = 20) -> list[str]: ...

    def notification_lock(self, request_id: str) -> AbstractContextManager[object]: ...

    def release_due(self, limit: int = 100) -> list[str]:
        """Move dated requests that are due to the work queue, each once; their IDs."""

    def scheduled_ids(self, due_before: float | None = None, limit: int = 50) -> list[str]:
        """Dated requests waiting to run, soonest first."""

    def forget_before(self, cutoff: float) -> None:
        """Drop what is older than the retention from the indexes and the audit trail."""


class GroupCache(Protocol):
    """User-group members shared by every process for a few minutes."""

    def get(self, group_id: str) -> list[str] | None: ...

    def put(self, group_id: str, members: Sequence[str], ttl_seconds: int) -> None: ...


class AuditLog(Protocol):
    def entries(self, request_id: str | None = None) -> Iterator[dict[str, str]]: ...
