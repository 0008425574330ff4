"""Geocoding a list of addresses at once (a survey list, another system's records): each row's best plate, its
score and coordinates, and for a row left unmatched, why, in the reader's language."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from gis.files import SOURCE_ROW, FileReadError, read_features
from platesvc.errors import DataError
from platesvc.intake.importers import said_message
from platesvc.messages import Message
from platesvc.search.engine import Found, search_plates

# Columns a list names its addresses by, else its first column.
ADDRESS_COLUMNS = ("地址", "门牌地址", "详细地址", "标准地址", "address", "addr", "门牌")
SURE = 0.8  # below this a match is given with a word to check it
HEADERS = (Message("Plate ID"), Message("Standard address"), Message("Score"), Message("Longitude"),
           Message("Latitude"), Message("Note"))


@dataclass
class GeocodedRow:
    row: int  # the spreadsheet's row number (the header is row 1)
    values: list  # the row as the file has it
    found: Found | None
    why: Message | None  # why no plate was given, or what to check about the one given


@dataclass
class Geocoded:
    columns: list[str]
    rows: list[GeocodedRow] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return sum(row.found is not None for row in self.rows)

    def summary(self) -> Message:
        return Message("%(matched)s of %(count)s rows matched a plate.", matched=self.matched, count=len(self.rows))


def geocode_file(session: Session, config: Mapping, path: str | Path, most_rows: int) -> Geocoded:
    """Every row of a CSV or XLSX list geocoded: its address column's text searched, the best plate taken.

    :raises DataError: the file cannot be read, holds no rows, or more than `most_rows`.
    """
    try:
        table = read_features(path, require_geometry=False, max_rows=most_rows).frame  # refused as it streams
    except FileReadError as error:
        raise DataError(said_message(error.said)) from error
    columns = [column for column in table.columns if column not in (SOURCE_ROW, table.geometry.name)]
    by_name = {str(column).strip().lower(): column for column in columns}
    column = next((by_name[name] for name in ADDRESS_COLUMNS if name in by_name), columns[0] if columns else None)
    if column is None or table.empty:
        raise DataError("%(file)s lists no addresses.", file=Path(path).name)
    result = Geocoded([str(c) for c in columns])
    for values in table[[SOURCE_ROW, *columns]].itertuples(index=False):
        row, cells = int(values[0]), [None if _blank(value) else value for value in values[1:]]
        text = cells[columns.index(column)]
        result.rows.append(_geocoded(session, config, row, cells, "" if text is None else str(text).strip()))
    return result


def _blank(value) -> bool:
    return value is None or value != value or (isinstance(value, str) and not value.strip())  # NaN != NaN


def _geocoded(session: Session, config: Mapping, row: int, cells: list, text: str) -> GeocodedRow:
    if not text:
        return GeocodedRow(row, cells, None, Message("The address is empty."))
    found = search_plates(session, config, text, 2)
    if not found:
        return GeocodedRow(row, cells, None, Message("No plate matches this address: check its road and number."))
    best = found[0]
    if len(found) > 1 and found[1].score == best.score:
        return GeocodedRow(row, cells, None, Message("It matches several plates as well as each other (%(plates)s): "
                                                     "add the district or the door number.",
                                                     plates=[item.entry.plate_id for item in found]))
    if best.score < SURE:
        return GeocodedRow(row, cells, best, Message("A loose match: check it."))
    return GeocodedRow(row, cells, best, None)


def geocoded_rows(result: Geocoded, config: Mapping) -> Iterator[list]:
    """The list again with the plate, its address, score and coordinates, and the note, in the reader's language."""
    yield [*result.columns, *(str(header) for header in HEADERS)]  # write_rows keeps formulas from running
    for item in result.rows:
        plate = []
        if item.found is not None:
            properties = item.found.feature(config)["properties"]
            plate = [item.found.entry.plate_id, properties["address"], round(item.found.score, 3),
                     round(item.found.entry.longitude, 7), round(item.found.entry.latitude, 7)]
        yield [*item.values, *(plate or [None] * 5), str(item.why) if item.why else None]
