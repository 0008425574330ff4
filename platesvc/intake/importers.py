"""Importing the files staff hand over: divisions, roads, buildings, services, beats, culture.

A file is read into WGS84 (gis.files), its columns are mapped to the canonical fields,
and every row is checked; a row that cannot be taken is refused with its reason and
the rest go in. Rows are matched to what is stored by source_id (divisions by code;
buildings without one by a footprint within a few metres), so re-importing a changed
file updates in place and no plate ID ever changes. An import is one transaction: it
commits whole, or (on an error, or with dry_run) leaves the database as it was.

A buildings file may hold a whole province, so it is read twice, a chunk of
IMPORT_CHUNK_ROWS at a time: first for its keys alone, into a temporary table (which
rows share a key, which stored buildings the file lacks), then to check and store each
chunk. Memory stays that of one chunk; the one transaction still holds the whole file.
The other kinds are registries of thousands of rows, read whole.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Column, Integer, MetaData, Table, Text, exists, func, insert, select, text, update
from sqlalchemy.orm import Session

from gis.files import SOURCE_ROW, FileReadError, list_layers, read_feature_chunks
from gis.joins import containing_polygon
from gis.nearest import geodesic_distance
from gis.pinyin import road_pinyin
from gis.shapes import line_along, representative_points, to_multilinestrings, to_multipolygons
from gis.streets import GAP_TOLERANCE_M
from platesvc import labels, spreadsheets
from platesvc.errors import DataError
from platesvc.intake import loading
from platesvc.messages import Message
from platesvc.reference import links, streets
from platesvc.registry import audit
from platesvc.registry.lifecycle import retire_building
from platesvc.registry.plate_ids import buildings_awaiting_plates
from platesvc.spreadsheets import RowNote
from platesvc.store.bulk_writes import chunks, insert_plain_tuples
from platesvc.store.models import (
    Building,
    BuildingStatus,
    CultureNote,
    CultureZone,
    Division,
    DivisionLevel,
    Officer,
    PoliceBeat,
    Road,
    ServiceCategory,
    ServicePoint,
)
from platesvc.store.search_entries import buildings_on_roads, refresh_entries
from platesvc.store.spatial import active_buildings_near

KINDS = ("divisions", "roads", "buildings", "services", "beats", "culture")
SAME_BUILDING_METRES = 3.0
IMPORT_CHUNK_ROWS = 20_000  # buildings read, checked and stored at a time
# Every other kind is read whole (a city's divisions, roads, services, beats and notes are thousands of rows):
# a file of more rows is refused once this many are read.
REFERENCE_MAX_ROWS = 100_000
ROWS_FILE = "rows.jsonl"  # what became of each row the import did not simply take
ABSENT_FILE = "absent.jsonl"  # the stored records the file lacks
NOT_IN_FILE = Message("Stored, but not in this file.")
RELINKING_ZONES = Message("Linking every building to the beat and culture zones it stands in again")

_COMMON_ALIASES = {
    "source_id": ("source_id", "sourceid", "uid", "编号", "编码", "标识码", "唯一编码"),
    "name": ("name", "名称", "名字"),
    "phone": ("phone", "tel", "telephone", "电话", "联系电话", "值班电话"),
}
# Canonical field → the column names GIS desks use for it (matched without case).
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "divisions": {"code": ("code", "代码", "区划代码", "行政区划代码"), "name": _COMMON_ALIASES["name"],
                  "level": ("level", "级别", "层级"), "parent_code": ("parent_code", "上级代码", "上级区划代码")},
    "roads": {"source_id": _COMMON_ALIASES["source_id"], "name": ("name", "名称", "路名", "道路名称", "街路巷名称"),
              "pinyin": ("pinyin", "拼音", "汉语拼音")},
    "buildings": {"source_id": _COMMON_ALIASES["source_id"],
                  "road": ("road", "road_name", "路名", "道路", "街路巷", "街路巷名称", "所在道路"),
                  "number": ("number", "door_no", "门牌号", "门牌", "门牌号码", "号"),
                  "community": ("community", "社区", "所属社区", "社区名称"),
                  "subdistrict": ("subdistrict", "街道", "乡镇", "所属街道"),
                  "division_code": ("division_code", "区划代码", "行政区划代码", "区县代码"),
                  "name": ("name", "名称", "建筑名称", "楼名"), "floors": ("floors", "层数", "楼层数")},
    "services": {"source_id": _COMMON_ALIASES["source_id"], "name": _COMMON_ALIASES["name"],
                 "category": ("category", "type", "类别", "类型", "服务类型"), "phone": _COMMON_ALIASES["phone"],
                 "hours": ("hours", "开放时间", "服务时间", "营业时间")},
    "beats": {"source_id": _COMMON_ALIASES["source_id"], "name": ("name", "名称", "警务区", "警务区名称"),
              "station": ("station", "派出所", "所属派出所"), "officer": ("officer", "民警", "社区民警", "责任民警"),
              "phone": _COMMON_ALIASES["phone"]},
    "culture": {"source_id": _COMMON_ALIASES["source_id"], "title": ("title", "标题", "名称"),
                "body": ("body", "内容", "简介", "正文", "介绍"), "road": ("road", "路名", "道路")},
}
REQUIRED = {"divisions": ("code", "name", "level"), "roads": ("source_id", "name"), "buildings": ("number",),
            "services": ("source_id", "name", "category"), "beats": ("source_id", "name", "station"),
            "culture": ("source_id", "title", "body")}
_LEVELS = {"district": DivisionLevel.DISTRICT, "区": DivisionLevel.DISTRICT, "县": DivisionLevel.DISTRICT,
           "县级市": DivisionLevel.DISTRICT, "subdistrict": DivisionLevel.SUBDISTRICT,
           "街道": DivisionLevel.SUBDISTRICT, "镇": DivisionLevel.SUBDISTRICT, "乡": DivisionLevel.SUBDISTRICT,
           "community": DivisionLevel.COMMUNITY, "社区": DivisionLevel.COMMUNITY, "村": DivisionLevel.COMMUNITY}
# What a civil-affairs desk writes for each category (the README lists them), besides the codes.
CATEGORY_NAMES = {
    ServiceCategory.ELDERLY_CARE: ("养老服务中心", "养老服务站", "社区养老服务中心", "社区养老服务站",
                                   "综合养老服务中心", "居家养老服务中心", "居家养老服务站", "养老院", "敬老院",
                                   "养老机构", "福利院", "社会福利院", "老年公寓"),
    ServiceCategory.DAY_CARE: ("日间照料中心", "日间照料站", "日照中心", "社区日间照料中心", "老年日间照料中心"),
    ServiceCategory.MEAL_POINT: ("老年助餐点", "助餐点", "老年食堂", "长者食堂", "社区食堂", "老年餐桌", "助老餐厅"),
    ServiceCategory.ASSISTANCE_STATION: ("社会救助站", "救助站", "救助管理站", "社会救助服务站", "临时救助站"),
}
_CATEGORIES = {category.value: category for category in ServiceCategory} | {
    name: category for category, names in CATEGORY_NAMES.items() for name in names}
_SHAPES = {"divisions": Message("an area (polygon)"), "roads": Message("a line"),
           "buildings": Message("an area (polygon) or a point"), "services": Message("a point"),
           "beats": Message("an area (polygon)"), "culture": Message("an area (polygon), or none")}
_GEOMETRY_TYPES = {"Point": Message("a point"), "MultiPoint": Message("points"), "LineString": Message("a line"),
                   "MultiLineString": Message("lines"), "Polygon": Message("an area (polygon)"),
                   "MultiPolygon": Message("areas (polygons)"), "GeometryCollection": Message("a mixed geometry")}
PREVIEW_ROWS = 10
# The column each field is stored in, whose length is the longest value a row may give it.
_STORED_IN = {
    "divisions": {"code": Division.code, "name": Division.name, "level": Division.level, "parent_code": Division.code},
    "roads": {"source_id": Road.source_id, "name": Road.name, "pinyin": Road.pinyin},
    "buildings": {"source_id": Building.source_id, "road": Road.name, "number": Building.number,
                  "community": Division.name, "subdistrict": Division.name, "division_code": Building.division_code,
                  "name": Building.name},
    "services": {"source_id": ServicePoint.source_id, "name": ServicePoint.name, "category": ServicePoint.category,
                 "phone": ServicePoint.phone, "hours": ServicePoint.hours},
    "beats": {"source_id": PoliceBeat.source_id, "name": PoliceBeat.name, "station": PoliceBeat.station,
              "officer": Officer.name, "phone": Officer.phone},
    "culture": {"source_id": CultureNote.source_id, "title": CultureNote.title, "road": Road.name},
}
FIELD_LENGTHS = {kind: {field: column.type.length for field, column in columns.items()}
                 for kind, columns in _STORED_IN.items()}

Progress = Callable[[int, int], None]  # rows just done, rows in all
Stage = Callable[[Message], None]


@dataclass(frozen=True)
class _Options:
    actor: audit.Actor
    retire_missing: bool
    create_roads: bool
    progress: Progress | None
    stage: Stage
    columns: dict[str, str] = field(default_factory=dict)  # canonical field → the file's column: only those update


@dataclass
class ImportResult:
    kind: str
    source: str
    dry_run: bool = False
    source_crs: str = ""  # what the file's coordinates were read as
    encoding: str | None = None  # what its text was read as
    columns: dict[str, str] = field(default_factory=dict)  # canonical field → the file's column
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0  # of the updated buildings, those the file did not change
    notes: list[Message] = field(default_factory=list)
    rows: list[RowNote] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # stored, active, and not in this file
    retired: int = 0
    awaiting_plates: int = 0
    roads_created: dict[str, int] = field(default_factory=dict)  # road → buildings on it
    roads_unknown: dict[str, int] = field(default_factory=dict)  # road → rows refused for it
    communities_unknown: dict[str, int] = field(default_factory=dict)  # as the file names it → rows

    @property
    def refused(self) -> int:
        return sum(1 for note in self.rows if note.action == "refused")

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "imported": self.imported, "updated": self.updated, "refused": self.refused,
                "retired": self.retired, "missing": len(self.missing), "roads_created": len(self.roads_created)}

    def refuse(self, row: int, key, reason: Message, column: str | None = None) -> None:
        self.rows.append(RowNote(int(row), key, "refused", reason, self.columns.get(column, column)))

    def note(self, row: int, key, reason: Message, column: str | None = None, action: str = "noted") -> None:
        self.rows.append(RowNote(int(row), key, action, reason, self.columns.get(column, column)))

    def summary(self) -> list[Message]:
        """What the import did and did not do, as staff read it after an import (the command line and the
        staff pages alike); each refused row, with its reason, is in the row-by-row report."""
        what = labels.IMPORT_KINDS[self.kind]
        lines = list(self.notes)
        lines.append(Message("%(kind)s in %(file)s: %(read)s rows read; %(imported)s new, %(updated)s updated, "
                             "%(refused)s refused.", kind=what, file=Path(self.source).name, read=self.read,
                             imported=self.imported, updated=self.updated, refused=self.refused))
        if self.unchanged:
            lines.append(Message("%(count)s of the updated had no changes.", count=self.unchanged))
        repaired = sum(1 for note in self.rows if note.action == "repaired")
        if repaired:
            lines.append(Message("%(count)s geometries were invalid and have been repaired.", count=repaired))
        noted = sum(1 for note in self.rows if note.action == "noted")
        if noted:
            lines.append(Message("%(count)s rows were taken with a note: see the row-by-row report.", count=noted))
        for road, count in sorted(self.roads_unknown.items()):
            lines.append(Message("Road %(road)s is not in the registry: %(count)s rows refused (import the roads "
                                 "first, or choose to create the roads the file names).", road=road, count=count))
        for road, count in sorted(self.roads_created.items()):
            lines.append(Message("Road %(road)s was created for %(count)s buildings (its line follows the buildings; "
                                 "import the roads file to give its true line).", road=road, count=count))
        for community, count in sorted(self.communities_unknown.items()):
            lines.append(Message("Community %(community)s is not in the registry: %(count)s buildings were placed in "
                                 "the community they stand in.", community=community, count=count))
        if self.missing:
            if self.retired:
                lines.append(Message("%(count)s stored %(kind)s are not in this file and were retired.",
                                     count=len(self.missing), kind=what))
            elif self.kind == "buildings":
                lines.append(Message("%(count)s stored %(kind)s are not in this file; they were left as they are "
                                     "(choose to retire them only with a complete file).",
                                     count=len(self.missing), kind=what))
            else:
                lines.append(Message("%(count)s stored %(kind)s are not in this file; they were left as they are.",
                                     count=len(self.missing), kind=what))
        if self.kind == "buildings" and self.awaiting_plates:
            lines.append(Message("%(count)s buildings await plate IDs: issue them next.", count=self.awaiting_plates))
        lines.append(Message("Dry run: nothing was written.") if self.dry_run else Message("Done: saved."))
        return lines

    def absent(self) -> list[RowNote]:
        """The stored records this file lacks, as notes of the report's own section."""
        action = "retired" if self.retired else "missing"
        return [RowNote(None, key, action, NOT_IN_FILE) for key in self.missing]

    def save_notes(self, folder: Path) -> dict[str, int]:
        """Keep the row-by-row report (ROWS_FILE) and the stored records the file lacks (ABSENT_FILE) in
        `folder`, to be written in whoever downloads them's language; how many of each."""
        return {ROWS_FILE: spreadsheets.save_notes(sorted(self.rows, key=lambda note: note.row), folder / ROWS_FILE),
                ABSENT_FILE: spreadsheets.save_notes(self.absent(), folder / ABSENT_FILE)}


def import_file(session: Session, kind: str, path: str | Path, *, layer: str | None = None, crs: str | None = None,
                encoding: str | None = None, fields: dict[str, str] | None = None, dry_run: bool = False,
                retire_missing: bool = False, create_roads: bool = False, progress: Progress | None = None,
                stage: Stage = lambda _: None, actor: audit.Actor = audit.SYSTEM) -> ImportResult:
    """Import one file of `kind`; returns what it did and every row it did not take.

    A building naming a road the registry lacks is refused, or with `create_roads` placed on a road
    created for it. The import is recorded in the audit trail as `actor`'s, with its counts.

    :raises DataError: the file as a whole cannot be imported (nothing is written).
    """
    if kind not in KINDS:
        raise DataError("There is no kind of import %(kind)s: choose one of %(kinds)s.", kind=kind,
                        kinds=[labels.IMPORT_KINDS[known] for known in KINDS])
    result = ImportResult(kind, str(path), dry_run=dry_run)

    def read_chunks() -> Iterator[gpd.GeoDataFrame]:
        """The file's rows, mapped to the canonical fields and normalised, a chunk at a time."""
        try:
            for read in read_feature_chunks(path, layer=layer, encoding=encoding, crs=crs,
                                            require_geometry=kind != "culture",
                                            chunk_rows=IMPORT_CHUNK_ROWS if kind == "buildings" else None,
                                            max_rows=None if kind == "buildings" else REFERENCE_MAX_ROWS):
                notes = [said_message(note) for note in read.notes]
                result.notes.extend(note for note in notes if note not in result.notes)
                result.source_crs, result.encoding = read.source_crs, read.encoding
                result.columns = field_columns(read.frame, kind, fields or {})
                yield _normalised(map_fields(read.frame, kind, fields or {}), kind)
        except FileReadError as error:
            raise DataError(said_message(error.said)) from error

    try:
        options = _Options(actor, retire_missing, create_roads, progress, stage)
        if kind == "buildings":
            _import_buildings(session, read_chunks, result, options)
        else:
            frame = next(read_chunks())
            result.read = len(frame)
            stage(Message("Read %(count)s rows", count=result.read))
            key = _KEYS.get(kind, "source_id")
            checked = _check_rows(session, kind, frame, result, _repeated(frame[key], frame[SOURCE_ROW]))
            stage(Message("Checked: %(count)s rows to store, %(refused)s refused", count=len(checked),
                          refused=result.refused))
            _STORES[kind](session, checked, result, replace(options, columns=result.columns))
        result.awaiting_plates = sum(buildings_awaiting_plates(session).values())
        audit.record(session, actor, f"import.{kind}", "file", Path(path).name[-64:], details=result.counts())
        if dry_run:
            stage(Message("Dry run: undoing everything"))
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def said_message(said) -> Message:
    """gis' words for whoever gave a file (gis.files.Said), as a message read in the reader's language."""
    return Message(said.text, **said.values)


def field_columns(frame: pd.DataFrame, kind: str, overrides: dict[str, str | None]) -> dict[str, str]:
    """Which of the file's columns holds each canonical field: `overrides` (canonical → column, or None for a
    field the file has not) first, then the column named as GIS desks name that field (FIELDS). The guided
    import pre-fills its choices with it.

    :raises DataError: an override names a field the kind has not, or a column the file has not.
    """
    canonical = FIELDS[kind]
    unknown = sorted(set(overrides) - set(canonical))
    if unknown:
        raise DataError("%(kind)s have no field %(fields)s; their fields are %(known)s.",
                        kind=labels.IMPORT_KINDS[kind], fields=unknown,
                        known=[labels.FIELDS[name] for name in canonical])
    columns = data_columns(frame)
    for name, column in overrides.items():
        if column is not None and column not in columns:
            raise DataError("%(field)s: the file has no column %(column)s; its columns are %(columns)s.",
                            field=labels.FIELDS[name], column=column, columns=list(map(str, columns)))
    chosen = {name: column for name, column in overrides.items() if column is not None}  # what staff say first
    by_lower = {str(column).strip().lower(): column for column in columns if column not in chosen.values()}
    for name, aliases in canonical.items():
        if name in overrides:
            continue
        column = next((by_lower[alias] for alias in aliases if alias in by_lower), None)
        if column is not None and column not in chosen.values():
            chosen[name] = column
    return chosen


def map_fields(frame: gpd.GeoDataFrame, kind: str, overrides: dict[str, str]) -> gpd.GeoDataFrame:
    """Rename columns to the canonical fields (field_columns).

    :raises DataError: a field every row needs has no column.
    """
    chosen = field_columns(frame, kind, overrides)
    renames = {column: name for name, column in chosen.items()}
    # A column already called like a field it is not mapped to steps aside, keeping its data.
    taken = set(renames.values())
    renames.update({column: f"{column} (unmapped)" for column in frame.columns
                    if column in taken and column not in renames})
    mapped = frame.rename(columns=renames)
    missing = [name for name in REQUIRED[kind] if name not in mapped.columns and name != "source_id"]
    if missing:
        raise DataError("The file has no column for %(fields)s: choose which column holds it. Its columns are "
                        "%(columns)s.", fields=[labels.FIELDS[name] for name in missing],
                        columns=list(map(str, data_columns(frame))))
    return mapped


def data_columns(frame: gpd.GeoDataFrame) -> list:
    """The file's own columns: not the row numbers or the geometry it was read into."""
    return [column for column in frame.columns if column not in (SOURCE_ROW, frame.geometry.name)]


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # numbers read from DBF or Excel cells
        text = text[:-2]
    return text or None


_KEYS = {"divisions": "code"}  # the field that names a row; source_id for the other kinds


def _normalised(frame: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """The canonical fields as stripped text or None, and a source_id column (None where absent)."""
    for column in set(FIELDS[kind]) & set(frame.columns):
        # object dtype: pandas' string dtype would turn the None of a missing value back into NaN
        frame[column] = pd.Series([_text(value) for value in frame[column]], index=frame.index, dtype=object)
    if "source_id" not in frame.columns:
        frame["source_id"] = None
    return frame


def _repeated(keys, rows) -> dict[str, list[int]]:
    """Each key on more than one row, with those rows."""
    on_rows: dict[str, list[int]] = {}
    for key, row in zip(keys, rows):
        if key is not None:
            on_rows.setdefault(key, []).append(int(row))
    return {key: found for key, found in on_rows.items() if len(found) > 1}


def _check_rows(session: Session, kind: str, frame: gpd.GeoDataFrame, result: ImportResult,
                repeated: dict[str, list[int]]) -> gpd.GeoDataFrame:
    """The rows that can be stored; every other row is refused in the result, among them those
    whose key the file gives on several rows (`repeated`)."""
    keep = np.ones(len(frame), dtype=bool)
    rows = frame[SOURCE_ROW].to_numpy()
    ids = frame["source_id"].to_numpy(dtype=object)
    geometries = _checked_geometries(kind, frame.geometry.to_numpy(), rows, ids, keep, result)
    frame = frame.set_geometry(gpd.GeoSeries(geometries, index=frame.index, crs=frame.crs))

    key = _KEYS.get(kind, "source_id")
    keys = frame[key].to_numpy(dtype=object)
    for i in range(len(frame)):
        if not keep[i]:
            continue
        reason, column = _attribute_problem(kind, frame, i)
        if reason is None and keys[i] in repeated:
            reason, column = Message("%(code)s is on rows %(rows)s: which one is right?", code=keys[i],
                                     rows=repeated[keys[i]]), key
        if reason:
            keep[i] = False
            result.refuse(rows[i], ids[i], reason, column)
    if kind != "divisions":
        _refuse_outside_divisions(session, frame, keep, result)
    return frame[keep].copy()


def _checked_geometries(kind, geometries, rows, ids, keep, result) -> np.ndarray:
    geometries = np.array(geometries, dtype=object)
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    if kind == "culture":
        missing = np.zeros(len(geometries), dtype=bool)  # a note may name a road instead
        geometries[shapely.is_empty(geometries)] = None
    for i in np.flatnonzero(missing):
        keep[i] = False
        result.refuse(rows[i], ids[i], Message("It has no geometry (empty, missing or unreadable coordinates)."))
    present = ~missing & ~shapely.is_missing(geometries)
    invalid = np.flatnonzero(present & ~shapely.is_valid(geometries))
    for i in invalid:
        why = shapely.is_valid_reason(geometries[i])  # GEOS' own words (a self-intersection, and where)
        repaired = shapely.make_valid(geometries[i])
        if _fits(kind, repaired):
            geometries[i] = repaired
            result.note(rows[i], ids[i], Message("Its geometry was invalid (%(why)s) and has been made valid.",
                                                 why=why), action="repaired")
        else:
            keep[i] = False
            result.refuse(rows[i], ids[i], Message("Its geometry is invalid (%(why)s) and cannot be repaired "
                                                   "safely.", why=why))
    for i in np.flatnonzero(present & keep):
        if not _fits(kind, geometries[i]):
            keep[i] = False
            result.refuse(rows[i], ids[i], Message("%(kind)s need %(shape)s, not %(given)s.",
                                                   kind=labels.IMPORT_KINDS[kind], shape=_SHAPES[kind],
                                                   given=_GEOMETRY_TYPES.get(geometries[i].geom_type,
                                                                             geometries[i].geom_type)))
    return geometries


def _fits(kind: str, geometry) -> bool:
    if geometry is None or geometry.is_empty:
        return kind == "culture"
    if kind == "roads":
        return to_multilinestrings([geometry])[0] is not None
    if kind == "services":
        return True
    polygon = to_multipolygons([geometry])[0] is not None
    if kind == "buildings":
        return polygon or geometry.geom_type == "Point"
    return polygon


def _attribute_problem(kind: str, frame: gpd.GeoDataFrame, i: int) -> tuple[Message | None, str | None]:
    """Why row `i` cannot be taken, and the field that says so; (None, None) when it can."""
    row = frame.iloc[i]
    for name in REQUIRED[kind]:
        if row.get(name) is None:
            return Message("%(field)s is missing.", field=labels.FIELDS[name]), name
    for name, most in FIELD_LENGTHS[kind].items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > most:
            return Message("%(field)s is %(length)s characters long: at most %(most)s fit.", field=labels.FIELDS[name],
                           length=len(value), most=most), name
    if kind == "divisions" and row["level"] not in _LEVELS:
        return Message("Level %(level)s is none of 区, 县, 县级市, 街道, 镇, 乡, 社区, 村 (or district, subdistrict, "
                       "community).", level=row["level"]), "level"
    if kind == "services" and row["category"] not in _CATEGORIES:
        return Message("Category %(category)s is none of those taken: %(names)s.", category=row["category"],
                       names=[name for names in CATEGORY_NAMES.values() for name in names]), "category"
    floors = row.get("floors") if kind == "buildings" else None
    if floors is not None and not (floors.isascii() and floors.isdigit()):  # '²'.isdigit(), yet int('²') fails
        return Message("Floors %(floors)s is not a whole number.", floors=floors), "floors"
    if kind == "culture" and row.geometry is None and row.get("road") is None:
        return Message("A culture note needs a zone (polygon) or a road."), "road"
    return None, None


def _refuse_outside_divisions(session: Session, frame: gpd.GeoDataFrame, keep: np.ndarray,
                              result: ImportResult) -> None:
    districts = session.scalars(select(Division.geom).where(Division.level == DivisionLevel.DISTRICT)).all()
    if not districts:
        raise DataError("No divisions are stored yet: import the divisions first.")
    located = np.flatnonzero(keep & ~shapely.is_missing(frame.geometry.to_numpy()))
    if not located.size:
        return
    points = representative_points(frame.geometry.to_numpy()[located])
    outside = located[containing_polygon(points, districts) < 0]
    for i in outside:
        keep[i] = False
        result.refuse(frame[SOURCE_ROW].iloc[i], frame["source_id"].iloc[i],
                      Message("It lies outside every division of the city."))


# ---- storing, per kind ---------------------------------------------------------------

class _FileKeys:
    """The keys a buildings file names, with their rows, in a temporary table of the import's
    transaction: the whole file's keys without holding them in memory."""

    def __init__(self, session: Session):
        self._session = session
        self.table = Table("import_keys", MetaData(), Column("key", Text, nullable=False),
                           Column("row", Integer, nullable=False), prefixes=["TEMPORARY"])
        session.execute(text("DROP TABLE IF EXISTS import_keys"))  # one an interrupted import left
        self.table.create(session.connection())

    def add(self, pairs) -> None:
        """Record (key, row) pairs."""
        insert_plain_tuples(self._session, self.table, ["key", "row"], pairs)

    def indexed(self) -> None:
        """Index the keys, once the file's are in (faster than indexing row by row)."""
        self._session.execute(text("CREATE INDEX ix_import_keys_key ON import_keys (key)"))

    def repeated(self) -> dict[str, list[int]]:
        """Each key on more than one row, with those rows."""
        shared = select(self.table.c.key).group_by(self.table.c.key).having(func.count() > 1)
        rows = self._session.execute(select(self.table.c.key, self.table.c.row)
                                     .where(self.table.c.key.in_(shared)).order_by(self.table.c.key, self.table.c.row))
        repeated: dict[str, list[int]] = {}
        for key, row in rows:
            repeated.setdefault(key, []).append(row)
        return repeated

    def first_rows(self, keys: list[str]) -> dict[str, int]:
        """The first row each of these keys is on, for those already recorded."""
        return {key: row for chunk in chunks(keys) for key, row in self._session.execute(
            select(self.table.c.key, func.min(self.table.c.row)).where(self.table.c.key.in_(chunk))
            .group_by(self.table.c.key))}

    def not_in_file(self) -> list[tuple[int, str]]:
        """(id, source_id) of the active stored buildings no row names, by source_id."""
        named = exists().where(self.table.c.key == Building.source_id)
        return [tuple(row) for row in self._session.execute(
            select(Building.id, Building.source_id).where(Building.status == BuildingStatus.ACTIVE, ~named)
            .order_by(Building.source_id))]

    def drop(self) -> None:
        self.table.drop(self._session.connection())


def _import_buildings(session: Session, read_chunks: Callable[[], Iterator[gpd.GeoDataFrame]],
                      result: ImportResult, options: _Options) -> None:
    keys = _FileKeys(session)
    for frame in read_chunks():  # first reading: the keys alone
        result.read += len(frame)
        named = frame["source_id"].notna().to_numpy()
        keys.add(zip(frame["source_id"][named].tolist(), frame[SOURCE_ROW][named].astype(int).tolist()))
    keys.indexed()
    options = replace(options, columns=result.columns)
    options.stage(Message("Read %(count)s rows", count=result.read))
    repeated = keys.repeated()
    building_chunks = _BuildingChunks(session, result, options, keys)
    checked = 0
    for frame in read_chunks():  # second reading: check and store
        building_chunks.store(_check_rows(session, "buildings", frame, result, repeated))
        checked += len(frame)
        options.stage(Message("Checked and stored %(checked)s of %(count)s rows, %(refused)s refused",
                              checked=checked, count=result.read, refused=result.refused))
        if options.progress:
            options.progress(len(frame), result.read)

    missing = keys.not_in_file()  # a refused row names its building too: it is not missing
    keys.drop()
    result.missing = [source_id for _, source_id in missing]
    unidentified = sorted(note.row for note in result.rows if note.action == "refused" and note.key is None)
    if options.retire_missing and unidentified:
        raise DataError("Rows %(rows)s were refused and have no code, so which stored buildings they are cannot be "
                        "told: fix them, or import without retiring the buildings the file lacks.",
                        rows=unidentified[:10])
    if options.retire_missing and missing:
        for chunk in chunks([building_id for building_id, _ in missing]):
            for building in session.scalars(select(Building).where(Building.id.in_(chunk))):
                retire_building(session, building, options.actor, "not in the imported file (retire missing)")
            session.flush()
        result.retired = len(missing)


class _BuildingChunks:
    """Storing checked chunks of a buildings file: new ones inserted, stored ones updated in place,
    both linked again; what chunks are placed by is read once."""

    def __init__(self, session: Session, result: ImportResult, options: _Options, keys: _FileKeys):
        self.session, self.result, self.options, self.keys = session, result, options, keys
        self.placer = loading.BuildingPlacer(session)
        self.created_roads = False  # roads were made for this file's buildings, and not yet walked

    def store(self, frame: gpd.GeoDataFrame) -> None:
        session, result = self.session, self.result
        frame = self._match_by_footprint(frame)
        frame = self._place_on_roads(frame)
        self._note_communities(frame)
        source_ids = frame["source_id"].tolist()
        stored = {row.source_id: row for chunk in chunks(source_ids) for row in session.execute(
            select(Building.id, Building.source_id, Building.status, Building.retired_at)
            .where(Building.source_id.in_(chunk)))}
        retired = [i for i, source_id in enumerate(source_ids)
                   if source_id in stored and stored[source_id].status == BuildingStatus.RETIRED]
        for i in retired:
            source_id = source_ids[i]
            retired_on = stored[source_id].retired_at.strftime("%Y-%m-%d")
            result.refuse(frame[SOURCE_ROW].iloc[i], source_id,
                          Message("Building %(code)s was retired on %(date)s; an import does not bring it back.",
                                  code=source_id, date=retired_on), "source_id")
        frame = frame.drop(frame.index[retired])
        existing = frame["source_id"].isin(stored).to_numpy()
        new = frame[~existing]
        loading.load_building_chunks(session, [new], placer=self.placer)
        changed = self._update(frame[existing], stored)
        result.imported += len(new)
        result.updated += int(existing.sum())
        new_ids = [building_id for chunk in chunks(new["source_id"].tolist()) for building_id in session.scalars(
            select(Building.id).where(Building.source_id.in_(chunk)))]
        if self.created_roads:  # before its buildings are linked, so they walk it
            made = _remake_network(session, result, self.options)
            links.refresh_links(session, new_ids + changed)
            _relink_near(session, result, made)
            self.created_roads = False
            return
        links.refresh_links(session, new_ids + changed)
        refresh_entries(session, changed)  # new buildings are found once issued their plates

    def _match_by_footprint(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Give rows without a source_id the one of a stored building within a few metres, or a new one.

        A row whose building another row already names (or matched first) is refused.
        """
        unnamed = np.flatnonzero(frame["source_id"].isna().to_numpy())
        if not unnamed.size:
            return frame
        points = representative_points(frame.geometry.to_numpy()[unnamed])
        nearest: dict[int, tuple[float, str]] = {}
        near = active_buildings_near(self.session, points, SAME_BUILDING_METRES)
        if near:
            at, _, source_ids, stored = zip(*near)
            at = np.array(at)
            metres = geodesic_distance(shapely.get_x(points[at]), shapely.get_y(points[at]),
                                       shapely.get_x(np.array(stored, dtype=object)),
                                       shapely.get_y(np.array(stored, dtype=object)))
            for k, source_id, distance in zip(at.tolist(), source_ids, metres.tolist()):
                if distance <= SAME_BUILDING_METRES and (k not in nearest or distance < nearest[k][0]):
                    nearest[k] = (distance, source_id)
        # else a stable key for a building the file does not name: where it stands
        wanted = [nearest[k][1] if k in nearest else f"at:{point.x:.6f},{point.y:.6f}"
                  for k, point in enumerate(points)]
        claimed = self.keys.first_rows(wanted)
        ids = frame["source_id"].to_numpy(dtype=object, copy=True)
        rows = frame[SOURCE_ROW].to_numpy()
        refused, taken = [], []
        for i, key in zip(unnamed, wanted):
            if key in claimed:
                refused.append(i)
                self.result.refuse(rows[i], None, Message("It stands where row %(row)s already puts building "
                                                          "%(code)s.", row=claimed[key], code=key))
            else:
                ids[i] = key
                claimed[key] = int(rows[i])
                taken.append((key, int(rows[i])))
        self.keys.add(taken)
        frame = frame.copy()
        frame["source_id"] = ids
        return frame.drop(frame.index[refused])

    def _place_on_roads(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The rows whose road the registry holds; the others are refused, or placed on a road created for them
        (create_roads), its line following its buildings until the roads file gives its true one."""
        if "road" not in frame.columns:
            return frame
        unknown = [i for i, road in enumerate(frame["road"]) if road is not None and not self.placer.knows_road(road)]
        if not unknown:
            return frame
        by_road: dict[str, list[int]] = {}
        for i in unknown:
            by_road.setdefault(frame["road"].iloc[i], []).append(i)
        if self.options.create_roads:
            points = representative_points(frame.geometry.to_numpy())
            for road, at in by_road.items():
                geom = to_multilinestrings([line_along(points[at])])[0]
                road_id = self.session.scalar(insert(Road).values(
                    source_id=f"created:{road}"[:64], name=road, pinyin=road_pinyin(road),
                    division_code=frame["division_code"].iloc[at[0]] if "division_code" in frame.columns else None,
                    geom=geom).returning(Road.id))
                self.placer.add_road(road_id, road, geom)
                self.created_roads = True
                self.result.roads_created[road] = self.result.roads_created.get(road, 0) + len(at)
            return frame
        rows, ids = frame[SOURCE_ROW].to_numpy(), frame["source_id"].to_numpy(dtype=object)
        for road, at in by_road.items():
            self.result.roads_unknown[road] = self.result.roads_unknown.get(road, 0) + len(at)
            for i in at:
                self.result.refuse(rows[i], ids[i], Message("Road %(road)s is not in the registry: import the roads "
                                                            "first, or choose to create the roads the file names.",
                                                            road=road), "road")
        return frame.drop(frame.index[unknown])

    def _note_communities(self, frame: gpd.GeoDataFrame) -> None:
        """Say where a building's community is not the one the file names, or it stands in none."""
        points = representative_points(frame.geometry.to_numpy())
        placed = self.placer.communities(points)
        named = frame["community"].tolist() if "community" in frame.columns else [None] * len(frame)
        known = set(self.placer.community_names.values())
        for row, source_id, said, community_id in zip(frame[SOURCE_ROW], frame["source_id"], named, placed):
            there = self.placer.community_names.get(community_id)
            if community_id is None and self.placer.community_names:
                self.result.note(row, source_id, Message("It stands in no community of the registry: it was stored "
                                                         "without one."), "community")
            elif said is None or said == there:
                continue
            elif said not in known:
                self.result.communities_unknown[said] = self.result.communities_unknown.get(said, 0) + 1
                self.result.note(row, source_id, Message("Community %(community)s is not in the registry: it was "
                                                         "placed in %(placed)s, where it stands.", community=said,
                                                         placed=there), "community")
            else:
                self.result.note(row, source_id, Message("The file says community %(community)s, but it stands in "
                                                         "%(placed)s, where it was placed.", community=said,
                                                         placed=there), "community")

    def _update(self, frame: gpd.GeoDataFrame, stored: dict) -> list[int]:
        """Update stored buildings in place (their plates untouched); returns the ids that changed.

        Where a building stands, and so its community and division, always comes from the
        file; road, name and floors only when the file has them.
        """
        if not len(frame):
            return []
        optional = {"road": "road_id", "name": "name", "floors": "floors"}
        columns = ["number", "division_code", "community_id", "footprint", "point"] + [
            column for field_name, column in optional.items() if field_name in self.options.columns]
        ids = [stored[source_id].id for source_id in frame["source_id"]]
        query = select(Building.id, *[getattr(Building, c) for c in columns])
        current = {row.id: row for chunk in chunks(ids)
                   for row in self.session.execute(query.where(Building.id.in_(chunk)))}
        now = datetime.now(UTC)
        changes = []
        for building_id, row in zip(ids, self.placer.rows(frame)):
            old = current[building_id]
            if any(_stored_value(row[c]) != _stored_value(getattr(old, c)) for c in columns):
                changes.append({"id": building_id, **{c: row[c] for c in columns}, "updated_at": now})
        if changes:
            self.session.execute(update(Building), changes)
        self.result.unchanged += len(ids) - len(changes)
        return [change["id"] for change in changes]


def _stored_value(value):
    """Compare geometries by their WKB, everything else as it is."""
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkb(value)
    return value


def _store_by_key(session: Session, frame: gpd.GeoDataFrame, result: ImportResult, model, key: str,
                  load, update_one) -> list:
    """Insert new rows with `load`, update stored ones with `update_one`; returns the objects that changed."""
    stored = {getattr(obj, key): obj for obj in session.scalars(select(model))}
    present = frame[key].isin(stored).to_numpy()
    if (~present).any():
        load(session, frame[~present])
    changed = []
    for _, row in frame[present].iterrows():
        obj = stored[row[key]]
        update_one(session, obj, row)
        if session.is_modified(obj):
            changed.append(obj)
    session.flush()
    result.imported = int((~present).sum())
    result.updated = int(present.sum())
    result.missing = sorted(set(stored) - set(frame[key]))
    return changed


def _store_divisions(session, frame, result, options: _Options) -> None:
    frame = frame.assign(level=[_LEVELS[level].value for level in frame["level"]])
    known = dict(session.execute(select(Division.code, Division.id)).all())

    def update_one(_session, division, row):
        if division.level != row["level"]:
            raise DataError("Division %(code)s is stored as a %(stored)s; the file says %(said)s.", code=row["code"],
                            stored=labels.DIVISION_LEVELS[division.level], said=labels.DIVISION_LEVELS[row["level"]])
        division.name = row["name"]
        division.geom = to_multipolygons([row.geometry])[0]
        if row.get("parent_code") is not None:
            division.parent_id = known.get(row["parent_code"], division.parent_id)

    changed = _store_by_key(session, frame, result, Division, "code", loading.load_divisions, update_one)
    if changed or result.imported:
        options.stage(Message("Placing every building in its community and district again"))
        moved = loading.relocate_buildings(session)
        refresh_entries(session)  # a division's name or its buildings' places may have changed
        if moved:
            result.notes.append(Message("%(count)s buildings now lie in another community or district.",
                                        count=moved))


def _store_roads(session, frame, result, options: _Options) -> None:
    def update_one(_session, road, row):
        road.name = row["name"]
        road.pinyin = row.get("pinyin") or road_pinyin(row["name"])
        road.geom = to_multilinestrings([row.geometry])[0]

    changed = _store_by_key(session, frame, result, Road, "source_id", loading.load_roads, update_one)
    if changed:  # a road renamed renames the addresses along it
        refresh_entries(session, buildings_on_roads(session, [road.id for road in changed]))
    if changed or result.imported:
        _remake_streets(session, result, options)


def _remake_streets(session, result, options: _Options) -> None:
    """Make the walkable network again and relink the buildings whose walks the changed lines can change."""
    _relink_near(session, result, _remake_network(session, result, options))


def _remake_network(session, result, options: _Options) -> streets.StreetsReport:
    options.stage(Message("Making the street network again"))
    made = streets.rebuild_streets(session)
    result.notes.append(Message("The street network: %(edges)s pieces of street in %(components)s connected "
                                "parts; %(gaps)s gaps of under %(metres)s m between streets were closed.",
                                edges=made.edges, components=made.components, gaps=len(made.gaps),
                                metres=int(GAP_TOLERANCE_M)))
    return made


def _relink_near(session, result, made: streets.StreetsReport) -> None:
    """Relink the buildings (already linked) whose walks the network's changed edges can change."""
    relinked = links.refresh_after_street_change(session, made.changed)
    if relinked:
        result.notes.append(Message("%(count)s buildings' walks to their nearest services were worked out again.",
                                    count=relinked))


def _store_services(session, frame, result, options: _Options) -> None:
    frame = frame.assign(category=[_CATEGORIES[category].value for category in frame["category"]])

    def update_one(_session, service, row):
        service.name, service.category = row["name"], row["category"]
        if "phone" in options.columns:
            service.phone = row["phone"]
        if "hours" in options.columns:
            service.hours = row["hours"]
        service.geom = representative_points([row.geometry])[0]

    before = {s.source_id: s.category for s in session.scalars(select(ServicePoint))}
    changed = _store_by_key(session, frame, result, ServicePoint, "source_id", loading.load_services, update_one)
    touched = {row["category"] for _, row in frame.iterrows() if row["source_id"] not in before}
    touched |= {service.category for service in changed} | {before[s.source_id] for s in changed}
    if touched:
        options.stage(Message("Linking every building to its nearest %(categories)s again",
                              categories=[labels.CATEGORIES[category] for category in sorted(touched)]))
        links.refresh_links(session, categories=sorted(touched), containment=False)


def _store_beats(session, frame, result, options: _Options) -> None:
    def update_one(_session, beat, row):
        beat.name, beat.station = row["name"], row["station"]
        beat.geom = to_multipolygons([row.geometry])[0]
        if row.get("officer"):
            beat.officers = [Officer(name=row["officer"], phone=row.get("phone") or "")]
        elif "officer" in options.columns:  # the desk blanked it: the officer has left the beat
            beat.officers = []

    _store_by_key(session, frame, result, PoliceBeat, "source_id", loading.load_beats, update_one)
    options.stage(RELINKING_ZONES)
    links.refresh_links(session, categories=[])


def _store_culture(session, frame, result, options: _Options) -> None:
    road_ids = dict(session.execute(select(Road.name, Road.id)).all())
    unknown_road = [i for i, (_, row) in enumerate(frame.iterrows())
                    if row.geometry is None and row["road"] not in road_ids]
    for i in unknown_road:
        result.refuse(frame[SOURCE_ROW].iloc[i], frame["source_id"].iloc[i],
                      Message("Road %(road)s is not in the registry: import the roads first.",
                              road=frame["road"].iloc[i]), "road")
    frame = frame.drop(frame.index[unknown_road])

    def update_one(session_, note, row):
        note.title, note.body = row["title"], row["body"]
        if row.geometry is not None:
            zone = session_.get(CultureZone, note.zone_id) if note.zone_id else None
            if zone is None:
                zone = CultureZone(source_id=note.source_id, name=row["title"])
                session_.add(zone)
            zone.name, zone.geom = row["title"], to_multipolygons([row.geometry])[0]
            session_.flush()
            note.zone_id, note.road_id = zone.id, None
        else:
            note.road_id, note.zone_id = road_ids[row["road"]], None

    _store_by_key(session, frame, result, CultureNote, "source_id", loading.load_culture, update_one)
    options.stage(RELINKING_ZONES)
    links.refresh_links(session, categories=[])


_STORES = {"divisions": _store_divisions, "roads": _store_roads, "services": _store_services,
           "beats": _store_beats, "culture": _store_culture}  # buildings stream: _import_buildings


@dataclass
class Preview:
    """The start of a file as the guided import shows it: what it was read as, its columns, its first rows, and
    which column each field was matched to (as import_file would match them)."""

    kind: str
    layers: list[str]  # a GeoPackage's layers (or a workbook's sheets), to choose from
    layer: str | None
    encoding: str | None
    source_crs: str
    notes: list[Message]
    columns: list[str]
    rows: list[list]  # the first PREVIEW_ROWS rows, the columns' values as text
    fields: dict[str, str]  # canonical field → column, as matched


def preview_file(path: str | Path, kind: str, *, layer: str | None = None, crs: str | None = None,
                 encoding: str | None = None, fields: dict[str, str] | None = None) -> Preview:
    """The first rows of a file and how an import of `kind` would read it.

    :raises DataError: the file cannot be read as given (its layer must be chosen first, say).
    """
    if kind not in KINDS:
        raise DataError("There is no kind of import %(kind)s: choose one of %(kinds)s.", kind=kind,
                        kinds=[labels.IMPORT_KINDS[known] for known in KINDS])
    try:
        layers = list_layers(path) if Path(path).suffix.lower() in (".gpkg", ".xlsx") else []
        layer = layer or (layers[0] if len(layers) == 1 else None)
        if len(layers) > 1 and layer is None:
            return Preview(kind, layers, None, None, "", [], [], [], {})
        read = next(read_feature_chunks(path, layer=layer, encoding=encoding, crs=crs,
                                        require_geometry=kind != "culture", chunk_rows=PREVIEW_ROWS))
    except FileReadError as error:
        raise DataError(said_message(error.said)) from error
    columns = data_columns(read.frame)
    rows = [[_text(value) or "" for value in values] for values in read.frame[columns].head(PREVIEW_ROWS)
            .itertuples(index=False)]
    return Preview(kind, layers, layer, read.encoding, read.source_crs, [said_message(note) for note in read.notes],
                   list(map(str, columns)), rows, field_columns(read.frame, kind, fields or {}))
