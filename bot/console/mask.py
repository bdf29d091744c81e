"""Masking what changes from run to run, so a scripted transcript is reproducible.

Request IDs become R1, R2, … and import IDs I1, I2, … in order of appearance (and can be
typed back, as in `click Approve R2`); times, correlation IDs, Slack ts values and error
references become fixed placeholders.
"""

from __future__ import annotations

import re

REQUEST_ID = re.compile(r"\b[RI][0-9A-F]{8}\b")  # a request (R…) or an import (I…)
_MASKS = [
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<correlation-id>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
            r"( ?(UTC|Z|[+-]\d{2}:?\d{2}|[A-Z]{3,5}\b))?"
        ),
        "<time>",
    ),
    # A day written out with its time, as a Dutch reader sees a date token: 8 december 2026 00:00
    (re.compile(r"\b\d{1,2} [a-z]{3,9} \d{4} \d{2}:\d{2}( [A-Z]{3,5}\b)?"), "<time>"),
    (re.compile(r"\b\d{8}-\d{6}\b"), "<time>"),  # file names such as community-audit-…
    (re.compile(r"\b\d{10}\.\d{6}\b"), "<ts>"),
    (re.compile(r"(Reference: )[0-9a-f]{8}\b"), r"\1<reference>"),
]


class Masker:
    """Replaces varying values in transcript lines; the identity when `enabled` is False."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._ids: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if not self.enabled:
            return text
        text = REQUEST_ID.sub(lambda match: self._alias(match.group(0)), text)
        for pattern, replacement in _MASKS:
            text = pattern.sub(replacement, text)
        return text

    def _alias(self, request_id: str) -> str:
        if request_id not in self._ids:
            kind = request_id[0]
            number = 1 + sum(1 for known in self._ids if known[0] == kind)
            self._ids[request_id] = f"{kind}{number}"
        return self._ids[request_id]

    def unmask(self, word: str) -> str:
        """The real request ID for an alias shown in the transcript (or the word itself)."""
        real = {alias: request_id for request_id, alias in self._ids.items()}
        return real.get(word.upper(), word.upper() if REQUEST_ID.fullmatch(word.upper()) else word)
