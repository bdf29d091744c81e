"""The gettext catalogues: English is the source text, Dutch is looked up in
`locale/nl/LC_MESSAGES/*.po`. The .po files are what we edit and review; Babel compiles them
in memory the first time a language is used (no .mo file in the tree to fall out of step).
A message without a Dutch translation shows in English (tests/unit/test_catalogue.py fails
before that can ship)."""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n.language import Language, current

LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_files(language: Language) -> list[Path]:
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


def read_catalogue(language: Language) -> Catalog:
    """Every .po file of the language, merged (fuzzy and empty entries left out)."""
    merged = Catalog(locale=language, fuzzy=False)
    for path in catalogue_files(language):
        with path.open("rb") as handle:
            part = read_po(handle, locale=language)
        for message in part:
            if message.id and message.string and not message.fuzzy:
                strings = message.string
                if isinstance(strings, tuple) and not all(strings):
                    continue
                merged.add(message.id, strings, context=message.context)
    return merged


@cache
def _translations(language: Language) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, read_catalogue(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def t(message: str, /, **values: object) -> str:
    """`message` in the reader's language, its `{fields}` filled from `values`."""
    text = _translations(current()).gettext(message)
    return text.format(**values) if values else text


def tn(singular: str, plural: str, count: int, /, **values: object) -> str:
    """A message about `count` things (`{count}` is filled in too)."""
    text = _translations(current()).ngettext(singular, plural, count)
    return text.format(count=count, **values)


def N_(message: str) -> str:  # gettext's own name for "mark, translate later"
    """Marks a message kept in a constant, for extraction; translate it with `t` when shown."""
    return message
