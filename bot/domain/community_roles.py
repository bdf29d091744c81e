"""An actor's roles in one community, for the decision table (PRODUCT.md sections 9, 10).

    ROLES_HR / ROLES_MANAGER / ROLES_SUPPORT / ROLES_ADMIN     the role in every community
    [communities.<id>] requesters / approvers / support         hr / manager / support there
    an active delegation (/community away)                      the absent approver's manager
                                                                role, where they hold it
    escalate_to, once a request is escalated                    may decide that request

User groups (S…) are resolved by the existing RoleDirectory (usergroups.users.list, cached
in Redis), so a group in the file behaves as one in ROLES_*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from bot.domain.community_policy import PolicyBook
from bot.domain.delegation import Delegation, DelegationSource, active_for
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role, RoleDirectory

FILE_ROLES = (Role.HR, Role.MANAGER, Role.SUPPORT)


class CommunityRoles:
    def __init__(
        self,
        book: PolicyBook,
        directory: RoleDirectory,
        *,
        delegations: DelegationSource | None = None,
        timezone: ZoneInfo | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        """`directory` holds ROLES_* and resolves groups; `delegations`, `timezone` and
        `now` (the business clock) are needed for delegation only."""
        self.book = book
        self.directory = directory
        self.delegations = delegations
        self.timezone = timezone or ZoneInfo("Europe/Amsterdam")
        self.now = now

    # The decision table's input ------------------------------------------------------

    def roles_for(self, user_id: str, community_id: str) -> frozenset[Role]:
        """Every role `user_id` holds in `community_id`: their own, plus manager while
        they stand in for an absent approver of that community. None in a community the
        bot does not manage."""
        roles = set(self.own_roles(user_id, community_id))
        if Role.MANAGER not in roles and self.standing_in_for(user_id, community_id):
            roles.add(Role.MANAGER)
        return frozenset(roles)

    def own_roles(self, user_id: str, community_id: str) -> frozenset[Role]:
        """ROLES_* (admin holds every role) and the file's grants, no delegation."""
        policy = self.book.for_community(community_id)
        if policy is None:
            return frozenset()
        roles = set(self.directory.roles_of(user_id))
        for role in FILE_ROLES:
            if role not in roles and self.granted(policy.grants(role), user_id):
                roles.add(role)
        return frozenset(roles)

    def standing_in_for(self, user_id: str, community_id: str) -> list[str]:
        """The absent approvers `user_id` decides for in `community_id` now (for the audit:
        "approved by @someone for @absent"). Empty when `user_id` is a manager there in
        their own right: then they decide as themselves."""
        if self.delegations is None or self.now is None:
            return []
        active = self._active(user_id)  # one Redis read; mostly empty, and then no more
        if not active or Role.MANAGER in self.own_roles(user_id, community_id):
            return []
        return [
            item.absent_id
            for item in active
            if Role.MANAGER in self.own_roles(item.absent_id, community_id)
        ]

    def may_decide_escalated(self, user_id: str, request: MemberRequest) -> bool:
        """An escalation approver of the request's community, once it is escalated: from
        then on they may decide it too (the decision table adds manager for them)."""
        policy = self.book.for_community(request.community_id)
        if policy is None or not request.escalated_at:
            return False
        return self.granted(policy.escalate_to, user_id)

    def roles_on(self, user_id: str, request: MemberRequest) -> frozenset[Role]:
        """`roles_for` the request's community, plus manager for an escalation approver of
        an escalated request."""
        roles = self.roles_for(user_id, request.community_id)
        if Role.MANAGER not in roles and self.may_decide_escalated(user_id, request):
            return roles | {Role.MANAGER}
        return roles

    # Who to show what ---------------------------------------------------------------

    def communities_of(self, user_id: str, community_ids: Iterable[str], *roles: Role) -> list[str]:
        """The communities among `community_ids` where `user_id` holds any of `roles` (any
        role at all when none are given): what the modals, /community credit, pending and
        App Home offer them."""
        wanted = set(roles or Role)
        return [cid for cid in community_ids if self.roles_for(user_id, cid) & wanted]

    def users_with(self, role: Role, community_id: str) -> set[str]:
        """Every user holding `role` in `community_id` through ROLES_* or the file (for
        reminders and mentions); groups expanded."""
        users = set(self.directory.users_with(role))
        policy = self.book.for_community(community_id)
        if policy is not None:
            users.update(self._expand(policy.grants(role)))
        return users

    def escalation_approvers(self, community_id: str) -> set[str]:
        """The users an escalation of `community_id` mentions; groups expanded."""
        policy = self.book.for_community(community_id)
        return self._expand(policy.escalate_to) if policy is not None else set()

    # Internals ----------------------------------------------------------------------

    def granted(self, ids: Iterable[str], user_id: str) -> bool:
        for item in ids:
            if item == user_id:
                return True
            if item[0] == "S" and user_id in self.directory.group_members(item):
                return True
        return False

    def _expand(self, ids: Iterable[str]) -> set[str]:
        users: set[str] = set()
        for item in ids:
            users.update(self.directory.group_members(item) if item[0] == "S" else {item})
        return users

    def _active(self, delegate_id: str) -> list[Delegation]:
        assert self.delegations is not None and self.now is not None
        return active_for(self.delegations.all(), delegate_id, self.now(), self.timezone)
