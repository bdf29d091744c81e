"""Whose language is in force: a context variable, so a listener, a lazy listener (Bolt's
runner copies the context when it hands one over) and a worker writing to one recipient
each read their own reader's language without passing it through every call.

A reader's language may be known only by asking Slack (their locale). `reading_as` takes a
function that finds the locale and calls it the first time a text needs it, so a request
that writes nothing, or whose refusal is decided before, asks nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = ("en", "nl")

log = logging.getLogger("bot.i18n")


class _Reader:
    """A reader whose locale is looked up when first needed, once."""

    def __init__(self, locale: Callable[[], str | None]) -> None:
        self._locale = locale
        self._language: Language | None = None

    def language(self) -> Language:
        if self._language is None:
            try:
                self._language = of_locale(self._locale())
            except Exception as error:  # never lose a reply over its language: English
                log.warning("could not learn a reader's locale: %s", type(error).__name__)
                self._language = "en"
        return self._language


_current: ContextVar[Language | _Reader] = ContextVar("reader_language", default="en")


def of_locale(locale: str | None) -> Language:
    """A Slack locale (`nl-NL`, `nl-BE`, `en-GB`…) or a language code as the language we
    write: Dutch for any `nl`, English for everything else (and for nothing)."""
    code = (locale or "").strip().lower().replace("_", "-")
    return "nl" if code == "nl" or code.startswith("nl-") else "en"


def current() -> Language:
    value = _current.get()
    return value if isinstance(value, str) else value.language()


@contextmanager
def use(language: str | None) -> Iterator[Language]:
    """Write in `language` (a language or a locale) inside the block."""
    chosen: Language = "nl" if of_locale(language) == "nl" else "en"
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


@contextmanager
def reading_as(locale: Callable[[], str | None]) -> Iterator[None]:
    """Write for a reader whose locale `locale()` finds, asked the first time a text is."""
    token = _current.set(_Reader(locale))
    try:
        yield
    finally:
        _current.reset(token)
