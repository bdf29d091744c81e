"""Typed errors of the Communities API, each with a message a person can act on.

This is the one place that maps API failures to words for people. `message` is safe
to show in Slack (no secrets, no stack traces); `correlation_id` is what Coolblue
support asks for.

Each subclasses the domain's error for the same situation (bot.domain.members), so the
rules that decide what to do next read no HTTP.
"""

from __future__ import annotations

from bot.domain.members import (
    AlreadyAMember,
    CreateOutcomeUnknown,
    MembersApiError,
    NotAMember,
)


class CommunitiesError(MembersApiError):
    """Base class. `status` is the HTTP status when there was one."""

    default_message = "The Coolblue Communities API call failed."


class AuthenticationFailed(CommunitiesError):
    """401 from the API or the token endpoint."""

    default_message = (
        "Coolblue refused our credentials (401). Check COMMUNITIES_CLIENT_ID and "
        "COMMUNITIES_CLIENT_SECRET, and that COMMUNITIES_API_URL and COMMUNITIES_TOKEN_URL "
        "point at the same environment: acceptance tokens are not valid in production."
    )


class NotFound(CommunitiesError, NotAMember):
    """404: the community is unknown to this client, or the e-mail is not a member."""

    default_message = (
        "Not found: this e-mail address is not a member of that community, or the "
        "community ID belongs to the other environment."
    )


class AlreadyMember(CommunitiesError, AlreadyAMember):
    """409 on create."""

    default_message = "This e-mail address is already a member of that community."


class InvalidRequest(CommunitiesError):
    """400 with problem details; `field_errors` maps a field path to its messages."""

    default_message = "Coolblue rejected the request as invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        field_errors: dict[str, list[str]] | None = None,
        correlation_id: str | None = None,
        status: int | None = 400,
    ) -> None:
        self.field_errors = field_errors or {}
        if message is None and self.field_errors:
            message = "Coolblue rejected the request: " + "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in self.field_errors.items()
            )
        super().__init__(message, correlation_id=correlation_id, status=status)


class RateLimited(CommunitiesError):
    """429 that outlasted our retries."""

    default_message = "Coolblue is rate-limiting us (429). Try again in a minute."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        correlation_id: str | None = None,
        status: int | None = 429,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, correlation_id=correlation_id, status=status)


class ServiceUnavailable(CommunitiesError):
    """5xx or connection failures that outlasted our retries (safe operations)."""

    default_message = "Coolblue's Communities API is unavailable right now. Try again later."


class Timeout(CommunitiesError):
    """No answer in time (safe operations, after retries)."""

    default_message = "Coolblue's Communities API did not answer in time. Try again later."


class AmbiguousCreate(CommunitiesError, CreateOutcomeUnknown):
    """A create whose outcome is unknown (timeout, dropped connection, 5xx).

    Never re-send blindly: first check whether the member exists.
    """

    default_message = (
        "Coolblue did not confirm the create (timeout or dropped connection); "
        "it may or may not have been applied."
    )


class CommunityNotAvailable(CommunitiesError):
    """A community ID the API does not list for this client; refused before any call."""

    default_message = (
        "That community is not available to this integration. Community IDs of the "
        "acceptance and production environments differ."
    )


class Interrupted(Exception):
    """A wait (a Retry-After, a backoff, a 429 pause, another process's token renewal) was
    cut short by a stop. The call may or may not have reached Coolblue before: so this is no
    MembersApiError, and nothing is recorded as an outcome. The caller leaves the work to be
    resumed, which checks with Coolblue before creating anything."""

    def __init__(self, message: str = "Stopped while waiting to call Coolblue.") -> None:
        super().__init__(message)
