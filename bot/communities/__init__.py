"""The Coolblue Communities API client. Knows nothing of Slack or of the bot's settings.

Start at client.py: its docstring says which module holds what.
"""

from bot.communities.client import CommunitiesClient
from bot.communities.errors import (
    AlreadyMember,
    AmbiguousCreate,
    AuthenticationFailed,
    CommunitiesError,
    CommunityNotAvailable,
    Interrupted,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Timeout,
)
from bot.communities.models import (
    Community,
    CommunityList,
    NewMember,
    RemainingCredit,
    RevokedCredit,
)
from bot.communities.redaction import RedactAddresses, install_log_filter
from bot.communities.retry import AttemptObserver
from bot.communities.tokens import IssuedToken, RenewalObserver, TokenCache

__all__ = [
    "AlreadyMember",
    "AmbiguousCreate",
    "AttemptObserver",
    "AuthenticationFailed",
    "CommunitiesClient",
    "CommunitiesError",
    "Community",
    "CommunityList",
    "CommunityNotAvailable",
    "Interrupted",
    "InvalidRequest",
    "IssuedToken",
    "NewMember",
    "NotFound",
    "RateLimited",
    "RedactAddresses",
    "RemainingCredit",
    "RenewalObserver",
    "RevokedCredit",
    "ServiceUnavailable",
    "Timeout",
    "TokenCache",
    "install_log_filter",
]
