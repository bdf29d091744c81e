"""Replies to /community subcommands: help, credit, communities, pending, refusals."""

from __future__ import annotations

from typing import Any

from bot.communities import Community, RemainingCredit
from bot.domain.requests import MemberRequest
from bot.domain.roles import Role
from bot.i18n import N_, t, tn
from bot.slack.blocks.kit import Block, context, divider, section
from bot.slack.blocks.requests import request_buttons, status_line, summary
from bot.slack.text import badge, escape, euros

Reply = dict[str, Any]

USAGE: list[tuple[str, str, set[Role]]] = [
    (
        "/community add [email]",  # i18n: as typed
        N_("ask to onboard an employee with a business credit"),
        {Role.HR},
    ),
    (
        "/community remove [email]",  # i18n: as typed
        N_("ask to offboard an employee (revokes the credit)"),
        {Role.HR},
    ),
    (
        "/community import",  # i18n: as typed
        N_("onboard or offboard many employees from a CSV file"),
        {Role.HR},
    ),
    (
        "/community credit <email>",  # i18n: as typed
        N_("look up an employee's remaining credit"),
        {Role.SUPPORT, Role.HR, Role.MANAGER},
    ),
    (
        "/community pending",  # i18n: as typed
        N_("open requests (managers can approve them here)"),
        {Role.MANAGER, Role.HR},
    ),
    (
        "/community communities",  # i18n: as typed
        N_("the communities this integration may manage"),
        set(Role),
    ),
    (
        "/community audit",  # i18n: as typed
        N_("the audit trail as a CSV file, by DM"),
        {Role.ADMIN},
    ),
    (
        "/community away <last day> @someone",  # i18n: as typed
        N_("someone decides in your place until then (`away off` ends it)"),
        {Role.MANAGER},
    ),
    (
        "/community policy [community]",  # i18n: as typed
        N_("the effective policy of each community"),
        {Role.ADMIN},
    ),
    ("/community help", N_("this help"), set()),  # i18n: as typed
]


def help_reply(roles: frozenset[Role], environment: str, *, unknown: str = "") -> Reply:
    lines = [
        f"`{escape(usage)}` — {t(what)}" for usage, what, who in USAGE if not who or roles & who
    ]
    intro = (t("I don't know `{command}`.", command=escape(unknown)) + " " if unknown else "") + (
        t("Your roles: {roles}.", roles=", ".join(sorted(roles)))
        if roles
        else t(
            "You have no Community Bot role yet; ask an admin to add you (or your Slack user "
            "group) to one."
        )
    )
    return _reply(intro, [section("\n".join(lines))], environment)


# How a refusal names the people holding a role, in the order it lists them.
_ROLE_PEOPLE = {
    Role.HR: N_("HR"),
    Role.MANAGER: N_("managers"),
    Role.SUPPORT: N_("support staff"),
    Role.ADMIN: N_("admins"),
}


def refusal(action: str, allowed: set[Role]) -> Reply:
    """ "Only HR and admins can request onboarding.": every role that may, admins included
    (they may do everything)."""
    if set(Role) <= allowed:
        who = t("people with a Community Bot role")
    else:
        who = _and(
            [t(people) for role, people in _ROLE_PEOPLE.items() if role in allowed | {Role.ADMIN}]
        )
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": t(
            ":no_entry: Only {who} can {action}. Ask an admin if you need this.",
            who=who,
            action=action,
        ),
    }


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return t("{items} and {last}", items=", ".join(items[:-1]), last=items[-1])


def error_reply(text: str) -> Reply:
    return {"response_type": "ephemeral", "replace_original": False, "text": f":warning: {text}"}


def credit_reply(credit: RemainingCredit, community: Community, environment: str) -> Reply:
    name = " ".join(part for part in (credit.first_name, credit.last_name) if part)
    who = f"*{escape(name)}* ({escape(credit.email)})" if name else f"*{escape(credit.email)}*"
    text = t(
        "{who} has *{amount}* remaining credit in {community}.",
        who=who,
        amount=euros(credit.remaining_credit),
        community=escape(community.name),
    )
    correlation = t("Correlation ID: `{id}`", id=escape(credit.correlation_id))
    return _reply(text, [context(correlation)], environment)


def communities_reply(communities: list[Community], environment: str) -> Reply:
    if not communities:
        return _reply(
            t(
                "This integration may not manage any community. Check COMMUNITY_IDS "
                "and that the client ID belongs to this environment."
            ),
            [],
            environment,
        )
    lines = [f"• *{escape(c.name)}* — `{escape(c.id)}`" for c in communities]
    return _reply(
        t("Communities this integration may manage:"), [section("\n".join(lines))], environment
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
        return _reply(t("No open requests."), [], environment)
    blocks: list[Block] = []
    for request, with_buttons in lines:
        blocks += request_line(request, with_buttons=with_buttons)
    if imports:
        blocks += [section(t("*Imports waiting for approval*")), *imports]
    # English says "request(s)" for any count; Dutch picks the form.
    count = tn("{count} open request(s):", "{count} open request(s):", len(lines))
    return _reply(count, blocks[:49], environment)


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
