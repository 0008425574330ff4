"""Cells of the CSV and Excel files staff download and open in a spreadsheet, and the row-by-row report
of a file they handed in (what became of each row, and why), kept as data and written in the reader's
language when downloaded.

A text cell that begins with = + - @ (or a tab or carriage return) is a formula to Excel and
WPS: a building name or a refused row's value from an imported file could run one
(OWASP "CSV injection"). In a CSV such a cell gets a leading apostrophe, which the spreadsheet shows
as text and does not display. In a workbook it is kept as written, a text cell with Excel's quote
prefix (the style an apostrophe typed into Excel sets): openpyxl would otherwise store it as a
formula, and an apostrophe in the text itself would be shown.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from platesvc.messages import Message

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` as a spreadsheet may safely be given it: text that would start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(values) -> list:
    """A CSV row: each cell as `cell` gives it."""
    return [cell(value) for value in values]


def workbook_row(sheet: WriteOnlyWorksheet, values) -> list:
    """A row for a write-only sheet: text that would start a formula as a text cell with the quote prefix, the
    rest as given."""
    cells = []
    for value in values:
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            text = WriteOnlyCell(sheet, value)
            text.data_type = "s"  # not "f", which openpyxl makes of a leading =
            text.quotePrefix = True
            value = text
        cells.append(value)
    return cells


@dataclass(frozen=True)
class RowNote:
    """What became of one row of a file staff handed in (an import, a list of plates), for the row-by-row report."""

    row: int | None  # the spreadsheet's row number (the header is row 1); None for a stored record the file lacks
    key: str | None  # what names the row: its source_id, code or plate ID as written
    action: str  # one of ACTIONS
    reason: Message
    column: str | None = None  # the file's column the reason is about, where it is one

    def as_json(self) -> dict:
        return {"row": self.row, "key": self.key, "action": self.action, "reason": self.reason.as_json(),
                "column": self.column}

    @classmethod
    def from_json(cls, data: dict) -> "RowNote":
        return cls(data["row"], data["key"], data["action"], Message.from_json(data["reason"]), data.get("column"))


ACTIONS = {"refused": Message("Refused"), "repaired": Message("Repaired and taken"),
           "noted": Message("Taken, with a note"), "missing": Message("Stored, not in this file"),
           "retired": Message("Stored, not in this file: retired")}
HEADERS = (Message("Row"), Message("Code in the file"), Message("Column"), Message("What was done"),
           Message("Why"))
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def save_notes(notes: Iterable[RowNote], path: Path) -> int:
    """Keep the notes as they are (JSON lines), to be written later in whoever reads them's language; how many."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for note in notes:
            out.write(json.dumps(note.as_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_notes(path: Path) -> Iterator[RowNote]:
    with open(path, encoding="utf-8") as notes:
        for line in notes:
            yield RowNote.from_json(json.loads(line))


def note_rows(notes: Iterable[RowNote]) -> Iterator[list]:
    """The report's rows, in the reader's language: the header, then a row a note."""
    yield [str(header) for header in HEADERS]
    for note in notes:
        yield [note.row or "", note.key or "", note.column or "", str(ACTIONS[note.action]), str(note.reason)]


def write_rows(rows: Iterable[list], out: BinaryIO, form: str) -> None:
    """Rows as a CSV (UTF-8 with a BOM, so Excel and WPS read the Chinese) or an Excel workbook, no text cell of
    either a formula."""
    if form == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        csv.writer(text).writerows(row(values) for values in rows)
        text.flush()
        text.detach()
        return
    book = Workbook(write_only=True)  # streams: a list of a million rows is written as it is read
    sheet = book.create_sheet()
    for values in rows:
        sheet.append(workbook_row(sheet, values))
    book.save(out)
