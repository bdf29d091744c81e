"""Filling in a modal field by field, with the modal's own labels, hints and choices.

`Answers` is where the words come from: the keyboard, or the indented lines under a
command in a script. Either way the field is shown the same, so a transcript reads like
someone typing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.slack_standin.blocks import SINGLE_SELECTS, TEXT_INPUTS, all_options, text_of


class ConsoleError(Exception):
    """A line the console cannot carry out (unknown user, no such button, …)."""


class ModalCancelled(Exception):
    """The person gave up on the modal (Ctrl-C or Ctrl-D at a field)."""


@dataclass(frozen=True)
class Field:
    block_id: str
    action_id: str
    label: str
    kind: str
    optional: bool
    hint: str
    choices: tuple[tuple[str, str], ...]  # (shown text, value) of a select
    default: str | None  # initial value (select: the option's value)

    def names(self) -> set[str]:
        """What a script may call this field."""
        return {self.label.casefold(), self.block_id.casefold(), self.action_id.casefold()}

    def prompt(self) -> str:
        extras = [part for part in ("optional" if self.optional else "", self.hint) if part]
        shown = self.label + (f" ({'; '.join(extras)})" if extras else "")
        default = self.default_text()
        return f"{shown}{f' [{default}]' if default else ''}: "

    def default_text(self) -> str:
        if self.choices and self.default is not None:
            numbers = [
                str(i) for i, (_, value) in enumerate(self.choices, 1) if value == self.default
            ]
            return numbers[0] if numbers else ""
        return self.default or ""

    def value_for(self, answer: str) -> str | None:
        """What goes in view.state for this answer; ValueError when it is not a choice."""
        answer = answer.strip()
        if not answer:
            return self.default
        if not self.choices:
            return answer
        for number, (text, value) in enumerate(self.choices, 1):
            if answer in (str(number), value) or answer.casefold() == text.casefold():
                return value
        raise ValueError(
            f"{answer!r} is not a choice; type a number from 1 to {len(self.choices)}."
        )


def fields_of(view: Mapping[str, Any]) -> list[Field]:
    """The inputs a person can fill in, in display order (text inputs, selects, dates, and
    file inputs, answered with a file's path)."""
    found = []
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, Mapping) or element.get("type") not in (
            TEXT_INPUTS | SINGLE_SELECTS | {"datepicker", "file_input"}
        ):
            continue
        choices = tuple((text_of(o.get("text")), str(o.get("value"))) for o in all_options(element))
        initial = element.get("initial_option")
        default = (
            initial.get("value")
            if isinstance(initial, Mapping)
            else (element.get("initial_value") or element.get("initial_date"))
        )
        found.append(
            Field(
                block["block_id"],
                element["action_id"],
                text_of(block.get("label")),
                str(element.get("type")),
                bool(block.get("optional")),
                text_of(block.get("hint")),
                choices,
                default,
            )
        )
    return found


class Answers(Protocol):
    def answer(self, field: Field, prompt: str, again: bool) -> str:
        """The answer to one field; `again` when the bot refused the previous one."""


class KeyboardAnswers:
    """Interactive: read from the terminal; Ctrl-C or Ctrl-D cancels the modal (not the
    console). A stop signal (SIGTERM, SIGHUP: a KeyboardInterrupt of a subclass) still
    stops the console."""

    def __init__(self, read: Callable[[str], str] = input) -> None:
        self.read = read

    def answer(self, field: Field, prompt: str, again: bool) -> str:
        try:
            return self.read(prompt)
        except EOFError:
            print()
            raise ModalCancelled from None
        except KeyboardInterrupt as exc:
            if type(exc) is not KeyboardInterrupt:  # a stop signal, not Ctrl-C
                raise
            print()
            raise ModalCancelled from None


class ScriptAnswers:
    """Answers written under a command, `  label: value`, used in order per field."""

    def __init__(self, lines: Iterable[str], echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.pending: list[tuple[str, deque[str]]] = []
        for line in lines:
            key, colon, value = line.strip().partition(":")
            if not colon:
                raise ConsoleError(f"expected `field: value`, got {line.strip()!r}")
            self._queue(key.strip().casefold()).append(value.strip())

    def _queue(self, key: str) -> deque[str]:
        for name, queue in self.pending:
            if name == key:
                return queue
        self.pending.append((key, deque()))
        return self.pending[-1][1]

    def check_fields(self, fields: list[Field]) -> None:
        """Every answer must belong to a field of the modal: a typo is an error, not a gap."""
        known = set().union(*(f.names() for f in fields)) if fields else set()
        unknown = [key for key, _ in self.pending if key not in known]
        if unknown:
            labels = ", ".join(f.label for f in fields) or "none"
            raise ConsoleError(f"the modal has no field {unknown[0]!r}; its fields: {labels}")

    def answer(self, field: Field, prompt: str, again: bool) -> str:
        queue = next((q for key, q in self.pending if key in field.names()), deque())
        if not queue and again:
            raise ConsoleError(f"the script gives no other answer for {field.label!r}")
        given = queue.popleft() if queue else ""
        self.echo(prompt + given)
        return given

    def missing(self, fields: list[Field]) -> list[Field]:
        """The fields this script has no further answer for."""
        return [f for f in fields if not any(q for k, q in self.pending if k in f.names())]

    def unused(self) -> list[str]:
        return [key for key, queue in self.pending if queue]
