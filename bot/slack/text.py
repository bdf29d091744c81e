"""The one place that turns values into Slack mrkdwn: escaping, mentions, money, dates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.domain.money import format_euros


def escape(text: str) -> str:
    """Slack escaping: user text is displayed, never executed (`<!channel>`, `<@U1>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    """A mention of a user ID we got from Slack itself (never from user text)."""
    if user_id == "system":
        return "the bot (policy)"
    return f"<@{user_id}>"


def mentions(user_ids: str | list[str]) -> str:
    ids = user_ids.split(",") if isinstance(user_ids, str) else user_ids
    return ", ".join(mention(user_id) for user_id in ids if user_id)


def euros(amount: Decimal | None) -> str:
    return format_euros(amount) if amount is not None else "unknown"


def when(epoch: float) -> str:
    """A date Slack shows in the reader's own time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(epoch)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def badge(environment: str) -> str:
    """Shown on every message outside production."""
    if environment == "PRODUCTION":
        return ""
    return f":test_tube: *{environment}*"


def plain(text: str, limit: int = 150) -> dict[str, object]:
    """A plain_text object (Slack does not parse mentions in it), cut to Slack's limit."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}
