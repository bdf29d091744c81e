"""The Add employee, Remove employee and Reject modals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from bot import i18n
from bot.communities import Community
from bot.i18n import t
from bot.slack.blocks.kit import Block, context, section
from bot.slack.text import badge, euros, plain

ADD_EMPLOYEE = "add_employee"
REMOVE_EMPLOYEE = "remove_employee"
REJECT_REASON = "reject_reason"
CHANGE_DATE = "change_date"
AWAY = "away"


def _input(
    block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _text(
    placeholder: str = "",
    *,
    initial: str | None = None,
    max_length: int | None = None,
    multiline: bool = False,
    kind: str = "plain_text_input",
) -> Block:
    element: Block = {"type": kind}
    if kind == "plain_text_input" and multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    return element


def _community_select(communities: list[Community]) -> Block:
    options = [{"text": plain(f"{c.name} ({c.id})", 75), "value": c.id} for c in communities]
    element: Block = {
        "type": "static_select",
        "options": options,
        "placeholder": plain(t("Choose a community")),
    }
    if len(options) == 1:
        element["initial_option"] = options[0]
    return element


def _modal(
    callback_id: str,
    title: str,
    submit: str,
    blocks: list[Block],
    environment: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = badge(environment)
    if env:
        blocks = [
            context(
                t("{badge} · nothing here reaches real customers", badge=env)
                if environment != "PRODUCTION"
                else env
            )
        ] + blocks
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain(t("Cancel"), 24),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata or {}),
    }


def _date(initial: date | None = None) -> Block:
    element: Block = {"type": "datepicker", "placeholder": plain(t("As soon as approved"))}
    if initial is not None:
        element["initial_date"] = initial.isoformat()
    return element


def add_employee_modal(
    communities: list[Community],
    environment: str,
    *,
    email: str = "",
    max_credit: Any = None,
    timezone: str = "Europe/Amsterdam",
) -> dict[str, Any]:
    limit = t("At most {amount}, whole cents.", amount=euros(max_credit)) if max_credit else None
    blocks = [
        _input("community_id", t("Community"), _community_select(communities)),
        _input("first_name", t("First name"), _text(max_length=100)),
        _input("last_name", t("Last name"), _text(max_length=100)),
        _input(
            "email",
            t("E-mail"),
            _text(t("jane.doe@example.com"), initial=email, kind="email_text_input"),
        ),
        _input(
            "credit",
            t("Credit in euros"),
            _text(i18n.decimal_for_csv(Decimal("750.00"))),
            hint=limit,
        ),
        _input(
            "external_reference",
            t("Employee reference"),
            _text("HR-123456", max_length=100),
            optional=True,
            hint=t("Your own reference; Coolblue keeps it with the member."),
        ),
        _input(
            "note", t("Note to the approver"), _text(multiline=True, max_length=1000), optional=True
        ),
        _input(
            "start_date",
            t("Credit available from"),
            _date(),
            optional=True,
            hint=t(
                "Leave empty to onboard once approved. From the start of that day ({timezone}).",
                timezone=timezone,
            ),
        ),
    ]
    return _modal(ADD_EMPLOYEE, t("Add employee"), t("Request"), blocks, environment)


def remove_employee_modal(
    communities: list[Community],
    environment: str,
    *,
    email: str = "",
    timezone: str = "Europe/Amsterdam",
) -> dict[str, Any]:
    blocks = [
        section(
            t(
                ":warning: Offboarding *revokes the employee's remaining business credit*. "
                "Their Coolblue account itself remains, so orders, returns and customer "
                "service keep working."
            )
        ),
        _input("community_id", t("Community"), _community_select(communities)),
        _input(
            "email",
            t("E-mail"),
            _text(t("jane.doe@example.com"), initial=email, kind="email_text_input"),
        ),
        _input(
            "reason",
            t("Reason"),
            _text(t("Left the company on 30 November"), multiline=True, max_length=1000),
        ),
        _input(
            "last_day",
            t("Last working day"),
            _date(),
            optional=True,
            hint=t(
                "Leave empty to offboard once approved. After the end of that day ({timezone}).",
                timezone=timezone,
            ),
        ),
    ]
    return _modal(REMOVE_EMPLOYEE, t("Remove employee"), t("Request"), blocks, environment)


def change_date_modal(
    request_id: str, summary: str, label: str, current: date, environment: str
) -> dict[str, Any]:
    """Move a scheduled change. A date that shortens the time with credit keeps the
    approval; any other asks for a new one (bot.domain.approvals.change_date)."""
    blocks = [
        section(summary),
        _input("day", label, _date(current)),
        context(
            t(
                "A later start date or an earlier last day keeps the approval; "
                "any other change asks a manager to approve again."
            )
        ),
    ]
    return _modal(
        CHANGE_DATE, t("Change date"), t("Change"), blocks, environment, {"request_id": request_id}
    )


def away_modal(environment: str, until: date | None, timezone: str) -> dict[str, Any]:
    """/community away without an escaped mention: pick the last day and the stand-in."""
    day: Block = {"type": "datepicker", "placeholder": plain(t("Last day away"))}
    if until is not None:
        day["initial_date"] = until.isoformat()
    blocks = [
        _input(
            "until", t("Last day away"), day, hint=t("Inclusive, in {timezone}.", timezone=timezone)
        ),
        _input("delegate", t("Who decides for you"), {"type": "users_select"}),
        context(t("They decide what you could decide, in the communities you approve in.")),
    ]
    return _modal(AWAY, t("Away"), t("Save"), blocks, environment)


def reject_modal(
    request_id: str, summary: str, environment: str, origin: dict[str, str] | None = None
) -> dict[str, Any]:
    blocks = [
        section(t("Reject {summary}?", summary=summary)),
        _input(
            "reason",
            t("Reason"),
            _text(t("Tell the requester why"), multiline=True, max_length=1000),
        ),
    ]
    return _modal(
        REJECT_REASON,
        t("Reject request"),
        t("Reject"),
        blocks,
        environment,
        {"request_id": request_id, **(origin or {})},
    )


def field_values(view: dict[str, Any]) -> dict[str, str | None]:
    """Read every input of a submitted view into {block_id: value}."""
    values: dict[str, str | None] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for state in actions.values():
            option = state.get("selected_option")
            if option:
                values[block_id] = option["value"]
            elif state.get("type") == "datepicker":
                values[block_id] = state.get("selected_date")
            elif state.get("type") == "users_select":
                values[block_id] = state.get("selected_user")
            else:
                values[block_id] = state.get("value")
    return values
