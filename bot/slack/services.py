"""What the Slack listeners share: the domain's services and the look-ups they use.

Built once by the runtime (bot.runtime.bootstrap) and handed to every listener through
Bolt's context; the Slack layer never reads the settings itself.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.communities import CommunitiesClient
from bot.domain.approvals import RequestService
from bot.domain.clock import Clock
from bot.domain.community_policy import PolicyBook
from bot.domain.community_roles import CommunityRoles
from bot.domain.policy import Policy
from bot.domain.ports import AuditLog, RequestStore
from bot.domain.roles import Role, RoleDirectory
from bot.domain.steps import StepService
from bot.slack.ack_gate import ACKS, AfterAcks
from bot.slack.import_services import ImportServices
from bot.slack.notifier import SlackNotifier
from bot.slack.users import QuickRoles, UserDirectory
from bot.storage.delegations import RedisDelegationStore

log = logging.getLogger("bot.slack")


class HasId(Protocol):
    @property
    def id(self) -> str: ...


C = TypeVar("C", bound=HasId)

LOOKUP_THREADS = 4  # Coolblue look-ups at once (/community credit, communities)
LOOKUP_QUEUE = 32  # look-ups waiting or running; more are refused with "try again"


class Lane:
    """A bounded lane of post-ack work with threads of its own, so work that waits on one
    slow party (Coolblue) cannot take the threads other work needs (opening a modal within
    the trigger's 3 seconds runs on Bolt's listener executor, never here)."""

    def __init__(self, name: str, threads: int, limit: int) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(limit)
        self._taken = 0  # slots in use: work waiting or running
        self._count = threading.Lock()

    @property
    def busy(self) -> bool:
        """Work is waiting or running on this lane (the local console waits for it)."""
        return self._taken > 0

    def submit(self, work: Callable[[], None]) -> bool:
        """Run `work` on this lane; False (nothing started) when the lane is full."""
        if not self._slots.acquire(blocking=False):
            return False
        with self._count:
            self._taken += 1

        def run() -> None:
            try:
                ACKS.wait_quiet()  # acks in flight first (bot.slack.ack_gate)
                work()
            finally:
                with self._count:
                    self._taken -= 1
                self._slots.release()

        # In the submitter's context: the reader's language (i18n.use) goes along with the
        # work, as it does to Bolt's lazy listeners (bot.slack.app).
        self._pool.submit(contextvars.copy_context().run, run)
        return True

    def close(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


@dataclass
class Services:
    store: RequestStore
    roles: RoleDirectory
    requests: RequestService
    notifier: SlackNotifier
    users: UserDirectory
    api: CommunitiesClient
    policy: Policy
    audit_log: AuditLog
    environment: str  # SANDBOX, ACCEPTANCE or PRODUCTION: the badge shown outside production
    clock: Clock  # business time (filed, due, expires): movable in the console
    # Post-ack lanes: Coolblue look-ups, and background refreshes of cached Slack data.
    lookups: Lane = field(default_factory=lambda: Lane("lookup", LOOKUP_THREADS, LOOKUP_QUEUE))
    refresher: ThreadPoolExecutor = field(
        default_factory=lambda: AfterAcks(2, thread_name_prefix="refresh")
    )
    imports: ImportServices | None = None  # /community import (bot.slack.import_services)
    steps: StepService | None = None  # Workflow Builder steps (bot.domain.steps)
    # Each community's policy (POLICY_FILE, or the environment's one policy) and each
    # person's roles in it (bot.domain.community_roles); built by the runtime.
    book: PolicyBook | None = None
    community: CommunityRoles | None = None
    delegations: RedisDelegationStore | None = None  # /community away
    quick_roles: QuickRoles = field(init=False)  # roles on the ack path: cache only

    def __post_init__(self) -> None:
        self.quick_roles = QuickRoles(self.roles, self.refresher)

    # Roles per community (POLICY_FILE) ----------------------------------------------------

    @property
    def per_community(self) -> bool:
        """True with POLICY_FILE: roles and channels are per community."""
        return self.book is not None and self.community is not None and self.book.from_file

    def roles_anywhere(self, user_id: str, roles: frozenset[Role]) -> frozenset[Role]:
        """`roles` (ROLES_*, as looked up) plus every role the file grants `user_id` in any
        community, and manager for a delegate: what /community offers them at all. Each
        action then asks for the roles in the target's community."""
        if not self.per_community:
            return roles
        assert self.book is not None and self.community is not None
        held = set(roles)
        for community_id in self.book.communities:
            held |= self.community.roles_for(user_id, community_id)
        return frozenset(held)

    def roles_in(self, user_id: str, community_id: str, roles: frozenset[Role]) -> frozenset[Role]:
        """The roles `user_id` holds in `community_id` (`roles` without POLICY_FILE)."""
        if not self.per_community:
            return roles
        assert self.community is not None
        return self.community.roles_for(user_id, community_id)

    def visible(self, user_id: str, communities: list[C], *roles: Role) -> list[C]:
        """The communities among `communities` (anything with an `id`) where `user_id`
        holds one of `roles`: all of them without POLICY_FILE."""
        if not self.per_community:
            return communities
        assert self.community is not None
        wanted = set(roles or Role)
        return [c for c in communities if self.community.roles_for(user_id, c.id) & wanted]

    def close(self) -> None:
        """Stop the post-ack lanes: look-ups under way finish, queued refreshes are dropped."""
        self.lookups.close(wait=True)
        self.refresher.shutdown(wait=False, cancel_futures=True)

    def __deepcopy__(self, memo: dict[int, object]) -> Services:
        # Bolt deep-copies the request context for lazy listeners; the services are shared,
        # thread-safe and must stay one instance (connection pools, caches).
        return self
