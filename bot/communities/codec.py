"""The bodies on the wire: our models to the JSON the API takes, and its replies back.

Field names come from `contract.py`; this module only decides the shape. It does no I/O
and knows no correlation IDs beyond the one it is handed, so it is tested on its own
(tests/unit/test_codec.py). A reply that does not have the promised shape raises
`UnreadableReply`; the client turns that into a `CommunitiesError` with the status.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot.communities import contract
from bot.communities.errors import InvalidRequest
from bot.communities.models import (
    Community,
    CommunityList,
    NewMember,
    RemainingCredit,
    RevokedCredit,
)
from bot.communities.tokens import IssuedToken
from bot.domain.money import money_json, to_cents

__all__ = [
    "UnreadableReply",
    "decode_community_list",
    "decode_invalid_request",
    "decode_issued_token",
    "decode_json",
    "decode_remaining_credit",
    "decode_revoked_credit",
    "encode_json",
    "encode_new_member",
    "new_member_body",
]


class UnreadableReply(ValueError):
    """A reply body that is not JSON, or not the shape the contract promises."""


# Requests ----------------------------------------------------------------------------


def new_member_body(member: NewMember) -> dict[str, Any]:
    """The POST members body: {"Member": {...}, "Credits": [{"Credit": 750.00}]}.

    Raises InvalidRequest (before anything is sent) for a credit that is not whole cents.
    """
    credit_field = f"{contract.CREDITS}[0].{contract.CREDIT}"
    if not member.credit.is_finite() or to_cents(member.credit) != member.credit:
        # Never round someone's money silently: refuse what is not whole cents.
        raise InvalidRequest(field_errors={credit_field: ["must be an amount in whole cents"]})
    person: dict[str, Any] = {
        contract.EMAIL_ADDRESS: member.email,
        contract.FIRST_NAME: member.first_name,
        contract.LAST_NAME: member.last_name,
    }
    if member.external_reference is not None:
        person[contract.EXTERNAL_REFERENCE] = member.external_reference
    return {
        contract.MEMBER_OBJECT: person,
        contract.CREDITS: [{contract.CREDIT: to_cents(member.credit)}],
    }


def encode_new_member(member: NewMember) -> bytes:
    """The POST members body as the bytes that are sent."""
    return encode_json(new_member_body(member))


def encode_json(value: Any) -> bytes:
    """JSON where a Decimal is a number with exactly two decimals. The standard encoder
    would need float for that, and float is how 0.30 turns into 0.30000000000000004."""
    return money_json(value).encode("utf-8")


# Replies -----------------------------------------------------------------------------


def decode_json(content: bytes) -> Any:
    """Any JSON reply, numbers with a fraction as Decimal (never float)."""
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError:
        raise UnreadableReply("not JSON") from None


def decode_community_list(content: bytes, *, correlation_id: str) -> CommunityList:
    """GET /communities. A community without a name is named by its ID."""
    data = decode_json(content)
    items = data.get(contract.COMMUNITIES) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UnreadableReply(f"no {contract.COMMUNITIES} list")
    communities = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(contract.COMMUNITY_ID), str):
            raise UnreadableReply(f"a community without an {contract.COMMUNITY_ID}")
        community_id = item[contract.COMMUNITY_ID]
        name = item.get(contract.COMMUNITY_NAME)
        communities.append(Community(community_id, name if isinstance(name, str) else community_id))
    return CommunityList(tuple(communities), correlation_id)


def decode_remaining_credit(
    content: bytes, *, correlation_id: str, fallback_email: str
) -> RemainingCredit:
    """The reply of a create and of GET .../credit; the address we asked about when the
    reply leaves it out."""
    data = decode_json(content)
    return RemainingCredit(
        email=_optional_text(data, contract.EMAIL_ADDRESS) or fallback_email,
        remaining_credit=_money(data, contract.REMAINING_CREDIT),
        correlation_id=correlation_id,
        first_name=_optional_text(data, contract.FIRST_NAME),
        last_name=_optional_text(data, contract.LAST_NAME),
        external_reference=_optional_text(data, contract.EXTERNAL_REFERENCE),
    )


def decode_revoked_credit(
    content: bytes, *, correlation_id: str, fallback_email: str
) -> RevokedCredit:
    """The reply of a delete."""
    data = decode_json(content)
    return RevokedCredit(
        email=_optional_text(data, contract.EMAIL_ADDRESS) or fallback_email,
        revoked_credit=_money(data, contract.REVOKED_CREDIT),
        correlation_id=correlation_id,
    )


def decode_issued_token(content: bytes) -> IssuedToken:
    """The token endpoint's reply: a bearer token and its lifetime in seconds."""
    data = decode_json(content)
    if not isinstance(data, dict):
        raise UnreadableReply("token reply is not an object")
    token = data.get(contract.TOKEN_ACCESS_TOKEN)
    lifetime = data.get(contract.TOKEN_EXPIRES_IN)
    token_type = data.get(contract.TOKEN_TYPE, "Bearer")
    if (
        not isinstance(token, str)
        or not token
        or isinstance(lifetime, bool)
        or not isinstance(lifetime, int | Decimal)
        or lifetime <= 0
        or str(token_type).lower() != "bearer"
    ):
        raise UnreadableReply("not a bearer token with a lifetime")
    return IssuedToken(token, float(lifetime))


def decode_invalid_request(content: bytes, *, correlation_id: str) -> InvalidRequest:
    """A 400's problem details as InvalidRequest; field errors when the API names them,
    else its detail or title. An unreadable body gives the generic message."""
    try:
        data = json.loads(content, parse_float=Decimal)
    except ValueError:
        data = {}
    problem: dict[str, Any] = data if isinstance(data, dict) else {}
    errors = problem.get(contract.PROBLEM_ERRORS)
    field_errors: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for field, messages in errors.items():
            items = messages if isinstance(messages, list) else [messages]
            field_errors[str(field)] = [str(m) for m in items]
    message = None
    if not field_errors:
        detail = problem.get(contract.PROBLEM_DETAIL) or problem.get(contract.PROBLEM_TITLE)
        message = f"Coolblue rejected the request: {detail}" if detail else None
    return InvalidRequest(
        message, field_errors=field_errors, correlation_id=correlation_id, status=400
    )


def _money(data: Any, field: str) -> Decimal:
    value = data.get(field) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise UnreadableReply(f"{field} is not a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise UnreadableReply(f"{field} is not a finite number")
    return to_cents(amount)


def _optional_text(data: Any, field: str) -> str | None:
    value = data.get(field) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
