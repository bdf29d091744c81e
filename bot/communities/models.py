"""What the Communities API client takes and returns: plain, typed, money as Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Community:
    id: str
    name: str


@dataclass(frozen=True)
class NewMember:
    """An employee to onboard with a business credit (euros, two places)."""

    email: str
    first_name: str
    last_name: str
    credit: Decimal
    external_reference: str | None = None


@dataclass(frozen=True)
class RemainingCredit:
    email: str
    remaining_credit: Decimal
    correlation_id: str
    first_name: str | None = None
    last_name: str | None = None
    external_reference: str | None = None


@dataclass(frozen=True)
class RevokedCredit:
    """`revoked_credit` is None when the removal was confirmed only by a 404 on a retry
    that followed an ambiguous first attempt (the first attempt did the removal)."""

    email: str
    revoked_credit: Decimal | None
    correlation_id: str


@dataclass(frozen=True)
class CommunityList:
    communities: tuple[Community, ...]
    correlation_id: str
