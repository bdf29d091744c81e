"""Block Kit and mrkdwn as a person reads them in Slack, as plain terminal lines.

The console shows what Slack would display, not the markup: `<@U0ALICE>` is `@alice`, a
date token is its time in the bot's TIMEZONE (Slack shows the reader's own; the token's
fallback is UTC), written in the reader's language (`i18n.use`: the console reads as the
person it acts as), and user text escaped by the bot (`&lt;!channel&gt;`) reads
`<!channel>`, exactly as harmless as it looks in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from bot import i18n
from bot.slack_standin.blocks import all_options, text_of

Block = dict[str, Any]

# The shortcodes the bot uses; anything else is left as typed, like an unknown emoji.
EMOJI = {
    "test_tube": "🧪",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "x": "❌",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "bell": "🔔",
    "calendar": "📆",
    "paperclip": "📎",
    "rotating_light": "🚨",
    "palm_tree": "🌴",
}

_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")


class Names:
    """Display names for IDs in markup: users by ID, and the approvals channel."""

    def __init__(
        self, users: Mapping[str, str], channels: Mapping[str, str], zone: tzinfo | None = None
    ) -> None:
        self.users = dict(users)
        self.channels = dict(channels)
        self.zone = zone  # date tokens are shown in this zone; None: their (UTC) fallback

    def date(self, epoch: str, fallback: str) -> str:
        """A date token's time as a reader in `zone` sees it, e.g. 2026-12-08 00:00 CET, or
        in Dutch 8 december 2026 00:00 CET."""
        if self.zone is None or not epoch.isdigit() or int(epoch) == 0:
            return fallback  # epoch 0 is the bot's escaping token: its fallback is the text
        moment = datetime.fromtimestamp(int(epoch), self.zone)
        if i18n.current() == "en":
            return moment.strftime("%Y-%m-%d %H:%M %Z")
        # Another language (the reader's, see i18n.use): the day written out in it.
        return f"{i18n.day(moment.date())} {moment.strftime('%H:%M %Z')}"

    def user(self, user_id: str) -> str:
        return "@" + self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return "#" + self.channels.get(channel_id, channel_id.lower())


def mrkdwn(text: str, names: Names, bold: Callable[[str], str] = str) -> str:
    """Slack's rendering of a mrkdwn string; `bold` styles *bold* parts (ANSI on a terminal)."""
    text = _TOKEN.sub(lambda match: _token(match.group(1), names), text)
    text = _EMOJI.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)
    text = _BOLD.sub(lambda match: bold(match.group(1)), text)
    text = _CODE.sub(lambda match: match.group(1), text)
    # Last, so escaped user text is shown literally and never read as markup above.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + label if label else names.user(target[1:])
    if target.startswith("#"):
        return "#" + label if label else names.channel(target[1:])
    if target.startswith("!date^"):
        epoch = target.removeprefix("!date^").partition("^")[0]
        return names.date(epoch, label or target)
    if target.startswith("!subteam^"):
        return label or "@" + target.removeprefix("!subteam^")
    if target.startswith("!"):
        return "@" + target[1:]
    return label or target


def render_text(obj: Any, names: Names, bold: Callable[[str], str] = str) -> str:
    """A text object: mrkdwn is rendered, plain_text is shown as it is."""
    if isinstance(obj, Mapping) and obj.get("type") == "plain_text":
        return text_of(obj)
    return mrkdwn(text_of(obj), names, bold)


def render_blocks(blocks: list[Block], names: Names, bold: Callable[[str], str] = str) -> list[str]:
    """Lines for message or view blocks; input blocks are left to the modal form."""
    lines: list[str] = []
    for block in blocks:
        lines.extend(_block_lines(block, names, bold))
    return lines


def _block_lines(block: Block, names: Names, bold: Callable[[str], str]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [bold(text_of(block.get("text")).upper())]
    if kind == "divider":
        return ["─" * 40]
    if kind == "context":
        parts = [
            render_text(e, names, bold) if "text" in e else f"[image: {e.get('alt_text', '')}]"
            for e in block.get("elements", [])
        ]
        return " ".join(parts).splitlines()
    if kind == "actions":
        return [" ".join(element_label(e) for e in block.get("elements", []))]
    if kind == "section":
        return _section_lines(block, names, bold)
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    return []


def _section_lines(block: Block, names: Names, bold: Callable[[str], str]) -> list[str]:
    lines = render_text(block["text"], names, bold).splitlines() if block.get("text") else []
    for field in block.get("fields") or []:
        # Fields read "*Label*\nvalue"; on one line that is "Label: value".
        label, _, value = render_text(field, names, bold).partition("\n")
        lines.append(f"{label}: {value.replace(chr(10), ' ')}" if value else label)
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        lines.append(element_label(accessory))
    return lines


def element_label(element: Mapping[str, Any]) -> str:
    if element.get("type") == "button":
        return f"[{text_of(element.get('text'))}]"
    if element.get("type") == "overflow":
        return "[…]"
    options = ", ".join(text_of(o.get("text")) for o in all_options(element))
    return f"<{element.get('type')}: {options}>" if options else f"<{element.get('type')}>"


def render_view_header(view: Mapping[str, Any]) -> str:
    """What the modal's frame shows: its title and buttons."""
    buttons = " ".join(
        f"[{text_of(view.get(key))}]" for key in ("submit", "close") if view.get(key)
    )
    return f"{text_of(view.get('title'))}  {buttons}".rstrip()
