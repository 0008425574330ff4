"""Cells staff open in a spreadsheet: text that would start a formula is quoted, everything else is as given."""

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from platesvc.spreadsheets import cell, row, write_rows


@pytest.mark.parametrize("text", ["=1+1", "+86 951", "-2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'])
def test_text_that_would_start_a_formula_is_quoted(text):
    assert cell(text) == "'" + text


def test_everything_else_is_left_as_it_is():
    assert row(["解放西街12号", "640104-0A3KX-D", "a=b", 106.28, -3, None, ""]) == [
        "解放西街12号", "640104-0A3KX-D", "a=b", 106.28, -3, None, ""]


FORMULAS = ["=1+1", "+86 951", "-2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://evil.example","看")']


def test_a_workbook_keeps_formula_text_as_text_with_the_quote_prefix(tmp_path):
    """In Excel a cell is a formula by its type, not its text: an apostrophe written into the text is shown, and
    openpyxl stores text beginning with = as a formula. Each is a text cell, as written, with the quote prefix."""
    path = tmp_path / "report.xlsx"
    with open(path, "wb") as out:
        write_rows([["Row", "Code"], *[[number, text] for number, text in enumerate(FORMULAS, 2)], [9, "解放西街"]],
                   out, "xlsx")
    with zipfile.ZipFile(path) as book:
        sheet_xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula anywhere
    sheet = load_workbook(path).active
    texts = [sheet.cell(row, 2) for row in range(2, len(FORMULAS) + 3)]
    assert [text.value for text in texts] == [*FORMULAS, "解放西街"]  # as written, no apostrophe shown
    assert all(text.data_type == "s" and text.quotePrefix for text in texts[:-1])
    assert not texts[-1].quotePrefix and sheet.cell(2, 1).value == 2


def test_a_csv_quotes_formula_text_with_an_apostrophe(tmp_path):
    out = io.BytesIO()
    write_rows([["Code"], *[[text] for text in FORMULAS]], out, "csv")
    read = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))
    assert [line[0] for line in read[1:]] == ["'" + text for text in FORMULAS]
