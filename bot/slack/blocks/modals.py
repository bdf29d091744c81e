"""The Add employee, Remove employee and Reject modals."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.communities import Community
from bot.domain.money import format_euros
from bot.slack.blocks.kit import Block, context, section
from bot.slack.text import badge, plain

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
        "placeholder": plain("Choose a community"),
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
                f"{env} · nothing here reaches real customers"
                if environment != "PRODUCTION"
                else env
            )
        ] + blocks
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
        "private_metadata": json.dumps(metadata or {}),
    }


def _date(initial: date | None = None) -> Block:
    element: Block = {"type": "datepicker", "placeholder": plain("As soon as approved")}
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
    limit = f"At most {format_euros(max_credit)}, whole cents." if max_credit else None
    blocks = [
        _input("community_id", "Community", _community_select(communities)),
        _input("first_name", "First name", _text(max_length=100)),
        _input("last_name", "Last name", _text(max_length=100)),
        _input(
            "email", "E-mail", _text("jane.doe@example.com", initial=email, kind="email_text_input")
        ),
        _input("credit", "Credit in euros", _text("750.00"), hint=limit),
        _input(
            "external_reference",
            "Employee reference",
            _text("HR-123456", max_length=100),
            optional=True,
            hint="Your own reference; Coolblue keeps it with the member.",
        ),
        _input(
            "note", "Note to the approver", _text(multiline=True, max_length=1000), optional=True
        ),
        _input(
            "start_date",
            "Credit available from",
            _date(),
            optional=True,
            hint=f"Leave empty to onboard once approved. From the start of that day ({timezone}).",
        ),
    ]
    return _modal(ADD_EMPLOYEE, "Add employee", "Request", blocks, environment)


def remove_employee_modal(
    communities: list[Community],
    environment: str,
    *,
    email: str = "",
    timezone: str = "Europe/Amsterdam",
) -> dict[str, Any]:
    blocks = [
        section(
            ":warning: Offboarding *revokes the employee's remaining business credit*. "
            "Their Coolblue account itself remains, so orders, returns and customer "
            "service keep working."
        ),
        _input("community_id", "Community", _community_select(communities)),
        _input(
            "email", "E-mail", _text("jane.doe@example.com", initial=email, kind="email_text_input")
        ),
        _input(
            "reason",
            "Reason",
            _text("Left the company on 30 November", multiline=True, max_length=1000),
        ),
        _input(
            "last_day",
            "Last working day",
            _date(),
            optional=True,
            hint=f"Leave empty to offboard once approved. After the end of that day ({timezone}).",
        ),
    ]
    return _modal(REMOVE_EMPLOYEE, "Remove employee", "Request", blocks, environment)


def change_date_modal(
    request_id: str, summary: str, label: str, current: date, environment: str
) -> dict[str, Any]:
    """Move a scheduled change. A date that shortens the time with credit keeps the
    approval; any other asks for a new one (bot.domain.approvals.change_date)."""
    blocks = [
        section(summary),
        _input("day", label, _date(current)),
        context(
            "A later start date or an earlier last day keeps the approval; "
            "any other change asks a manager to approve again."
        ),
    ]
    return _modal(
        CHANGE_DATE, "Change date", "Change", blocks, environment, {"request_id": request_id}
    )


def away_modal(environment: str, until: date | None, timezone: str) -> dict[str, Any]:
    """/community away without an escaped mention: pick the last day and the stand-in."""
    day: Block = {"type": "datepicker", "placeholder": plain("Last day away")}
    if until is not None:
        day["initial_date"] = until.isoformat()
    blocks = [
        _input("until", "Last day away", day, hint=f"Inclusive, in {timezone}."),
        _input("delegate", "Who decides for you", {"type": "users_select"}),
        context("They decide what you could decide, in the communities you approve in."),
    ]
    return _modal(AWAY, "Away", "Save", blocks, environment)


def reject_modal(
    request_id: str, summary: str, environment: str, origin: dict[str, str] | None = None
) -> dict[str, Any]:
    blocks = [
        section(f"Reject {summary}?"),
        _input(
            "reason", "Reason", _text("Tell the requester why", multiline=True, max_length=1000)
        ),
    ]
    return _modal(
        REJECT_REASON,
        "Reject request",
        "Reject",
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
