"""/community policy [community]: the effective policy, for an admin (the lines `python -m
bot policy check` prints, from the same describer)."""

from __future__ import annotations

from bot.domain.community_policy import PolicyBook
from bot.domain.policy_describe import describe_book
from bot.i18n import t
from bot.slack.blocks.replies import error_reply
from bot.slack.listeners.commands.invocation import Invocation
from bot.slack.text import escape

LIMIT = 2900  # a section's text is at most 3000 characters


def show_policy(call: Invocation) -> None:
    book = call.services.book
    if book is None:
        call.respond(error_reply(t("No policy is loaded.")))
        return
    wanted = call.args.split()[0] if call.args.split() else ""
    if wanted and not book.manages(wanted):
        call.respond(
            error_reply(t("This bot does not manage `{community}`.", community=escape(wanted)))
        )
        return
    lines = policy_lines(book, wanted)
    text = "\n".join(lines)
    if len(text) > LIMIT:
        text = text[:LIMIT] + "\n…"
    call.respond(
        {
            "response_type": "ephemeral",
            "text": t("Effective policy ({source})", source=escape(book.source)),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{text}```"}}],
        }
    )


def policy_lines(book: PolicyBook, community_id: str = "") -> list[str]:
    """The describer's lines, cut to one community's section when one is named."""
    lines = describe_book(book)
    if not community_id or not book.from_file:
        return [escape(line) for line in lines]
    kept: list[str] = []
    keep = True
    for line in lines:
        if line.startswith("["):
            keep = line == f"[{community_id}]"
        if keep:
            kept.append(line)
    return [escape(line) for line in kept]
