"""The body codec on its own: our models to the API's JSON and back, no I/O."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.communities import InvalidRequest, IssuedToken, NewMember, contract
from bot.communities.codec import (
    UnreadableReply,
    decode_community_list,
    decode_invalid_request,
    decode_issued_token,
    decode_json,
    decode_remaining_credit,
    decode_revoked_credit,
    encode_json,
    encode_new_member,
    new_member_body,
)

EMAIL = "jane@example.com"
CREDIT_FIELD = f"{contract.CREDITS}[0].{contract.CREDIT}"


def jane(credit: str = "750.00", external_reference: str | None = "HR-1") -> NewMember:
    return NewMember(
        email=EMAIL,
        first_name="Jane",
        last_name="Doe",
        credit=Decimal(credit),
        external_reference=external_reference,
    )


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


# The POST members body ---------------------------------------------------------------


def test_new_member_body_has_the_contract_shape() -> None:
    assert new_member_body(jane()) == {
        contract.MEMBER_OBJECT: {
            contract.EMAIL_ADDRESS: EMAIL,
            contract.FIRST_NAME: "Jane",
            contract.LAST_NAME: "Doe",
            contract.EXTERNAL_REFERENCE: "HR-1",
        },
        contract.CREDITS: [{contract.CREDIT: Decimal("750.00")}],
    }


def test_external_reference_is_left_out_when_there_is_none() -> None:
    person = new_member_body(jane(external_reference=None))[contract.MEMBER_OBJECT]
    assert contract.EXTERNAL_REFERENCE not in person


def test_encoded_body_is_exactly_these_bytes() -> None:
    expected = (
        f'{{"{contract.MEMBER_OBJECT}":{{"{contract.EMAIL_ADDRESS}":"{EMAIL}",'
        f'"{contract.FIRST_NAME}":"Jane","{contract.LAST_NAME}":"Doe",'
        f'"{contract.EXTERNAL_REFERENCE}":"HR-1"}},'
        f'"{contract.CREDITS}":[{{"{contract.CREDIT}":750.00}}]}}'
    )
    assert encode_new_member(jane()) == expected.encode()
    assert json.loads(encode_new_member(jane()), parse_float=Decimal) == new_member_body(jane())


@pytest.mark.parametrize(
    ("credit", "sent"),
    [
        ("750", "750.00"),
        ("0.5", "0.50"),
        ("0.01", "0.01"),
        ("2500.00", "2500.00"),
    ],
)
def test_credit_goes_out_with_exactly_two_decimals(credit: str, sent: str) -> None:
    raw = encode_new_member(jane(credit)).decode()
    assert f'"{contract.CREDIT}":{sent}}}' in raw


def test_sum_of_decimals_is_sent_as_exact_cents() -> None:
    member = NewMember(
        email=EMAIL, first_name="Jane", last_name="Doe", credit=Decimal("0.10") + Decimal("0.20")
    )
    raw = encode_new_member(member).decode()
    assert f'"{contract.CREDIT}":0.30' in raw
    assert "0.3000" not in raw and "0.29999" not in raw


@pytest.mark.parametrize("credit", ["10.005", "0.001", "NaN", "Infinity"])
def test_credit_that_is_not_whole_cents_is_refused(credit: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        new_member_body(jane(credit))
    assert list(caught.value.field_errors) == [CREDIT_FIELD]
    assert CREDIT_FIELD in caught.value.message


def test_names_are_escaped_as_json_strings() -> None:
    member = NewMember(
        email='a"b@example.com', first_name="Zoë", last_name="O'Brien\n", credit=Decimal("1.00")
    )
    decoded = json.loads(encode_new_member(member))
    person = decoded[contract.MEMBER_OBJECT]
    assert person[contract.EMAIL_ADDRESS] == 'a"b@example.com'
    assert person[contract.FIRST_NAME] == "Zoë"
    assert person[contract.LAST_NAME] == "O'Brien\n"


def test_encode_json_handles_the_plain_types() -> None:
    value = {"a": [1, True, None, "x"], "b": (Decimal("2"),), 3: {}}
    assert encode_json(value) == b'{"a":[1,true,null,"x"],"b":[2.00],"3":{}}'


def test_encode_json_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        encode_json({"Credit": 0.3})


# Replies -----------------------------------------------------------------------------


def test_remaining_credit_reply() -> None:
    reply = body(
        **{
            contract.EMAIL_ADDRESS: EMAIL,
            contract.FIRST_NAME: "Jane",
            contract.LAST_NAME: "Doe",
            contract.EXTERNAL_REFERENCE: "HR-1",
            contract.REMAINING_CREDIT: 750,
        }
    )
    credit = decode_remaining_credit(reply, correlation_id="c-1", fallback_email="x@example.com")
    assert credit.email == EMAIL
    assert str(credit.remaining_credit) == "750.00"
    assert (credit.first_name, credit.last_name, credit.external_reference) == (
        "Jane",
        "Doe",
        "HR-1",
    )
    assert credit.correlation_id == "c-1"


def test_remaining_credit_is_decimal_never_float() -> None:
    reply = f'{{"{contract.REMAINING_CREDIT}": 0.30000000000000004}}'.encode()
    credit = decode_remaining_credit(reply, correlation_id="c", fallback_email=EMAIL)
    assert isinstance(credit.remaining_credit, Decimal)
    assert str(credit.remaining_credit) == "0.30"


def test_remaining_credit_falls_back_to_the_address_asked_about() -> None:
    reply = body(**{contract.REMAINING_CREDIT: 12.5})
    credit = decode_remaining_credit(reply, correlation_id="c", fallback_email=EMAIL)
    assert credit.email == EMAIL
    assert credit.remaining_credit == Decimal("12.50")
    assert credit.first_name is None and credit.external_reference is None


@pytest.mark.parametrize(
    "reply",
    [
        b"not json",
        b"[]",
        b"{}",
        body(**{contract.REMAINING_CREDIT: "750.00"}),
        body(**{contract.REMAINING_CREDIT: True}),
        body(**{contract.REMAINING_CREDIT: None}),
        f'{{"{contract.REMAINING_CREDIT}": NaN}}'.encode(),
        f'{{"{contract.REMAINING_CREDIT}": Infinity}}'.encode(),
    ],
)
def test_unreadable_credit_reply(reply: bytes) -> None:
    with pytest.raises(UnreadableReply):
        decode_remaining_credit(reply, correlation_id="c", fallback_email=EMAIL)


def test_revoked_credit_reply() -> None:
    reply = body(**{contract.EMAIL_ADDRESS: EMAIL, contract.REVOKED_CREDIT: 12.34})
    revoked = decode_revoked_credit(reply, correlation_id="c-2", fallback_email="x@example.com")
    assert revoked.email == EMAIL
    assert str(revoked.revoked_credit) == "12.34"
    assert revoked.correlation_id == "c-2"
    with pytest.raises(UnreadableReply):
        decode_revoked_credit(
            body(**{contract.EMAIL_ADDRESS: EMAIL}), correlation_id="c", fallback_email=EMAIL
        )


def test_community_list_reply() -> None:
    reply = body(
        **{
            contract.COMMUNITIES: [
                {
                    contract.COMMUNITY_ID: "acme-employees",
                    contract.COMMUNITY_NAME: "Acme Employees",
                },
                {contract.COMMUNITY_ID: "acme-interns"},
            ]
        }
    )
    listed = decode_community_list(reply, correlation_id="c-3")
    assert [(c.id, c.name) for c in listed.communities] == [
        ("acme-employees", "Acme Employees"),
        ("acme-interns", "acme-interns"),
    ]
    assert listed.correlation_id == "c-3"
    assert (
        decode_community_list(body(**{contract.COMMUNITIES: []}), correlation_id="c").communities
        == ()
    )


@pytest.mark.parametrize(
    "reply",
    [
        b"{}",
        b"[]",
        body(**{contract.COMMUNITIES: {}}),
        body(**{contract.COMMUNITIES: [{contract.COMMUNITY_NAME: "No id"}]}),
        body(**{contract.COMMUNITIES: [{contract.COMMUNITY_ID: 7}]}),
        body(**{contract.COMMUNITIES: ["acme"]}),
    ],
)
def test_unreadable_community_list(reply: bytes) -> None:
    with pytest.raises(UnreadableReply):
        decode_community_list(reply, correlation_id="c")


def test_token_reply() -> None:
    reply = body(
        **{
            contract.TOKEN_ACCESS_TOKEN: "abc",
            contract.TOKEN_TYPE: "bearer",
            contract.TOKEN_EXPIRES_IN: 3600,
        }
    )
    assert decode_issued_token(reply) == IssuedToken("abc", 3600.0)
    no_type = body(**{contract.TOKEN_ACCESS_TOKEN: "abc", contract.TOKEN_EXPIRES_IN: 59.5})
    assert decode_issued_token(no_type) == IssuedToken("abc", 59.5)


@pytest.mark.parametrize(
    "fields",
    [
        {contract.TOKEN_EXPIRES_IN: 3600},
        {contract.TOKEN_ACCESS_TOKEN: "", contract.TOKEN_EXPIRES_IN: 3600},
        {contract.TOKEN_ACCESS_TOKEN: "abc"},
        {contract.TOKEN_ACCESS_TOKEN: "abc", contract.TOKEN_EXPIRES_IN: 0},
        {contract.TOKEN_ACCESS_TOKEN: "abc", contract.TOKEN_EXPIRES_IN: True},
        {contract.TOKEN_ACCESS_TOKEN: "abc", contract.TOKEN_EXPIRES_IN: "3600"},
        {
            contract.TOKEN_ACCESS_TOKEN: "abc",
            contract.TOKEN_EXPIRES_IN: 3600,
            contract.TOKEN_TYPE: "mac",
        },
    ],
)
def test_unreadable_token_reply(fields: dict[str, object]) -> None:
    with pytest.raises(UnreadableReply):
        decode_issued_token(body(**fields))


def test_problem_with_field_errors() -> None:
    reply = body(
        **{
            contract.PROBLEM_TITLE: "Validation failed",
            contract.PROBLEM_ERRORS: {
                "Member.EmailAddress": ["must be an e-mail address"],
                "Member.FirstName": "required",
            },
        }
    )
    error = decode_invalid_request(reply, correlation_id="c-4")
    assert error.field_errors == {
        "Member.EmailAddress": ["must be an e-mail address"],
        "Member.FirstName": ["required"],
    }
    assert "Member.EmailAddress: must be an e-mail address" in error.message
    assert (error.status, error.correlation_id) == (400, "c-4")


def test_problem_without_field_errors_uses_detail_then_title() -> None:
    detailed = body(**{contract.PROBLEM_TITLE: "Bad", contract.PROBLEM_DETAIL: "Credit too high"})
    assert decode_invalid_request(detailed, correlation_id="c").message == (
        "Coolblue rejected the request: Credit too high"
    )
    titled = body(**{contract.PROBLEM_TITLE: "Bad"})
    assert decode_invalid_request(titled, correlation_id="c").message == (
        "Coolblue rejected the request: Bad"
    )


@pytest.mark.parametrize("reply", [b"", b"<html>", b"[1]", b"{}"])
def test_unreadable_problem_gives_the_generic_message(reply: bytes) -> None:
    error = decode_invalid_request(reply, correlation_id="c")
    assert error.message == InvalidRequest.default_message
    assert error.field_errors == {}


def test_decode_json_reads_fractions_as_decimal() -> None:
    assert decode_json(b'{"a": 1.10, "b": 2}') == {"a": Decimal("1.10"), "b": 2}
    with pytest.raises(UnreadableReply):
        decode_json(b"{")
