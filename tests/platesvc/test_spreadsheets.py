"""Cells staff open in a spreadsheet: text that would start a formula is quoted, everything else is as given."""

import pytest

from platesvc.spreadsheets import cell, row


@pytest.mark.parametrize("text", ["=1+1", "+86 951", "-2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'])
def test_text_that_would_start_a_formula_is_quoted(text):
    assert cell(text) == "'" + text


def test_everything_else_is_left_as_it_is():
    assert row(["解放西街12号", "640104-0A3KX-D", "a=b", 106.28, -3, None, ""]) == [
        "解放西街12号", "640104-0A3KX-D", "a=b", 106.28, -3, None, ""]
