"""What the Communities API client takes and returns: plain, typed, money as Decimal."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.members import NewMember, RemainingCredit, RevokedCredit

__all__ = ["Community", "CommunityList", "NewMember", "RemainingCredit", "RevokedCredit"]


@dataclass(frozen=True)
class Community:
    id: str
    name: str


@dataclass(frozen=True)
class CommunityList:
    communities: tuple[Community, ...]
    correlation_id: str
