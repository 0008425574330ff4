"""Reading the files GIS desks export, into WGS84 GeoDataFrames.

Shapefiles (with their .prj and .cpg; GBK/GB18030 text as Chinese desktop GIS writes
it, detected when there is no .cpg), GeoPackages (any layer), GeoJSON, and CSV/XLSX
tables with longitude/latitude or WKT columns (UTF-8 with or without BOM, or GBK).
Any CRS with a definition is reprojected to WGS84; coordinates taken from Chinese map
apps can be declared GCJ-02 or BD-09. Every frame gets `source_row`, the row a person
finds the record at: the spreadsheet row (the header is row 1) or the feature number.

A file larger than memory is read a chunk of rows at a time (`read_feature_chunks`):
layers through GDAL's feature offsets, CSV through pandas' chunks. GDAL reads a whole
XLSX sheet at once, so those come whole (Excel holds at most 1,048,576 rows anyway).
"""

import codecs
import csv
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.datum import bd09_to_wgs84, gcj02_to_wgs84, transform_geometries

WGS84 = "EPSG:4326"
SOURCE_ROW = "source_row"
APP_DATUMS = {"GCJ02": gcj02_to_wgs84, "BD09": bd09_to_wgs84}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx"}
LAYER_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".zip"}
LONGITUDE_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "x坐标")
LATITUDE_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "y坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "图形")
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 reads GBK and GB2312 too
# A file's shape is checked before it is read, so a hostile one costs no memory: more columns
# than any register needs, a line of a CSV (its column names, or a row: a cell) longer than any
# register's, or a workbook that unpacks to more than this.
MAX_COLUMNS = 1000
MAX_LINE_BYTES = 2 ** 20
MAX_WORKBOOK_BYTES = 2 ** 30
EXCEL_MAX_ROWS = 1_048_576  # a sheet's rows, as Excel itself has them: GDAL reads a whole sheet at once
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")


class Said:
    """Words for whoever gave the file: an English text with `%(name)s` for each of `values`, which a caller may
    translate (the text is the message id) and fill in."""

    def __init__(self, text: str, **values):
        self.text, self.values = text, values

    def __str__(self) -> str:
        if not self.values:
            return self.text
        return self.text % {name: _said(value) for name, value in self.values.items()}

    def __eq__(self, other) -> bool:
        return isinstance(other, Said) and (self.text, self.values) == (other.text, other.values)

    def __hash__(self) -> int:
        return hash(self.text)


def _said(value):
    """A value as an English sentence shows it: a list joined, a count grouped (12,345)."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else value


class FileReadError(ValueError):
    """A file that cannot be read as given; `said` says what to do."""

    def __init__(self, text: str, **values):
        self.said = Said(text, **values)
        super().__init__(str(self.said))


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame  # WGS84, with SOURCE_ROW
    source_crs: str
    encoding: str | None
    notes: list[Said] = field(default_factory=list)


def read_features(path: str | Path, layer: str | None = None, encoding: str | None = None,
                  crs: str | None = None, require_geometry: bool = True, max_rows: int | None = None) -> ReadResult:
    """Read one layer or table into WGS84.

    `crs` (an EPSG code, any pyproj definition, or GCJ02/BD09) says what the coordinates
    are when the file does not, and overrides what it says when given. A table with
    no coordinate columns is refused unless `require_geometry` is False. A file of more than
    `max_rows` rows is refused once that many have been read, never read whole.
    """
    return next(read_feature_chunks(path, layer, encoding, crs, require_geometry, chunk_rows=None,
                                    max_rows=max_rows))


def read_feature_chunks(path: str | Path, layer: str | None = None, encoding: str | None = None,
                        crs: str | None = None, require_geometry: bool = True,
                        chunk_rows: int | None = 20_000, max_rows: int | None = None) -> Iterator[ReadResult]:
    """read_features a chunk of at most `chunk_rows` rows at a time (None: all), in the file's order;
    at least one chunk, empty for a file without rows. Past `max_rows` rows (blank lines of a table
    counted) it stops, refusing the file, having held no more than a chunk, or `max_rows` + 1 rows."""
    path = Path(path)
    if not path.exists():
        raise FileReadError("%(file)s does not exist.", file=path.name)
    suffix = path.suffix.lower()
    # Read whole (chunk_rows None) under a cap: in pieces of one more row than the cap, so that the first
    # piece is either the whole file or proof that it is too long.
    read_rows = chunk_rows or (max_rows + 1 if max_rows is not None else None)
    if suffix in TABLE_SUFFIXES:
        _check_columns(path, _table_columns(path, encoding, layer, max_rows))
        frames = _read_table(path, encoding, layer, require_geometry, read_rows, max_rows)
    elif suffix in LAYER_SUFFIXES:
        _check_columns(path, _layer_columns(path, layer))
        frames = _read_layer(path, layer, encoding, read_rows, max_rows)
    else:
        raise FileReadError("%(file)s cannot be read: give a Shapefile, GeoPackage, GeoJSON, CSV or Excel (.xlsx) "
                            "file.", file=path.name)
    given = 0
    for frame, used_encoding in frames:
        result = ReadResult(frame, "", used_encoding)
        result.frame = _to_wgs84(frame, crs, path.name, result)
        given += 1
        yield result
    if not given:  # pandas gives no chunk of a table without rows: the whole, empty, table
        yield from read_feature_chunks(path, layer, encoding, crs, require_geometry, chunk_rows=None)


def _refuse_rows(path: Path, most: int) -> None:
    raise FileReadError("%(file)s has more than %(most)s rows: a file of this kind may have at most %(most)s; split "
                        "it.", file=path.name, most=most)


def _check_columns(path: Path, count: int) -> None:
    if count > MAX_COLUMNS:
        raise FileReadError("%(file)s has %(count)s columns: a file may have at most %(most)s (keep the columns the "
                            "import needs).", file=path.name, count=count, most=MAX_COLUMNS)


def _table_columns(path: Path, encoding: str | None, layer: str | None, max_rows: int | None = None) -> int:
    """How many columns a CSV's first line names (its lines checked first), or an XLSX sheet has (GDAL's count,
    once its unpacked size and its sheets' rows are checked)."""
    if path.suffix.lower() == ".xlsx":
        _check_workbook(path)
        _check_sheet_rows(path, min(max_rows, EXCEL_MAX_ROWS - 1) if max_rows is not None else EXCEL_MAX_ROWS - 1)
        return _layer_columns(path, layer)
    _check_lines(path)
    with open(path, "rb") as data:
        first = data.readline(MAX_LINE_BYTES + 1)
    text = first.decode(encoding or "utf-8", errors="replace")
    return len(next(csv.reader([text]), []))


def _check_lines(path: Path) -> None:
    """Refuse a CSV with a line over MAX_LINE_BYTES, read a block at a time."""
    line, line_start, offset = 1, 0, 0  # the line being read, where it began
    with open(path, "rb") as data:
        while block := data.read(2 ** 22):
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A) + offset
            lengths = np.diff(ends, prepend=line_start - 1) if len(ends) else np.empty(0)
            too_long = np.flatnonzero(lengths > MAX_LINE_BYTES + 1)
            if len(too_long):
                _refuse_line(path, line + int(too_long[0]))
            if len(ends):
                line, line_start = line + len(ends), int(ends[-1]) + 1
            offset += len(block)
            if offset - line_start > MAX_LINE_BYTES:
                _refuse_line(path, line)


def _refuse_line(path: Path, line: int) -> None:
    raise FileReadError("%(file)s: line %(line)s is over %(mib)s MiB long (no register's cell is that long): is it "
                        "a table?", file=path.name, line=line, mib=MAX_LINE_BYTES // 2 ** 20)


def _check_workbook(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as workbook:
            unpacked = sum(member.file_size for member in workbook.infolist())
    except zipfile.BadZipFile as error:
        raise FileReadError("%(file)s is not an Excel workbook (.xlsx) that can be opened.", file=path.name) from error
    if unpacked > MAX_WORKBOOK_BYTES:
        raise FileReadError("%(file)s unpacks to %(gib)s GiB: a workbook may unpack to at most %(most)s GiB; give the "
                            "table as CSV.", file=path.name, gib=round(unpacked / 2 ** 30, 1),
                            most=MAX_WORKBOOK_BYTES // 2 ** 30)


def _check_sheet_rows(path: Path, most: int) -> None:
    """Refuse a workbook with a sheet of more than `most` rows under its header, counted in its XML as it unpacks,
    before GDAL reads a whole sheet into memory."""
    with zipfile.ZipFile(path) as workbook:
        for member in workbook.infolist():
            if not _SHEET.fullmatch(member.filename):
                continue
            rows, carry = 0, b""
            with workbook.open(member) as sheet:
                while block := sheet.read(2 ** 20):
                    text = carry + block  # a tag cut by the block's end is whole here, and counted once
                    rows += sum(1 for found in _ROW_TAG.finditer(text) if found.end() > len(carry))
                    carry = text[-64:]
                    if rows > most + 1:
                        _refuse_rows(path, most)


def _layer_columns(path: Path, layer: str | None) -> int:
    try:
        if layer is None and len(list_layers(path)) > 1:
            return 0  # which layer is asked first (_read_layer)
        return len(pyogrio.read_info(path, layer=layer)["fields"])
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return 0  # reading it says what is wrong with it


def list_layers(path: str | Path) -> list[str]:
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def _gdal_read(path: Path, layer: str | None, **options) -> gpd.GeoDataFrame:
    """pyogrio's read, its failures told as what they mean to whoever gave the file."""
    try:
        return pyogrio.read_dataframe(path, layer=layer, **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        layers = _readable_layers(path)
        if layer is not None and layers and layer not in layers:
            raise FileReadError("%(file)s has no layer %(layer)s; its layers are %(layers)s.", file=path.name,
                                layer=layer, layers=layers) from error
        # GDAL's own words name its internal paths; a damaged file or an XML bomb ends here too.
        raise FileReadError("%(file)s cannot be read as GIS data: the file is damaged or is not what its name says.",
                            file=path.name) from error


def _readable_layers(path: Path) -> list[str]:
    try:
        return list_layers(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return []


def _read_layer(path: Path, layer: str | None, encoding: str | None, chunk_rows: int | None,
                max_rows: int | None = None) -> Iterator[tuple[gpd.GeoDataFrame, str | None]]:
    if layer is None and path.suffix.lower() == ".gpkg":
        layers = list_layers(path)
        if len(layers) > 1:
            raise FileReadError("%(file)s has several layers (%(layers)s): choose the one to import.", file=path.name,
                                layers=layers)
    if path.suffix.lower() == ".shp" and encoding is None and not path.with_suffix(".cpg").exists():
        encoding = _dbf_encoding(path.with_suffix(".dbf"))
    done = 0
    while True:
        frame = _gdal_read(path, layer, encoding=encoding, skip_features=done, max_features=chunk_rows)
        if done and not len(frame):
            return
        if max_rows is not None and done + len(frame) > max_rows:
            _refuse_rows(path, max_rows)
        frame[SOURCE_ROW] = np.arange(done + 1, done + len(frame) + 1)
        yield frame, encoding
        done += len(frame)
        if chunk_rows is None or len(frame) < chunk_rows:
            return


def _dbf_encoding(dbf: Path) -> str | None:
    """UTF-8 if the DBF's field names and records decode as UTF-8, else GB18030."""
    if not dbf.exists():
        return None
    with open(dbf, "rb") as data:
        header = data.read(32)
        header_length = struct.unpack("<H", header[8:10])[0]
        header += data.read(header_length - 32)
    names = b"".join(header[i:i + 11].split(b"\0")[0] for i in range(32, header_length - 1, 32))
    return "UTF-8" if _decodes(dbf, "utf-8", start=header_length, before=names) else "GB18030"


def _decodes(path: Path, encoding: str, start: int = 0, before: bytes = b"") -> bool:
    """Whether `before` and then the file from byte `start` decode as `encoding`, read a block at a time
    (a province's file need not fit in memory)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(before)
        with open(path, "rb") as data:
            data.seek(start)
            while block := data.read(2 ** 20):
                decoder.decode(block)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


def _read_table(path: Path, encoding: str | None, layer: str | None, require_geometry: bool,
                chunk_rows: int | None, max_rows: int | None = None) -> Iterator[tuple[gpd.GeoDataFrame, str | None]]:
    if path.suffix.lower() == ".xlsx":
        # GDAL guesses whether row 1 holds names (with text under text it guesses wrong) and
        # the cell types (an ID typed as a number would lose its leading zeros): say both.
        tables = [_gdal_read(path, layer, read_geometry=False, HEADERS="FORCE", FIELD_TYPES="STRING")]
        encoding = None
    else:
        encoding = _text_encoding(path, encoding)
        _check_cells(path, encoding)
        try:
            # Blank lines are kept (and dropped after numbering) so row numbers match the file.
            read = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""],
                               skip_blank_lines=False, chunksize=chunk_rows)
        except pd.errors.EmptyDataError as error:
            raise FileReadError("%(file)s is empty: it has neither column names nor rows.", file=path.name) from error
        except pd.errors.ParserError as error:
            raise _unparsable(path) from error
        tables = [read] if chunk_rows is None else _parsed(path, read)
    row = 2  # row 1 holds the column names
    for table in tables:
        if max_rows is not None and row - 2 + len(table) > max_rows:
            _refuse_rows(path, max_rows)
        table.columns = [str(column).strip() for column in table.columns]
        table[SOURCE_ROW] = np.arange(row, row + len(table))
        row += len(table)
        values = table.drop(columns=SOURCE_ROW)
        table = table[~(values.isna() | (values.astype(str).apply(lambda c: c.str.strip()) == "")).all(axis=1)]
        yield gpd.GeoDataFrame(table, geometry=_table_geometry(table, path.name, require_geometry)), encoding


def _parsed(path: Path, chunks) -> Iterator[pd.DataFrame]:
    """pandas' chunks of a CSV, a line it cannot parse told in words."""
    try:
        yield from chunks
    except pd.errors.ParserError as error:
        raise _unparsable(path) from error


def _unparsable(path: Path) -> "FileReadError":
    return FileReadError("%(file)s cannot be read as a table: a quote is left open, or a line has more cells than "
                         "the first line names columns.", file=path.name)


def _check_cells(path: Path, encoding: str) -> None:
    """Refuse a CSV with a line of more cells than its first line names columns, counted line by line (quotes
    read as pandas reads them) before pandas reads any: no line makes more columns than the header's, however
    ragged the file."""
    previous = csv.field_size_limit()
    csv.field_size_limit(MAX_LINE_BYTES)  # no cell is longer than a line may be (_check_lines)
    try:
        with open(path, encoding=encoding, newline="") as text:
            lines = csv.reader(text)
            columns = len(next(lines, []))
            for cells in lines:
                if len(cells) > columns:
                    raise FileReadError("%(file)s: line %(line)s has %(count)s cells, but the first line names only "
                                        "%(columns)s columns.", file=path.name, line=lines.line_num,
                                        count=len(cells), columns=columns)
    except csv.Error as error:
        raise _unparsable(path) from error
    finally:
        csv.field_size_limit(previous)


def _text_encoding(path: Path, encoding: str | None) -> str:
    """The given encoding, or the first of TEXT_ENCODINGS the whole file decodes with."""
    for candidate in [encoding] if encoding else TEXT_ENCODINGS:
        try:
            if _decodes(path, candidate):
                return candidate
        except LookupError as error:
            raise FileReadError("There is no text encoding called %(encoding)s.", encoding=encoding) from error
    raise FileReadError("%(file)s is neither UTF-8 nor GBK text: say which encoding it is in.", file=path.name)


def _find_column(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_name = {column.lower(): column for column in table.columns}
    return next((by_name[name] for name in names if name in by_name), None)


def _table_geometry(table: pd.DataFrame, name: str, require_geometry: bool) -> gpd.GeoSeries:
    lon, lat = _find_column(table, LONGITUDE_NAMES), _find_column(table, LATITUDE_NAMES)
    if lon and lat:
        x = pd.to_numeric(table[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(table[lat], errors="coerce").to_numpy(dtype=float)
        points = shapely.points(x, y)
        points[np.isnan(x) | np.isnan(y)] = None  # refused later as rows without a location
        return gpd.GeoSeries(points, index=table.index)
    wkt = _find_column(table, WKT_NAMES)
    if wkt:
        text = table[wkt].where(table[wkt].notna(), None).to_numpy(dtype=object)
        return gpd.GeoSeries(shapely.from_wkt(text, on_invalid="ignore"), index=table.index)
    if not require_geometry:
        return gpd.GeoSeries([None] * len(table), index=table.index)
    raise FileReadError("%(file)s has no longitude and latitude columns (经度/纬度, lon/lat, x/y) and no WKT column: "
                        "its columns are %(columns)s.", file=name, columns=list(table.columns))


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, name: str, result: ReadResult) -> gpd.GeoDataFrame:
    declared = crs.strip().upper().replace("-", "") if crs else None
    if declared in APP_DATUMS:
        result.source_crs = declared
        frame = frame.set_crs(WGS84, allow_override=True)
        frame.geometry = transform_geometries(frame.geometry.to_numpy(), APP_DATUMS[declared])
        return frame
    if crs:
        try:
            source = CRS.from_user_input(int(crs) if crs.isascii() and crs.isdigit() else crs)
        except CRSError as error:
            raise FileReadError("%(crs)s is not a coordinate reference system known here (give an EPSG code such "
                                "as 4544).", crs=crs) from error
        if frame.crs is not None and not frame.crs.equals(source):
            result.notes.append(Said("The file says its coordinates are in %(said)s; they were read as %(read)s, as "
                                     "asked.", said=frame.crs.to_string(), read=source.to_string()))
        frame = frame.set_crs(source, allow_override=True)
    elif frame.crs is None:
        if _looks_projected(frame):
            x0, y0, *_ = frame.total_bounds
            raise FileReadError(
                "%(file)s does not say its coordinate reference system (no .prj) and its coordinates (like %(x)s, "
                "%(y)s) are not longitude and latitude: say which it is, e.g. EPSG 4544 for CGCS2000 3-degree "
                "Gauss-Kruger zone CM 105E.", file=name, x=round(x0), y=round(y0))
        if frame.geometry.notna().any():
            result.notes.append(Said("The file does not say its coordinate reference system: its coordinates were "
                                     "read as WGS84 longitude and latitude."))
        frame = frame.set_crs(WGS84)
    result.source_crs = frame.crs.to_string()
    return frame.to_crs(WGS84) if not frame.crs.equals(WGS84) else frame


def _looks_projected(frame: gpd.GeoDataFrame) -> bool:
    present = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if present.empty:
        return False
    min_x, min_y, max_x, max_y = present.total_bounds
    return min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90
