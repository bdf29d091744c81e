"""Whose language is in force: a context variable, so a listener, a lazy listener (Bolt's
runner copies the context when it hands one over) and a worker writing to one recipient
each read their own reader's language without passing it through every call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Language = Literal["en", "nl"]
LANGUAGES: tuple[Language, ...] = ("en", "nl")

_current: ContextVar[Language] = ContextVar("reader_language", default="en")


def of_locale(locale: str | None) -> Language:
    """A Slack locale (`nl-NL`, `nl-BE`, `en-GB`…) or a language code as the language we
    write: Dutch for any `nl`, English for everything else (and for nothing)."""
    code = (locale or "").strip().lower().replace("_", "-")
    return "nl" if code == "nl" or code.startswith("nl-") else "en"


def current() -> Language:
    return _current.get()


@contextmanager
def use(language: str | None) -> Iterator[Language]:
    """Write in `language` (a language or a locale) inside the block."""
    chosen: Language = language if language in LANGUAGES else of_locale(language)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)
