"""The one place that turns values into Slack mrkdwn: escaping, mentions, money, dates.

Every piece of user text (names, notes, reasons, addresses, community names, API error
texts) passes `escape` before it goes into mrkdwn; plain_text objects come from `plain`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from babel.numbers import format_decimal

from bot import i18n
from bot.domain.money import format_euros
from bot.i18n import t

# Slack's mrkdwn has no escape character for its formatting (only &, < and > have entities),
# so text we must show as typed keeps its characters but takes them out of mrkdwn's reach:
# each run of characters that would format (* _ ~ `), make an emoji (:), or turn into a link
# or a mention when Slack auto-links the text (. : @ # in URLs, domains, addresses, #channel,
# @here) becomes the fallback of a date token whose format is invalid,
# `<!date^00000000^{_}|*>`. Slack shows a date token's fallback as plain text, unformatted,
# and links nothing inside a token. The characters stay visible and copyable as typed: no
# look-alike letters, no zero-width characters. (The trick jsx-slack's <Escape> uses.)
# A line that begins with > (a quote) gets a one-space token before it: the fallback cannot
# carry > itself (it would end the token; entities are not decoded there).
_FORMATTING = re.compile(r"[*_~`:.@#]+")
_QUOTE_AT_LINE_START = re.compile(r"^(\s*)&gt;", re.MULTILINE)


def _literal(characters: str) -> str:
    return f"<!date^00000000^{{_}}|{characters}>"


def escape(text: str) -> str:
    """User text for mrkdwn, shown as typed: never a mention or command (`<!channel>`,
    `<@U1>`), never formatted (`*bold*`, `_x_`, `~x~`, backticks, `:emoji:`, a quote) and
    never a link (a bare URL, a domain, an address, #channel, @here)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _FORMATTING.sub(lambda run: _literal(run.group(0)), text)
    return _QUOTE_AT_LINE_START.sub(lambda line: line.group(1) + _literal(" ") + "&gt;", text)


def mention(user_id: str) -> str:
    """A mention of a user ID we got from Slack itself (never from user text)."""
    if user_id == "system":
        return t("the bot (policy)")
    return f"<@{user_id}>"


def mentions(user_ids: str | list[str]) -> str:
    ids = user_ids.split(",") if isinstance(user_ids, str) else user_ids
    return ", ".join(mention(user_id) for user_id in ids if user_id)


def euros(amount: Decimal | None) -> str:
    return format_euros(amount) if amount is not None else t("unknown")


def when(epoch: float) -> str:
    """A date Slack shows in the reader's own time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Slack fills the {tokens}; `t` leaves them alone (no values given).
    tokens = t("{date_short_pretty} at {time}")
    return f"<!date^{int(epoch)}^{tokens}|{fallback}>"


def number(value: float, pattern: str = "#,##0") -> str:
    """A count or a rate in the reader's locale: `1,234` / `1.234` (CLDR, never by hand)."""
    return format_decimal(value, format=pattern, locale=i18n.current())


def badge(environment: str) -> str:
    """Shown on every message outside production."""
    if environment == "PRODUCTION":
        return ""
    return f":test_tube: *{environment}*"


def plain(text: str, limit: int = 150) -> dict[str, object]:
    """A plain_text object, shown as typed (Slack parses no mentions, formatting or links in
    it; `emoji: false` keeps `:x:` as typed too), cut to Slack's limit."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": False}
