"""A CSV file of employees to onboard or offboard, read the way spreadsheets export it.

Pure: bytes in, rows out. `read_import` raises `FileProblem` for what is wrong with the
file as a whole (not text, no usable header, a missing column, too big) and otherwise gives
every row either as valid (checked by the very code that checks the Add and Remove modals,
bot.domain.forms) or as invalid with its reason. Row numbers are the spreadsheet's: the
header is row 1, so the first employee is on row 2.

What it accepts:
- UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one);
- comma, semicolon or tab separated (Dutch Excel uses semicolons), detected from the header;
- column names in any case and order, with common aliases ("E-mail", "email",
  "first_name", "Voornaam", …); unknown columns are ignored;
- amounts as people type them (bot.domain.money.parse_euros: `750`, `750,00`, `€ 750,00`);
  an amount that reads two ways (`1.250`) is refused for that row, with the reason.

An e-mail address on more than one row refuses all of those rows, each naming the others:
which one was meant is for the person who made the file to say.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import IO

from babel.numbers import format_decimal

from bot.domain.audit import spreadsheet_safe
from bot.domain.forms import (
    AddEmployeeForm,
    RemoveEmployeeForm,
    parse_add_form,
    parse_remove_form,
)
from bot.domain.mailbox import mailbox
from bot.domain.requests import Operation
from bot.i18n import N_, csv_style, current, t, tn

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "Column",
    "FileProblem",
    "ImportFile",
    "InvalidRow",
    "Table",
    "ValidRow",
    "check_rows",
    "open_table",
    "read_import",
    "too_big",
    "write_invalid_rows",
]

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_ROWS = 5000
DELIMITERS = (",", ";", "\t")
FIELD_LIMIT = 10_000  # characters in one cell; longer is not a spreadsheet a person made


class Column(StrEnum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    CREDIT = "credit"
    REFERENCE = "external_reference"
    REASON = "reason"

    @property
    def label(self) -> str:
        """The column's name in the reader's language."""
        return t(_LABELS[self])


_LABELS = {
    Column.FIRST_NAME: N_("first name"),
    Column.LAST_NAME: N_("last name"),
    Column.EMAIL: N_("e-mail"),
    Column.CREDIT: N_("credit"),
    Column.REFERENCE: N_("reference"),
    Column.REASON: N_("reason"),
}

# Header names, folded to lower-case letters and digits only ("E-mail" -> "email").
_ALIASES: dict[str, Column] = {
    alias: column
    for column, aliases in {
        Column.FIRST_NAME: ("firstname", "first", "givenname", "forename", "voornaam"),
        Column.LAST_NAME: (
            "lastname",
            "last",
            "surname",
            "familyname",
            "achternaam",
            "familienaam",
        ),
        Column.EMAIL: (
            "email",
            "emailaddress",
            "mail",
            "mailaddress",
            "emailadres",
            "mailadres",
        ),
        Column.CREDIT: (
            "credit",
            "crediteur",
            "crediteuros",
            "creditineuros",
            "amount",
            "amounteur",
            "businesscredit",
            "tegoed",
            "bedrag",
        ),
        Column.REFERENCE: (
            "reference",
            "ref",
            "employeereference",
            "externalreference",
            "employeeid",
            "employeenumber",
            "personeelsnummer",
            "referentie",
        ),
        Column.REASON: ("reason", "reden", "offboardingreason"),
    }.items()
    for alias in aliases
}

REQUIRED = {
    Operation.ADD: (Column.FIRST_NAME, Column.LAST_NAME, Column.EMAIL, Column.CREDIT),
    Operation.REMOVE: (Column.EMAIL,),
}
OPTIONAL = {
    Operation.ADD: (Column.REFERENCE,),
    Operation.REMOVE: (Column.REASON,),
}

# Form field names (bot.domain.forms) as the file calls them.
_FIELD_LABELS = {
    "first_name": N_("first name"),
    "last_name": N_("last name"),
    "email": N_("e-mail"),
    "credit": N_("credit"),
    "external_reference": N_("reference"),
    "reason": N_("reason"),
    "community_id": N_("community"),
}


class FileProblem(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


@dataclass(frozen=True)
class ValidRow:
    number: int  # the spreadsheet's row number (the header is row 1)
    form: AddEmployeeForm | RemoveEmployeeForm
    mailbox: str = ""  # bot.domain.mailbox.mailbox of the address

    @property
    def email(self) -> str:
        return self.form.email

    @property
    def credit(self) -> Decimal | None:
        return self.form.credit if isinstance(self.form, AddEmployeeForm) else None


@dataclass(frozen=True)
class InvalidRow:
    number: int
    email: str  # as written in the file (may be empty or malformed)
    reason: str
    mailbox: str = ""


@dataclass(frozen=True)
class ImportFile:
    operation: Operation
    rows: list[ValidRow]
    invalid: list[InvalidRow]
    delimiter: str
    columns: dict[Column, str] = field(default_factory=dict)  # column -> header as written

    @property
    def total_credit(self) -> Decimal:
        return sum((row.credit or Decimal("0.00") for row in self.rows), Decimal("0.00"))

    @property
    def row_count(self) -> int:
        return len(self.rows) + len(self.invalid)

    def mailboxes(self) -> set[str]:
        """Every person the file names, valid row or not (nobody named may decide)."""
        valid = {row.mailbox for row in self.rows}
        return (valid | {row.mailbox for row in self.invalid}) - {""}


@dataclass(frozen=True)
class Table:
    """A file opened and its header understood, rows not checked yet (`open_table`)."""

    operation: Operation
    delimiter: str
    columns: dict[Column, str]  # column -> header as written
    rows: list[tuple[int, dict[Column, str]]]  # (row number, cell per column)


def read_import(
    data: bytes,
    operation: Operation,
    *,
    community_id: str,
    max_credit: Decimal,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    default_reason: str = "",
) -> ImportFile:
    """Read and check a whole file: `open_table`, then `check_rows`."""
    table = open_table(data, operation, max_rows=max_rows, max_bytes=max_bytes)
    return check_rows(
        table, community_id=community_id, max_credit=max_credit, default_reason=default_reason
    )


def open_table(
    data: bytes,
    operation: Operation,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Table:
    """What is wrong with the file as a whole, as FileProblem: its size, its encoding, its
    header, its row count. Quick (a pass over the bytes); the rows are checked next."""
    if len(data) > max_bytes:
        raise too_big(len(data), max_bytes)
    text = _decode(data)
    delimiter, header, records = _table(text, operation)
    columns = _columns(header, operation)
    positions = {column: index for index, column in columns.items()}
    rows: list[tuple[int, dict[Column, str]]] = []
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a row of empty cells a spreadsheet left at the end
        values = {
            column: cells[index].strip() if index < len(cells) else ""
            for column, index in positions.items()
        }
        rows.append((number, values))
    if not rows:
        raise FileProblem(t("The file has a header but no rows under it."))
    if len(rows) > max_rows:
        raise FileProblem(
            t(
                "The file has {rows} rows; an import takes at most {maximum}. "
                "Split it into smaller files.",
                rows=whole_number(len(rows)),
                maximum=whole_number(max_rows),
            )
        )
    named = {column: header[index].strip() for index, column in columns.items()}
    return Table(operation, delimiter, named, rows)


def check_rows(
    table: Table, *, community_id: str, max_credit: Decimal, default_reason: str = ""
) -> ImportFile:
    """Each row through the Add or Remove modal's own validation, and no e-mail address on
    two rows. `default_reason` is an offboarding row's reason when its cell is empty."""
    operation = table.operation
    mailboxes = {number: _mailbox_of(values) for number, values in table.rows}
    duplicates = _duplicates(mailboxes)
    valid: list[ValidRow] = []
    invalid: list[InvalidRow] = []
    for number, values in table.rows:
        checked = _check_row(values, operation, community_id, max_credit, default_reason)
        problems = dict(checked) if isinstance(checked, dict) else {}
        if number in duplicates:
            others = duplicates[number]
            duplicate = tn(
                "the same e-mail address is also on row {rows}",
                "the same e-mail address is also on rows {rows}",
                len(others),
                rows=_and(others),
            )
            problems["email"] = (
                f"{problems['email']}; {duplicate}" if "email" in problems else duplicate
            )
        email = values.get(Column.EMAIL, "")
        if problems or isinstance(checked, dict):
            invalid.append(InvalidRow(number, email, _reason(problems), mailboxes[number]))
        else:
            valid.append(ValidRow(number, checked, mailboxes[number]))
    return ImportFile(operation, valid, invalid, table.delimiter, table.columns)


# Reading the text ------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if not data.strip():
        raise FileProblem(t("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        raise FileProblem(
            t(
                "This is a spreadsheet workbook (.xlsx), not a CSV file. In Excel: File, Save "
                "a copy, CSV UTF-8 (comma delimited); then attach that file."
            )
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(
            t(
                'This file is UTF-16 text (Excel\'s "Unicode text"). Save it as CSV UTF-8 and '
                "attach that file."
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(
            t(
                "This file is not UTF-8 text. Save it as CSV UTF-8 (in Excel: File, Save a "
                "copy, CSV UTF-8) and attach that file."
            )
        ) from None
    if "\x00" in text or sum(1 for char in text[:4096] if _binary(char)) > 4:
        raise FileProblem(t("This file is not text. Attach a CSV file."))
    return text


def _binary(char: str) -> bool:
    return ord(char) < 32 and char not in "\t\r\n"


def _table(text: str, operation: Operation) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """The delimiter, the header and the rows with their spreadsheet row numbers."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(
        DELIMITERS,
        key=lambda candidate: (
            len(_known(_cells(first_line, candidate))),
            len(_cells(first_line, candidate)),
        ),
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    number = 0  # the spreadsheet's row number: one per record, blank ones included
    try:
        for number, cells in enumerate(reader, 1):
            if header is None:
                if any(cell.strip() for cell in cells):
                    header = cells
                continue  # the header itself, or blank lines above it
            if any(len(cell) > FIELD_LIMIT for cell in cells):
                raise FileProblem(
                    t(
                        "Row {number} has a cell longer than {limit} characters; "
                        "is this the right file?",
                        number=number,
                        limit=whole_number(FIELD_LIMIT),
                    )
                )
            records.append((number, cells))
    except csv.Error as exc:
        raise FileProblem(
            t(
                "The file is not valid CSV at row {number} ({problem}). Export it from the "
                "spreadsheet again as CSV.",
                number=number + 1,
                problem=exc,
            )
        ) from None
    if header is None:
        raise FileProblem(t("The file is empty."))
    return delimiter, header, records


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []


def _fold(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _known(header: Sequence[str]) -> set[Column]:
    return {_ALIASES[folded] for name in header if (folded := _fold(name)) in _ALIASES}


def _columns(header: list[str], operation: Operation) -> dict[int, Column]:
    """{cell index: column} for the columns this operation reads."""
    wanted = set(REQUIRED[operation]) | set(OPTIONAL[operation])
    found: dict[int, Column] = {}
    seen: dict[Column, str] = {}
    for index, name in enumerate(header):
        column = _ALIASES.get(_fold(name))
        if column is None or column not in wanted:
            continue
        if column in seen:
            raise FileProblem(
                t(
                    "Two columns are the {column}: “{first}” and “{second}”. Keep one.",
                    column=column.label,
                    first=seen[column],
                    second=name.strip(),
                )
            )
        seen[column] = name.strip()
        found[index] = column
    expected = _expected(operation)
    if not found:
        shown = ", ".join(f"“{cell.strip()}”" for cell in header[:8] if cell.strip()) or t(
            "nothing"
        )
        raise FileProblem(
            t(
                "The first row must name the columns ({expected}); it has {shown}. "
                "Add a header row.",
                expected=expected,
                shown=shown,
            )
        )
    missing = [column.label for column in REQUIRED[operation] if column not in seen]
    if missing:
        raise FileProblem(
            tn(
                "The file has no {columns} column. Columns needed: {expected}.",
                "The file has no {columns} columns. Columns needed: {expected}.",
                len(missing),
                columns=_and(missing),
                expected=expected,
            )
        )
    return found


def _expected(operation: Operation) -> str:
    required = ", ".join(column.label for column in REQUIRED[operation])
    optional = ", ".join(column.label for column in OPTIONAL[operation])
    return t("{required}; optional: {optional}", required=required, optional=optional)


# Rows ------------------------------------------------------------------------------------


def _mailbox_of(values: Mapping[Column, str]) -> str:
    address = values.get(Column.EMAIL, "")
    return mailbox(address) if "@" in address else ""


def _duplicates(mailboxes: Mapping[int, str]) -> dict[int, list[int]]:
    """{row number: the other rows with the same mailbox}, for rows that share one."""
    by_mailbox: dict[str, list[int]] = defaultdict(list)
    for number, key in mailboxes.items():
        if key:
            by_mailbox[key].append(number)
    return {
        number: [other for other in numbers if other != number]
        for numbers in by_mailbox.values()
        if len(numbers) > 1
        for number in numbers
    }


def _check_row(
    values: Mapping[Column, str],
    operation: Operation,
    community_id: str,
    max_credit: Decimal,
    default_reason: str,
) -> AddEmployeeForm | RemoveEmployeeForm | dict[str, str]:
    """The row through the same validation as the Add or Remove modal."""
    if operation is Operation.ADD:
        return parse_add_form(
            {
                "community_id": community_id,
                "first_name": values.get(Column.FIRST_NAME, ""),
                "last_name": values.get(Column.LAST_NAME, ""),
                "email": values.get(Column.EMAIL, ""),
                "credit": values.get(Column.CREDIT, ""),
                "external_reference": values.get(Column.REFERENCE, ""),
            },
            max_credit=max_credit,
            communities={community_id},
        )
    return parse_remove_form(
        {
            "community_id": community_id,
            "email": values.get(Column.EMAIL, ""),
            "reason": values.get(Column.REASON, "") or default_reason,
        },
        communities={community_id},
    )


def _reason(problems: Mapping[str, str]) -> str:
    order = list(_FIELD_LABELS)
    ranked = sorted(
        problems.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
    )
    return "; ".join(
        t("{field}: {message}", field=_field_label(name), message=message)
        for name, message in ranked
    )


def _field_label(name: str) -> str:
    label = _FIELD_LABELS.get(name)
    return t(label) if label else name


def _and(items: Sequence[object]) -> str:
    words = [str(item) for item in items]
    if len(words) == 1:
        return words[0]
    return t("{items} and {last}", items=", ".join(words[:-1]), last=words[-1])


def whole_number(count: int) -> str:
    """A whole number with the reader's thousands separator (`5,000` / `5.000`)."""
    return format_decimal(count, locale=current())


def too_big(size: int, max_bytes: int) -> FileProblem:
    """The problem of a file of `size` bytes, over the `max_bytes` an import takes."""
    return FileProblem(
        t(
            "The file is {size}; an import takes at most {maximum}. Split it into smaller files.",
            size=_size(size),
            maximum=_size(max_bytes),
        )
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        megabytes = format_decimal(
            Decimal(f"{count / (1024 * 1024):.1f}"), format="0.0", locale=current()
        )
        return t("{size} MB", size=megabytes)
    return t("{size} KB", size=whole_number(max(1, round(count / 1024))))


# Writing ---------------------------------------------------------------------------------

INVALID_COLUMNS = [N_("row"), N_("email"), N_("reason")]


def write_invalid_rows(rows: Iterable[InvalidRow], out: IO[str]) -> int:
    """The refused rows as CSV, safe to open in a spreadsheet; returns the row count.
    In the reader's spreadsheet style (bot.domain.audit.write_csv says how): English as
    always, Dutch with `;`, a BOM and Dutch headers."""
    style = csv_style()
    if style.encoding == "utf-8-sig":
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=style.delimiter)
    writer.writerow([t(name) for name in INVALID_COLUMNS])
    count = 0
    for row in rows:
        writer.writerow(
            [str(row.number), spreadsheet_safe(row.email), spreadsheet_safe(row.reason)]
        )
        count += 1
    return count
