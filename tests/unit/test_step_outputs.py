"""A step's outputs for a final request (bot.domain.steps.outputs): what manifest.yml
declares, and nothing a workflow could misread."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.requests import MemberRequest, Operation, Status
from bot.domain.steps import outputs


def request(operation: Operation = Operation.ADD, **fields: object) -> MemberRequest:
    values: dict[str, object] = {
        "id": "R0000ABCD",
        "operation": operation,
        "community_id": "acme",
        "community_name": "Acme",
        "email": "jane@example.com",
        "requester_id": "U0ALICE",
        "created_at": 1.0,
        "expires_at": 2.0,
        "approvals_required": 1,
        "environment": "SANDBOX",
        "credit": Decimal("750.00"),
    }
    values.update(fields)
    return MemberRequest(**values)  # type: ignore[arg-type]


def test_a_done_onboarding_gives_the_remaining_credit_with_two_decimals() -> None:
    done = request(status=Status.DONE, decided_by="U0BOB", result_credit=Decimal("749.5"))
    assert outputs(done) == {
        "request_id": "R0000ABCD",
        "status": "done",
        "decided_by": "U0BOB",
        "remaining_credit_eur": "749.50",
    }


def test_the_last_of_several_approvers_decided() -> None:
    done = request(status=Status.DONE, decided_by="U0BOB,U0GRACE")
    assert outputs(done)["decided_by"] == "U0GRACE"


def test_nobody_decided_when_the_system_did() -> None:
    expired = request(status=Status.EXPIRED, decided_by="system")
    assert outputs(expired) == {"request_id": "R0000ABCD", "status": "expired"}


def test_an_offboarding_or_an_unfinished_onboarding_has_no_credit() -> None:
    removed = request(Operation.REMOVE, status=Status.DONE, decided_by="U0BOB", credit=None)
    failed = request(status=Status.FAILED, decided_by="U0BOB")
    assert "remaining_credit_eur" not in outputs(removed)
    assert "remaining_credit_eur" not in outputs(failed)
