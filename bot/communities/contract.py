"""Every path and JSON field name of the Communities API, in one place.

The contract is `shared/contracts/communities-api.openapi.yaml`. Parts of it are
reconstructed from Coolblue's integration guide, so an integrator who sees the real
Swagger edits this module and nothing else. The client and the sandbox both read it.
"""

from __future__ import annotations

from urllib.parse import quote

# Paths, relative to the API base URL (which ends in /communities-api).
LIST_COMMUNITIES = "/communities"
MEMBERS = "/v2/communities/{community_id}/members"
MEMBER = "/v2/communities/{community_id}/members/{email}"
MEMBER_CREDIT = "/v2/communities/{community_id}/members/{email}/credit"

# Headers.
USER_AGENT_PREFIX = "Coolblue-"
CORRELATION_HEADER = "X-Correlation-ID"
RETRY_AFTER_HEADER = "Retry-After"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# Token endpoint (form fields and JSON reply).
TOKEN_GRANT_TYPE = "client_credentials"
TOKEN_FIELD_GRANT_TYPE = "grant_type"
TOKEN_FIELD_CLIENT_ID = "client_id"
TOKEN_FIELD_CLIENT_SECRET = "client_secret"
TOKEN_ACCESS_TOKEN = "access_token"
TOKEN_TYPE = "token_type"
TOKEN_EXPIRES_IN = "expires_in"

# GET /communities
COMMUNITIES = "Communities"
COMMUNITY_ID = "Id"
COMMUNITY_NAME = "Name"

# POST members body: {"Member": {...}, "Credits": [{"Credit": 750.00}]}
MEMBER_OBJECT = "Member"
EMAIL_ADDRESS = "EmailAddress"
FIRST_NAME = "FirstName"
LAST_NAME = "LastName"
EXTERNAL_REFERENCE = "ExternalReference"
CREDITS = "Credits"
CREDIT = "Credit"

# Replies.
REMAINING_CREDIT = "RemainingCredit"
REVOKED_CREDIT = "RevokedCredit"

# Problem details (application/problem+json).
PROBLEM_TITLE = "title"
PROBLEM_STATUS = "status"
PROBLEM_DETAIL = "detail"
PROBLEM_ERRORS = "errors"
PROBLEM_TRACE_ID = "traceId"


def email_segment(email: str) -> str:
    """An e-mail address as one percent-encoded path segment (`+` → %2B, `@` → %40)."""
    return quote(email, safe="")


def members_path(community_id: str) -> str:
    return MEMBERS.format(community_id=quote(community_id, safe=""))


def member_path(community_id: str, email: str) -> str:
    return MEMBER.format(community_id=quote(community_id, safe=""), email=email_segment(email))


def member_credit_path(community_id: str, email: str) -> str:
    return MEMBER_CREDIT.format(
        community_id=quote(community_id, safe=""), email=email_segment(email)
    )
