"""The effective policy of each community (PRODUCT.md section 10), and the rules that read it.

Three layers, the later one winning key by key: the environment of section 5 (ROLES_*,
APPROVALS_CHANNEL, APPROVALS_REQUIRED_*, MAX_CREDIT_EUR, REQUEST_EXPIRY_HOURS,
REMINDER_AFTER_HOURS), the file's `[defaults]`, then its `[communities.<id>]`. Without
POLICY_FILE only the first layer exists and it is the one policy of every community, so a
one-community setup changes nothing. With the file, the bot manages the communities the
file names.

ROLES_* grant their role in every community the bot manages; `requesters`, `approvers` and
`support` add hr, manager and support in one community (`CommunityRoles.roles_for`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from bot.domain.money import format_euros
from bot.domain.policy import Policy
from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.roles import Role

Language = Literal["en", "nl"]
HOUR = 3600.0

# Where a value came from, for `python -m bot policy check` and for naming a rule:
# "communities.<id>", "defaults", or the environment variable.
ENVIRONMENT_ORIGINS = {
    "channel": "APPROVALS_CHANNEL",
    "approvals.add": "APPROVALS_REQUIRED_ADD",
    "approvals.remove": "APPROVALS_REQUIRED_REMOVE",
    "max_credit_eur": "MAX_CREDIT_EUR",
    "expiry_hours": "REQUEST_EXPIRY_HOURS",
    "reminder_hours": "REMINDER_AFTER_HOURS",
}
ROLE_OF_KEY = {"requesters": Role.HR, "approvers": Role.MANAGER, "support": Role.SUPPORT}


@dataclass(frozen=True)
class PolicyBase:
    """The environment's policy (runtime fills it from the settings): the bottom layer."""

    channel: str = ""
    approvals_add: int = 1
    approvals_remove: int = 1
    max_credit: Decimal = Decimal("2500.00")
    expiry_hours: float = 72.0
    reminder_hours: float = 24.0
    # ROLES_HR, ROLES_MANAGER, ROLES_SUPPORT, ROLES_ADMIN: in every community
    roles: Mapping[Role, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CommunityPolicy:
    """What one community's requests follow; every value already resolved."""

    community_id: str
    channel: str  # "" when none is configured (the console needs none)
    requesters: tuple[str, ...] = ()  # hr in this community (users U…/W…, groups S…)
    approvers: tuple[str, ...] = ()  # manager in this community
    support: tuple[str, ...] = ()  # support in this community
    approvals_add: int = 1
    approvals_remove: int = 1
    max_credit: Decimal = Decimal("2500.00")
    auto_approve_add_up_to: Decimal | None = None
    escalate_after_hours: float | None = None
    escalate_to: tuple[str, ...] = ()
    escalate_channel: str = ""
    expiry_hours: float = 72.0
    reminder_hours: float = 24.0
    language: Language = "en"
    # key -> where its value came from (see ENVIRONMENT_ORIGINS); keys never set are absent
    origins: Mapping[str, str] = field(default_factory=dict)

    def approvals_required(self, operation: Operation) -> int:
        return self.approvals_add if operation is Operation.ADD else self.approvals_remove

    @property
    def expiry_seconds(self) -> float:
        return self.expiry_hours * HOUR

    @property
    def reminder_seconds(self) -> float:
        return self.reminder_hours * HOUR

    @property
    def escalates(self) -> bool:
        return self.escalate_after_hours is not None and bool(self.escalate_to)

    def grants(self, role: Role) -> tuple[str, ...]:
        """The user and group IDs this community's file entries give `role`."""
        if role is Role.HR:
            return self.requesters
        if role is Role.MANAGER:
            return self.approvers
        if role is Role.SUPPORT:
            return self.support
        return ()

    def to_policy(self, base: Policy) -> Policy:
        """The request service's Policy for this community: its numbers, and the bot-wide
        retention and schedule of `base`."""
        return dataclasses.replace(
            base,
            approvals_add=self.approvals_add,
            approvals_remove=self.approvals_remove,
            max_credit=self.max_credit,
            expiry_seconds=self.expiry_seconds,
            reminder_seconds=self.reminder_seconds,
        )


@dataclass(frozen=True)
class PolicyBook:
    """The effective policy of every community the bot manages."""

    source: str  # the file's path, or "environment"
    global_roles: Mapping[Role, tuple[str, ...]]  # ROLES_*, in every managed community
    # From a file: the communities it names. From the environment: empty, and `everywhere`.
    communities: Mapping[str, CommunityPolicy] = field(default_factory=dict)
    everywhere: CommunityPolicy | None = None

    @property
    def from_file(self) -> bool:
        return self.everywhere is None

    @property
    def community_ids(self) -> tuple[str, ...] | None:
        """The communities the bot manages: the file's, or None for every one the API lists."""
        return tuple(self.communities) if self.from_file else None

    def manages(self, community_id: str) -> bool:
        return not self.from_file or community_id in self.communities

    def for_community(self, community_id: str) -> CommunityPolicy | None:
        """The community's policy; None for a community the file does not name."""
        if self.everywhere is not None:
            return dataclasses.replace(self.everywhere, community_id=community_id)
        return self.communities.get(community_id)

    def channels(self) -> set[str]:
        """Every channel approval messages may go to (for the manifest and the README)."""
        policies = list(self.communities.values())
        if self.everywhere is not None:
            policies.append(self.everywhere)
        return {p.channel for p in policies if p.channel}


def environment_book(base: PolicyBase) -> PolicyBook:
    """Without POLICY_FILE: the environment is the one policy of every community."""
    everywhere = CommunityPolicy(
        community_id="*",
        channel=base.channel,
        approvals_add=base.approvals_add,
        approvals_remove=base.approvals_remove,
        max_credit=base.max_credit,
        expiry_hours=base.expiry_hours,
        reminder_hours=base.reminder_hours,
        origins={key: origin for key, origin in ENVIRONMENT_ORIGINS.items()},
    )
    return PolicyBook(source="environment", global_roles=dict(base.roles), everywhere=everywhere)


# Auto-approval and escalation ----------------------------------------------------------


def auto_approve(
    policy: CommunityPolicy, operation: Operation, credit: Decimal | None
) -> str | None:
    """The rule that approves this request by itself, or None when people must decide.

    Only an onboarding, and only at or under `auto_approve_add_up_to_eur`: at the threshold
    yes, one cent over no. An onboarding without an amount is not auto-approved (the rule
    is about money; a request that names none is left to people). The name is the TOML
    key and its figure, for the audit ("approved by policy (rule …)")."""
    limit = policy.auto_approve_add_up_to
    if operation is not Operation.ADD or limit is None or credit is None:
        return None
    if credit > limit:
        return None
    origin = policy.origins.get("auto_approve_add_up_to_eur", f"communities.{policy.community_id}")
    return f"{origin}.auto_approve_add_up_to_eur = {format_euros(limit)}"


def escalation_due(policy: CommunityPolicy, request: MemberRequest, now: float) -> bool:
    """Whether the sweep should escalate `request` now: it is still pending, undecided for
    `escalate_after_hours` since it was filed, not expired, and not escalated before.

    Once per request: the marker is `MemberRequest.escalated_at` (0: never). The sweep
    claims it atomically (bot.storage.escalations) before it posts, so several workers
    escalate a request exactly once."""
    if not policy.escalates or policy.escalate_after_hours is None:
        return False
    if request.status is not Status.PENDING or request.escalated_at:
        return False
    if now >= request.expires_at:
        return False  # the sweep expires it instead
    return now >= request.created_at + policy.escalate_after_hours * HOUR
