"""POLICY_FILE meets the settings and the API: the one place that knows all three.

- `policy_base`: the environment's policy (ROLES_*, APPROVALS_CHANNEL, …), the layer the
  file refines (bot.domain.community_policy).
- `policy_book`: the effective policy the bot runs with, from the file or the environment.
- `unlisted_problems`: the file's communities the API does not list for this client.
- `describe_book` (bot.domain.policy_describe, re-exported): the effective policy per
  community, as `python -m bot policy check` and `/community policy` print it.

A restart reads the file again; there is no reload.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.domain.community_policy import (
    PolicyBase,
    PolicyBook,
    environment_book,
)
from bot.domain.policy_describe import describe_book
from bot.domain.policy_file import PolicyFileError, read_policy
from bot.domain.roles import Role

if TYPE_CHECKING:
    from bot.communities import CommunitiesClient
    from bot.runtime.settings import Settings


def policy_base(settings: Settings) -> PolicyBase:
    return PolicyBase(
        channel=settings.approvals_channel or "",
        approvals_add=settings.approvals_required_add,
        approvals_remove=settings.approvals_required_remove,
        max_credit=settings.max_credit_eur,
        expiry_hours=settings.request_expiry_hours,
        reminder_hours=settings.reminder_after_hours,
        roles={
            Role.HR: settings.roles_hr,
            Role.MANAGER: settings.roles_manager,
            Role.SUPPORT: settings.roles_support,
            Role.ADMIN: settings.roles_admin,
        },
    )


def policy_book(settings: Settings, *, require_channel: bool = False) -> PolicyBook:
    """The effective policy: POLICY_FILE's, or the environment's when it is unset.
    Raises PolicyFileError (one line per problem) for a file that cannot be used."""
    base = policy_base(settings)
    if settings.policy_file is None:
        return environment_book(base)
    return read_policy(settings.policy_file, base, require_channel=require_channel)


def policy_file_problems(settings: Settings, *, require_channel: bool) -> list[str]:
    """For start-up: the file's problems, the same lines `policy check` prints."""
    if settings.policy_file is None:
        return []
    try:
        policy_book(settings, require_channel=require_channel)
    except PolicyFileError as exc:
        return problem_lines(settings.policy_file, exc.problems)
    return []


def problem_lines(path: str, problems: list[str]) -> list[str]:
    """Start-up's lines for the file: a heading naming it, then the problems as `python -m
    bot policy check` prints them."""
    return [f"POLICY_FILE ({path}): {len(problems)} problem(s):"] + [f"  {x}" for x in problems]


def unlisted_problems(community_ids: Iterable[str], listed: set[str]) -> list[str]:
    """A community the file names that the API does not list for this client (after
    COMMUNITY_IDS) is a problem: requests for it could never be carried out."""
    shown = ", ".join(sorted(listed)) or "none"
    return [
        f"communities.{community_id}: the Communities API does not list this community for "
        f"this client (it lists: {shown})"
        for community_id in community_ids
        if community_id not in listed
    ]


def listed_community_ids(api: CommunitiesClient) -> set[str]:
    return {community.id for community in api.list_communities(refresh=True).communities}


__all__ = [
    "describe_book",
    "policy_base",
    "policy_book",
    "policy_file_problems",
    "problem_lines",
    "unlisted_problems",
    "listed_community_ids",
]
