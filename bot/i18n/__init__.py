"""Dutch and English: the one place that chooses words, amounts and dates for a reader.

Whose language is in force is a context variable (`use`), set per reader: the Slack user
behind a request (their `users.info` locale: `nl-*` is Dutch, anything else English), the
recipient of a DM, or a community's `language` for its approval messages. Every text a
person reads goes through `t` (or `tn` for counts) and is looked up in the gettext
catalogue of that language (`locale/<language>/LC_MESSAGES/*.po`, compiled with Babel when
first used); amounts and dates come from Babel's CLDR data in `formats`.

Placeholders are `str.format` fields by name: `t("Approved by {who}", who=...)`. A literal
brace in a message that takes values is written twice (`{{`), as `str.format` wants.
"""

from bot.i18n.catalogue import N_, t, tn
from bot.i18n.formats import CsvStyle, csv_style, day, decimal_for_csv, money
from bot.i18n.language import LANGUAGES, Language, current, of_locale, reading_as, use

__all__ = [
    "LANGUAGES",
    "N_",
    "CsvStyle",
    "Language",
    "csv_style",
    "current",
    "day",
    "decimal_for_csv",
    "money",
    "of_locale",
    "reading_as",
    "t",
    "tn",
    "use",
]
