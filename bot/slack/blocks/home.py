"""App Home: the caller's roles, open requests and imports, what waits for them, recent
outcomes."""

from __future__ import annotations

from typing import Any

from bot.domain.requests import MemberRequest, Status
from bot.domain.roles import Role
from bot.i18n import t
from bot.slack.blocks.kit import Block, context, header, section
from bot.slack.blocks.replies import request_line
from bot.slack.text import badge


def home_view(
    roles: frozenset[Role],
    mine: list[MemberRequest],
    waiting: list[MemberRequest],
    recent: list[MemberRequest],
    environment: str,
    *,
    scheduled: list[MemberRequest] | None = None,
    imports: list[Block] | None = None,
) -> dict[str, Any]:
    env = badge(environment)
    blocks: list[Block] = [header(t("Community Bot"))]
    if env:
        blocks.append(context(env))
    blocks.append(
        section(
            t("Your roles: {roles}", roles=", ".join(sorted(roles)))
            if roles
            else t("Your roles: none yet — ask an admin.")
        )
    )
    if Role.MANAGER in roles:
        blocks += _list(t("Waiting for your approval"), waiting, with_buttons=True)
    if Role.HR in roles:
        blocks += _list(
            t("Your open requests"),
            [r for r in mine if r.status is Status.PENDING],
            with_buttons=False,
        )
    if scheduled:  # approved, waiting for their date: Change date and Cancel
        blocks += _list(t("Scheduled changes"), scheduled, with_buttons=True)
    if imports:  # pending imports the viewer filed or may decide (bot.slack.blocks.imports)
        blocks += [header(t("Imports waiting for approval")), *imports]
    blocks += _list(t("Recent outcomes"), recent, with_buttons=False)
    return {"type": "home", "blocks": blocks[:100]}


def _list(title: str, requests: list[MemberRequest], *, with_buttons: bool) -> list[Block]:
    blocks: list[Block] = [header(title)]
    if not requests:
        return blocks + [context(t("Nothing here."))]
    for request in requests[:10]:
        blocks += request_line(request, with_buttons=with_buttons)
    return blocks
