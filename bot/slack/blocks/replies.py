"""Replies to /community subcommands: help, credit, communities, pending, refusals."""

from __future__ import annotations

from typing import Any

from bot.communities import Community, RemainingCredit
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role
from bot.slack.blocks.kit import Block, context, divider, section
from bot.slack.blocks.requests import request_buttons, status_line, summary
from bot.slack.text import badge, escape, euros

Reply = dict[str, Any]

USAGE: list[tuple[str, str, set[Role]]] = [
    ("/community add [email]", "ask to onboard an employee with a business credit", {Role.HR}),
    ("/community remove [email]", "ask to offboard an employee (revokes the credit)", {Role.HR}),
    ("/community import", "onboard or offboard many employees from a CSV file", {Role.HR}),
    (
        "/community credit <email>",
        "look up an employee's remaining credit",
        {Role.SUPPORT, Role.HR, Role.MANAGER},
    ),
    (
        "/community pending",
        "open requests (managers can approve them here)",
        {Role.MANAGER, Role.HR},
    ),
    ("/community communities", "the communities this integration may manage", set(Role)),
    ("/community audit", "the audit trail as a CSV file, by DM", {Role.ADMIN}),
    (
        "/community away <last day> @someone",
        "someone decides in your place until then (`away off` ends it)",
        {Role.MANAGER},
    ),
    ("/community policy [community]", "the effective policy of each community", {Role.ADMIN}),
    ("/community help", "this help", set()),
]


def help_reply(roles: frozenset[Role], environment: str, *, unknown: str = "") -> Reply:
    lines = [f"`{escape(usage)}` — {what}" for usage, what, who in USAGE if not who or roles & who]
    intro = (f"I don't know `{escape(unknown)}`. " if unknown else "") + (
        f"Your roles: {', '.join(sorted(roles))}."
        if roles
        else "You have no Community Bot role yet; ask an admin to add you (or your Slack user "
        "group) to one."
    )
    return _reply(intro, [section("\n".join(lines))], environment)


# How a refusal names the people holding a role, in the order it lists them.
_ROLE_PEOPLE = {
    Role.HR: "HR",
    Role.MANAGER: "managers",
    Role.SUPPORT: "support staff",
    Role.ADMIN: "admins",
}


def refusal(action: str, allowed: set[Role]) -> Reply:
    """ "Only HR and admins can request onboarding.": every role that may, admins included
    (they may do everything)."""
    if set(Role) <= allowed:
        who = "people with a Community Bot role"
    else:
        who = _and(
            [people for role, people in _ROLE_PEOPLE.items() if role in allowed | {Role.ADMIN}]
        )
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f":no_entry: Only {who} can {action}. Ask an admin if you need this.",
    }


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def error_reply(text: str) -> Reply:
    return {"response_type": "ephemeral", "replace_original": False, "text": f":warning: {text}"}


def credit_reply(credit: RemainingCredit, community: Community, environment: str) -> Reply:
    name = " ".join(part for part in (credit.first_name, credit.last_name) if part)
    who = f"*{escape(name)}* ({escape(credit.email)})" if name else f"*{escape(credit.email)}*"
    text = (
        f"{who} has *{euros(credit.remaining_credit)}* remaining credit in "
        f"{escape(community.name)}."
    )
    return _reply(
        text, [context(f"Correlation ID: `{escape(credit.correlation_id)}`")], environment
    )


def communities_reply(communities: list[Community], environment: str) -> Reply:
    if not communities:
        return _reply(
            "This integration may not manage any community. Check COMMUNITY_IDS "
            "and that the client ID belongs to this environment.",
            [],
            environment,
        )
    lines = [f"• *{escape(c.name)}* — `{escape(c.id)}`" for c in communities]
    return _reply(
        "Communities this integration may manage:", [section("\n".join(lines))], environment
    )


def pending_reply(
    lines: list[tuple[MemberRequest, bool]],
    environment: str,
    *,
    imports: list[Block] | None = None,
) -> Reply:
    """Open requests, each with its buttons or not, then pending imports (prebuilt lines,
    bot.slack.blocks.imports.import_line)."""
    if not lines and not imports:
        return _reply("No open requests.", [], environment)
    blocks: list[Block] = []
    for request, with_buttons in lines:
        blocks += request_line(request, with_buttons=with_buttons)
    if imports:
        blocks += [section("*Imports waiting for approval*"), *imports]
    return _reply(f"{len(lines)} open request(s):", blocks[:49], environment)


def request_line(request: MemberRequest, *, with_buttons: bool) -> list[Block]:
    blocks: list[Block] = [divider(), section(summary(request)), context(status_line(request))]
    buttons = request_buttons(request) if with_buttons else []
    if buttons:
        blocks.append({"type": "actions", "block_id": f"list:{request.id}", "elements": buttons})
    return blocks


def _reply(text: str, blocks: list[Block], environment: str) -> Reply:
    env = badge(environment)
    head = section(text)
    tail = [context(env)] if env else []
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": text[:300],
        "blocks": [head, *blocks, *tail],
    }
