"""The members API as the domain sees it: what it sends, what comes back, what can go wrong.

`bot.communities` implements it over HTTP; its typed errors subclass the ones here, so
the domain decides (create again? already removed?) without knowing HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.i18n import N_


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


class MembersApiError(Exception):
    """A call failed; `message` is safe to show people, `correlation_id` is for support."""

    default_message = N_("The members API call failed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        correlation_id: str | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.correlation_id = correlation_id
        self.status = status
        super().__init__(self.message)


class NotAMember(MembersApiError):
    """The e-mail address is not a member of that community."""


class AlreadyAMember(MembersApiError):
    """The e-mail address is already a member of that community."""


class CreateOutcomeUnknown(MembersApiError):
    """A create may or may not have happened (timeout, dropped connection, 5xx): check
    whether the member exists before creating again."""


class MembersApi(Protocol):
    def get_remaining_credit(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RemainingCredit: ...

    def create_member(
        self, community_id: str, member: NewMember, *, correlation_id: str | None = None
    ) -> RemainingCredit: ...

    def delete_member(
        self, community_id: str, email: str, *, correlation_id: str | None = None
    ) -> RevokedCredit: ...
