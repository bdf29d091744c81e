"""Keep the catalogues in step with the code: `python -m bot.i18n.extract`.

Finds every message the code passes to `t`, `tn` and `N_` (Babel's extractor), writes
`locale/messages.pot`, and brings `locale/nl/LC_MESSAGES/messages.po` up to date: new
messages arrive untranslated (tests/unit/test_catalogue.py names them until someone writes
the Dutch), translations of messages the code no longer has are dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n.catalogue import LOCALE_DIR, read_catalogue

KEYWORDS = {"t": None, "tn": (1, 2), "N_": None}
SOURCE = Path(__file__).resolve().parents[1]  # the bot package
MessageId = str | tuple[str, str]


def messages_in_source() -> Iterator[tuple[MessageId, str, int]]:
    """(message, file, line) for every message marked in the bot's code."""
    found = extract_from_dir(
        str(SOURCE),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("i18n:",),
    )
    for filename, line, message, _comments, _context in found:
        if isinstance(message, tuple):
            message = (message[0], message[1])
        yield message, f"bot/{filename}", line


def source_catalogue() -> Catalog:
    template = Catalog(project="community-bot", fuzzy=False)
    for message, filename, line in messages_in_source():
        template.add(message, locations=[(filename, line)])
    return template


def main() -> None:
    template = source_catalogue()
    with (LOCALE_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    known = read_catalogue("nl")
    dutch = Catalog(locale="nl", project="community-bot", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        translated = known.get(message.id)
        string = (
            translated.string
            if translated is not None
            else ("", "")
            if isinstance(message.id, tuple)
            else ""
        )
        dutch.add(message.id, string, locations=message.locations)
    target = LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po"
    for other in target.parent.glob("*.po"):
        other.unlink()
    with target.open("wb") as handle:
        write_po(handle, dutch, omit_header=True, sort_output=True, width=100)
    missing = len([m for m in dutch if m.id and not all(_strings(m.string))])
    print(f"{len(template)} messages; {missing} without Dutch in {target}")


def _strings(string: object) -> tuple[str, ...]:
    if isinstance(string, tuple | list):
        return tuple(string)
    return (str(string or ""),)


if __name__ == "__main__":
    main()
