"""The audit CSV opens in a spreadsheet without running anything a person typed."""

from __future__ import annotations

import csv
import io

import pytest

from bot.domain.audit import COLUMNS, spreadsheet_safe, write_csv


@pytest.mark.parametrize(
    "typed",
    ["=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "\tplain", "\rplain"],
)
def test_a_value_a_spreadsheet_could_take_for_a_formula_is_quoted(typed):
    assert spreadsheet_safe(typed) == "'" + typed


@pytest.mark.parametrize("typed", ["Jane", "jane@example.com", " =1", "1=1", ""])
def test_other_values_stay_as_typed(typed):
    assert spreadsheet_safe(typed) == typed


def test_the_csv_quotes_a_leading_tab_or_carriage_return():
    out = io.StringIO()
    row = {key: "" for key in COLUMNS} | {"detail": "\t=cmd|' /C calc'!A0", "actor": "\r=1"}
    assert write_csv([row], out) == 1
    (written,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert written["detail"] == "'\t=cmd|' /C calc'!A0"
    assert written["actor"] == "'\r=1"
