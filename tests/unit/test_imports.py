"""Reading an import file: pure, bytes in, rows out (bot.domain.imports)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from bot.domain.forms import AddEmployeeForm, RemoveEmployeeForm
from bot.domain.imports import (
    FileProblem,
    ImportFile,
    check_rows,
    open_table,
    read_import,
    write_invalid_rows,
)
from bot.domain.requests import Operation

MAX = Decimal("2500.00")
ADD, REMOVE = Operation.ADD, Operation.REMOVE


def read(text: str | bytes, operation: Operation = ADD, **limits: int) -> ImportFile:
    data = text.encode() if isinstance(text, str) else text
    return read_import(data, operation, community_id="acme", max_credit=MAX, **limits)


def problem(text: str | bytes, operation: Operation = ADD, **limits: int) -> str:
    with pytest.raises(FileProblem) as refused:
        read(text, operation, **limits)
    return str(refused.value)


def test_excel_csv_utf8_with_bom_semicolons_and_dutch_amounts() -> None:
    data = "\ufeffVoornaam;Achternaam;E-mailadres;Tegoed\r\nJané;Doe;jane@acme.nl;€ 750,00\r\n"
    file = read(data.encode())
    assert file.delimiter == ";"
    [row] = file.rows
    assert row.number == 2 and isinstance(row.form, AddEmployeeForm)
    assert (row.form.first_name, row.form.email, row.form.credit) == (
        "Jané",
        "jane@acme.nl",
        Decimal("750.00"),
    )
    assert file.total_credit == Decimal("750.00")


def test_columns_in_any_case_and_order_with_aliases_and_unknown_columns_ignored() -> None:
    file = read(
        "Department,CREDIT,e-mail,Last_Name,first name,Employee ID\n"
        'Sales,"1.250,50",x@acme.nl,Roe,John,E-7\n'  # a quoted cell is one cell
        "IT,20,y@acme.nl,Poe,Ann,\n"
    )
    assert [row.form.email for row in file.rows] == ["x@acme.nl", "y@acme.nl"]
    first = file.rows[0].form
    assert isinstance(first, AddEmployeeForm)
    assert (first.first_name, first.last_name, first.credit, first.external_reference) == (
        "John",
        "Roe",
        Decimal("1250.50"),
        "E-7",
    )
    assert file.total_credit == Decimal("1270.50")


def test_english_amounts_and_tabs() -> None:
    file = read("email\tfirst_name\tlast_name\tamount\na@acme.nl\tA\tB\t1,250.00\n")
    assert file.delimiter == "\t" and file.rows[0].credit == Decimal("1250.00")


def test_each_row_is_checked_by_the_add_modals_validation_with_its_reason() -> None:
    file = read(
        "first name,last name,email,credit\n"
        "Jane,Doe,jane@acme.nl,750\n"
        "Bad,Amount,bad@acme.nl,1.250\n"  # reads two ways
        ",Nameless,nameless@acme.nl,10\n"
        "Too,Much,much@acme.nl,2500.01\n"
        "No,Mail,not-an-address,10\n"
        "Tab\tbed,X,tab@acme.nl,10\n"
    )
    assert [row.number for row in file.rows] == [2]
    reasons = {row.number: row.reason for row in file.invalid}
    assert "credit:" in reasons[3] and "reads two ways" in reasons[3]
    assert reasons[4].startswith("first name: Use 1 to 100 characters")
    assert "maximum credit per employee is €2,500.00" in reasons[5]
    assert reasons[6].startswith("e-mail: ")
    assert "control characters" in reasons[7]
    assert file.invalid[0].email == "bad@acme.nl"


def test_an_address_on_two_rows_refuses_both_each_naming_the_other() -> None:
    file = read(
        "first name,last name,email,credit\n"
        "Jane,Doe,jane@acme.nl,10\n"
        "John,Roe,john@acme.nl,10\n"
        "Jane,Again,Jane+perks@ACME.nl,10\n"  # the same mailbox
        "Jane,Third,jane@acme.nl,1.250\n"
    )
    assert [row.number for row in file.rows] == [3]
    reasons = {row.number: row.reason for row in file.invalid}
    assert reasons[2] == "e-mail: the same e-mail address is also on rows 4 and 5"
    assert reasons[4] == "e-mail: the same e-mail address is also on rows 2 and 5"
    assert reasons[5].startswith("e-mail: the same e-mail address is also on rows 2 and 4; ")
    assert "credit: " in reasons[5]


def test_blank_lines_are_skipped_and_row_numbers_stay_the_spreadsheets() -> None:
    file = read("\nemail,first name,last name,credit\n\nz@acme.nl,Z,Z,5\n,,,\n")
    [row] = file.rows
    assert row.number == 4 and file.row_count == 1


def test_offboarding_reads_email_and_an_optional_reason() -> None:
    data = "E-mail,Reason\nleft@acme.nl,Contract ended\nalso@acme.nl,\n"
    table = open_table(data.encode(), REMOVE)
    file = check_rows(table, community_id="acme", max_credit=MAX, default_reason="Bulk offboarding")
    forms = [row.form for row in file.rows]
    assert all(isinstance(form, RemoveEmployeeForm) for form in forms)
    assert [(f.email, f.reason) for f in forms if isinstance(f, RemoveEmployeeForm)] == [
        ("left@acme.nl", "Contract ended"),
        ("also@acme.nl", "Bulk offboarding"),
    ]
    assert file.total_credit == Decimal("0.00")


def test_the_people_named_include_invalid_rows() -> None:
    file = read("email,first name,last name,credit\nboss@acme.nl,,,\nann@acme.nl,A,B,1\n")
    assert file.mailboxes() == {"boss@acme.nl", "ann@acme.nl"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"PK\x03\x04\x14\x00rest-of-a-zip", ".xlsx"),
        ("email\n".encode("utf-16"), "UTF-16"),
        ("email,first name\nJosé".encode("cp1252"), "not UTF-8"),
        (b"email,name\x00\x00\x01\x02\x03\x04\x05", "not text"),
        (b"name,age\nJane,40\n", "must name the columns"),
        (b"jane@acme.nl,Jane,Doe,750\n", "must name the columns"),
        (b"email,first name,last name\nj@acme.nl,J,D\n", "no credit column"),
        (b"email,credit\nj@acme.nl,5\n", "no first name and last name columns"),
        (b"email,E-mail,first name,last name,credit\n", "Two columns are the e-mail"),
        (b"email,first name,last name,credit\n", "no rows"),
        (b'email,first name,last name,credit\n"j@acme.nl,J,D,5\n', "not valid CSV"),
    ],
)
def test_what_is_wrong_with_the_file_as_a_whole(data: bytes, words: str) -> None:
    assert words in problem(data)


def test_size_and_row_caps() -> None:
    header = "email,first name,last name,credit\n"
    rows = "".join(f"p{i}@acme.nl,P,Q,1\n" for i in range(11))
    assert "2 KB; an import takes at most 1 KB" in problem(b"x" * 2048, max_bytes=1024)
    assert "11 rows; an import takes at most 10" in problem(header + rows, max_rows=10)
    assert len(read(header + rows, max_rows=11).rows) == 11


def test_offboarding_needs_only_the_email_column() -> None:
    assert "no e-mail column" in problem(b"first name,reason\nJ,x\n", REMOVE)
    assert len(read(b"mail\nj@acme.nl\n", REMOVE).invalid) == 1  # no reason, no default


def test_invalid_rows_file_is_safe_to_open_in_a_spreadsheet() -> None:
    file = read('email,first name,last name,credit\n"=HYPERLINK(""x"")",A,B,5\n')
    out = io.StringIO()
    assert write_invalid_rows(file.invalid, out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "row,email,reason"
    assert lines[1].startswith("2,\"'=HYPERLINK(")
