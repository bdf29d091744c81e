"""Block Kit builders as people read them: pure functions, no Slack, no Redis."""

from __future__ import annotations

import pytest

from bot.domain.roles import Role
from bot.slack.blocks.replies import refusal


@pytest.mark.parametrize(
    ("action", "allowed", "expected"),
    [
        ("request onboarding", {Role.HR}, "Only HR and admins can request onboarding."),
        ("approve requests", {Role.MANAGER}, "Only managers and admins can approve requests."),
        (
            "see pending requests",
            {Role.MANAGER, Role.HR},
            "Only HR, managers and admins can see pending requests.",
        ),
        (
            "look up credit",
            {Role.SUPPORT, Role.HR, Role.MANAGER},
            "Only HR, managers, support staff and admins can look up credit.",
        ),
        ("export the audit trail", {Role.ADMIN}, "Only admins can export the audit trail."),
        (
            "list communities",
            set(Role),
            "Only people with a Community Bot role can list communities.",
        ),
    ],
)
def test_a_refusal_names_every_role_that_may_in_english(
    action: str, allowed: set[Role], expected: str
) -> None:
    reply = refusal(action, allowed)
    assert reply["text"] == f":no_entry: {expected} Ask an admin if you need this."
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
