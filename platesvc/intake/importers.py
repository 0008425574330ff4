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

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Column, Integer, MetaData, Table, Text, exists, func, select, text, update
from sqlalchemy.orm import Session

from gis.files import SOURCE_ROW, FileReadError, read_feature_chunks
from gis.joins import containing_polygon
from gis.nearest import geodesic_distance
from gis.pinyin import road_pinyin
from gis.shapes import representative_points, to_multilinestrings, to_multipolygons
from platesvc import spreadsheets
from platesvc.errors import DataError
from platesvc.intake import loading
from platesvc.reference import links
from platesvc.registry import audit
from platesvc.registry.lifecycle import retire_building
from platesvc.registry.plate_ids import buildings_awaiting_plates
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
from platesvc.store.spatial import active_buildings_near

KINDS = ("divisions", "roads", "buildings", "services", "beats", "culture")
SAME_BUILDING_METRES = 3.0
SUMMARY_ROWS = 20  # refused rows listed in the summary; the refusals CSV lists them all
IMPORT_CHUNK_ROWS = 20_000  # buildings read, checked and stored at a time

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
_CATEGORIES = {category.value: category for category in ServiceCategory} | {
    "养老服务中心": ServiceCategory.ELDERLY_CARE, "养老服务站": ServiceCategory.ELDERLY_CARE,
    "日间照料中心": ServiceCategory.DAY_CARE, "老年助餐点": ServiceCategory.MEAL_POINT,
    "助餐点": ServiceCategory.MEAL_POINT, "社会救助站": ServiceCategory.ASSISTANCE_STATION,
    "救助站": ServiceCategory.ASSISTANCE_STATION}
_SHAPES = {"divisions": "polygon", "roads": "line", "buildings": "polygon or point", "services": "point",
           "beats": "polygon", "culture": "polygon or none"}

Progress = Callable[[int, int], None]  # rows just done, rows in all
Stage = Callable[[str], None]


@dataclass(frozen=True)
class _Options:
    actor: audit.Actor
    retire_missing: bool
    progress: Progress | None
    stage: Stage
    columns: frozenset[str] = frozenset()  # the canonical fields the file has: only those are updated


@dataclass
class RowNote:
    row: int
    source_id: str | None
    action: str  # "refused", "repaired" or "noted" (stored, with a caveat)
    reason: str


@dataclass
class ImportResult:
    kind: str
    source: str
    dry_run: bool = False
    source_crs: str = ""  # what the file's coordinates were read as
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0  # of the updated buildings, those the file did not change
    notes: list[str] = field(default_factory=list)
    rows: list[RowNote] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # stored, active, and not in this file
    retired: int = 0
    awaiting_plates: int = 0

    @property
    def refused(self) -> int:
        return sum(1 for note in self.rows if note.action == "refused")

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "imported": self.imported, "updated": self.updated, "refused": self.refused,
                "retired": self.retired}

    def refuse(self, row: int, source_id, reason: str) -> None:
        self.rows.append(RowNote(row, source_id, "refused", reason))

    def summary(self, refusals_path: str | Path) -> list[str]:
        """The plain summary staff read after an import (the command line and the staff pages alike)."""
        lines = [f"note: {note}" for note in self.notes]
        lines.append(f"{self.kind} in {Path(self.source).name}: read {self.read} = imported {self.imported} "
                     f"+ updated {self.updated} + refused {self.refused}")
        if self.unchanged:
            lines.append(f"  {self.unchanged} of the updated had no changes")
        repaired = sum(1 for note in self.rows if note.action == "repaired")
        if repaired:
            lines.append(f"  {repaired} geometries were invalid and have been repaired")
        refused = sorted((n for n in self.rows if n.action == "refused"), key=lambda n: n.row)
        for note in refused[:SUMMARY_ROWS]:
            lines.append(f"  refused row {note.row}{f' ({note.source_id})' if note.source_id else ''}: {note.reason}")
        if len(refused) > SUMMARY_ROWS:
            lines.append(f"  … and {len(refused) - SUMMARY_ROWS} more refused rows")
        if self.missing:
            verb = ("retired" if self.retired else "not in this file (--retire-missing retires them)"
                    if self.kind == "buildings" else "not in this file (left as they are)")
            lines.append(f"  {len(self.missing)} stored {self.kind} {verb}")
        if self.kind == "buildings" and self.awaiting_plates:
            lines.append(f"  {self.awaiting_plates} buildings await plate IDs: run `platesvc plates issue`")
        lines.append(f"every refused or repaired row, with its reason: {refusals_path}")
        lines.append("dry run: nothing was written" if self.dry_run else "done: committed")
        return lines

    def write_csv(self, path: Path) -> None:
        """Every refused, repaired or noted row with its row number and reason, then the stored
        records the file lacks (UTF-8 with BOM, so Excel reads the Chinese)."""
        with open(path, "w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "source_id", "action", "reason"])
            for note in sorted(self.rows, key=lambda n: n.row):
                writer.writerow(spreadsheets.row([note.row, note.source_id or "", note.action, note.reason]))
            for source_id in self.missing:
                writer.writerow(spreadsheets.row(["", source_id, "retired" if self.retired else "missing",
                                                  "stored but not in this file"]))


def import_file(session: Session, kind: str, path: str | Path, *, layer: str | None = None, crs: str | None = None,
                encoding: str | None = None, fields: dict[str, str] | None = None, dry_run: bool = False,
                retire_missing: bool = False, progress: Progress | None = None,
                stage: Stage = lambda _: None, actor: audit.Actor = audit.SYSTEM) -> ImportResult:
    """Import one file of `kind`; returns what it did and every row it did not take.

    The import is recorded in the audit trail as `actor`'s, with its counts.

    :raises DataError: the file as a whole cannot be imported (nothing is written).
    """
    if kind not in KINDS:
        raise DataError(f"cannot import {kind!r}: choose one of {', '.join(KINDS)}")
    result = ImportResult(kind, str(path), dry_run=dry_run)

    def read_chunks() -> Iterator[gpd.GeoDataFrame]:
        """The file's rows, mapped to the canonical fields and normalised, a chunk at a time."""
        try:
            for read in read_feature_chunks(path, layer=layer, encoding=encoding, crs=crs,
                                            require_geometry=kind != "culture",
                                            chunk_rows=IMPORT_CHUNK_ROWS if kind == "buildings" else None):
                result.notes.extend(note for note in read.notes if note not in result.notes)
                result.source_crs = read.source_crs
                yield _normalised(map_fields(read.frame, kind, fields or {}), kind)
        except FileReadError as error:
            raise DataError(str(error)) from error

    try:
        options = _Options(actor, retire_missing, progress, stage)
        if kind == "buildings":
            _import_buildings(session, read_chunks, result, options)
        else:
            frame = next(read_chunks())
            result.read = len(frame)
            stage(f"read {result.read} rows ({result.source_crs or 'no coordinates'})")
            key = _KEYS.get(kind, "source_id")
            checked = _check_rows(session, kind, frame, result, _repeated(frame[key], frame[SOURCE_ROW]))
            stage(f"checked: {len(checked)} rows to store, {result.refused} refused")
            _STORES[kind](session, checked, result, replace(options, columns=frozenset(frame.columns)))
        result.awaiting_plates = sum(buildings_awaiting_plates(session).values())
        audit.record(session, actor, f"import.{kind}", "file", Path(path).name[-64:], details=result.counts())
        if dry_run:
            stage("dry run: rolling everything back")
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def map_fields(frame: gpd.GeoDataFrame, kind: str, overrides: dict[str, str]) -> gpd.GeoDataFrame:
    """Rename columns to the canonical fields: `overrides` (canonical → column) first, then known names."""
    canonical = FIELDS[kind]
    unknown = sorted(set(overrides) - set(canonical))
    if unknown:
        raise DataError(f"{kind} have no field {', '.join(unknown)}; their fields are {', '.join(canonical)}")
    for name, column in overrides.items():
        if column not in frame.columns:
            raise DataError(f"--field {name}={column}: the file has no column {column!r}; "
                            f"its columns are {', '.join(map(str, frame.columns))}")
    renames = {column: name for name, column in overrides.items()}  # what staff say comes first
    by_lower = {str(column).strip().lower(): column for column in frame.columns if column not in renames}
    for name, aliases in canonical.items():
        if name in overrides:
            continue
        column = next((by_lower[alias] for alias in aliases if alias in by_lower), None)
        if column is not None and column not in renames:
            renames[column] = name
    # A column already called like a field it is not mapped to steps aside, keeping its data.
    taken = set(renames.values())
    renames.update({column: f"{column} (unmapped)" for column in frame.columns
                    if column in taken and column not in renames})
    mapped = frame.rename(columns=renames)
    missing = [name for name in REQUIRED[kind] if name not in mapped.columns and name != "source_id"]
    if missing:
        raise DataError(f"the file has no column for {', '.join(missing)}: name it with --field, e.g. "
                        f"--field {missing[0]}=COLUMN; its columns are {', '.join(map(str, frame.columns))}")
    return mapped


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
        reason = _attribute_problem(kind, frame, i)
        if reason is None and keys[i] in repeated:
            reason = f"{key} {keys[i]} is on rows {', '.join(map(str, repeated[keys[i]]))}: which one is right?"
        if reason:
            keep[i] = False
            result.refuse(rows[i], ids[i], reason)
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
        result.refuse(rows[i], ids[i], "no geometry (empty, null or unreadable coordinates)")
    present = ~missing & ~shapely.is_missing(geometries)
    invalid = np.flatnonzero(present & ~shapely.is_valid(geometries))
    for i in invalid:
        why = shapely.is_valid_reason(geometries[i])
        repaired = shapely.make_valid(geometries[i])
        if _fits(kind, repaired):
            geometries[i] = repaired
            result.rows.append(RowNote(rows[i], ids[i], "repaired", f"invalid geometry ({why}) made valid"))
        else:
            keep[i] = False
            result.refuse(rows[i], ids[i], f"invalid geometry ({why}) that cannot be repaired safely")
    for i in np.flatnonzero(present & keep):
        if not _fits(kind, geometries[i]):
            keep[i] = False
            result.refuse(rows[i], ids[i], f"{kind} need {_SHAPES[kind]} geometry, not {geometries[i].geom_type}")
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


def _attribute_problem(kind: str, frame: gpd.GeoDataFrame, i: int) -> str | None:
    row = frame.iloc[i]
    for name in REQUIRED[kind]:
        if row.get(name) is None:
            return {"number": "no door number"}.get(name, f"no {name}")
    if kind == "divisions" and row["level"] not in _LEVELS:
        return f"level {row['level']!r} is none of district, subdistrict, community (区, 街道, 社区 …)"
    if kind == "services" and row["category"] not in _CATEGORIES:
        return f"category {row['category']!r} is none of {', '.join(c.value for c in ServiceCategory)}"
    floors = row.get("floors") if kind == "buildings" else None
    if floors is not None and not (floors.isascii() and floors.isdigit()):  # '²'.isdigit(), yet int('²') fails
        return f"floors {floors!r} is not a whole number"
    if kind == "culture" and row.geometry is None and row.get("road") is None:
        return "a culture note needs a zone polygon or a road"
    return None


def _refuse_outside_divisions(session: Session, frame: gpd.GeoDataFrame, keep: np.ndarray,
                              result: ImportResult) -> None:
    districts = session.scalars(select(Division.geom).where(Division.level == DivisionLevel.DISTRICT)).all()
    if not districts:
        raise DataError("no divisions are stored yet: import divisions first")
    located = np.flatnonzero(keep & ~shapely.is_missing(frame.geometry.to_numpy()))
    if not located.size:
        return
    points = representative_points(frame.geometry.to_numpy()[located])
    outside = located[containing_polygon(points, districts) < 0]
    for i in outside:
        keep[i] = False
        result.refuse(frame[SOURCE_ROW].iloc[i], frame["source_id"].iloc[i], "outside every division")


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
    columns: frozenset[str] = frozenset()
    for frame in read_chunks():  # first reading: the keys alone
        result.read += len(frame)
        columns = frozenset(frame.columns)
        named = frame["source_id"].notna().to_numpy()
        keys.add(zip(frame["source_id"][named].tolist(), frame[SOURCE_ROW][named].astype(int).tolist()))
    keys.indexed()
    options = replace(options, columns=columns)
    options.stage(f"read {result.read} rows ({result.source_crs or 'no coordinates'})")
    repeated = keys.repeated()
    building_chunks = _BuildingChunks(session, result, options, keys)
    checked = 0
    for frame in read_chunks():  # second reading: check and store
        building_chunks.store(_check_rows(session, "buildings", frame, result, repeated))
        checked += len(frame)
        options.stage(f"checked and stored {checked} of {result.read} rows, {result.refused} refused")
        if options.progress:
            options.progress(len(frame), result.read)

    missing = keys.not_in_file()  # a refused row names its building too: it is not missing
    keys.drop()
    result.missing = [source_id for _, source_id in missing]
    unidentified = sorted(note.row for note in result.rows if note.action == "refused" and note.source_id is None)
    if options.retire_missing and unidentified:
        raise DataError(f"rows {', '.join(map(str, unidentified[:10]))} were refused and have no source_id, so "
                        "which stored buildings they are cannot be told: fix them, or import without "
                        "--retire-missing")
    if options.retire_missing and missing:
        for chunk in chunks([building_id for building_id, _ in missing]):
            for building in session.scalars(select(Building).where(Building.id.in_(chunk))):
                retire_building(session, building, options.actor, "not in the imported file (--retire-missing)")
            session.flush()
        result.retired = len(missing)


class _BuildingChunks:
    """Storing checked chunks of a buildings file: new ones inserted, stored ones updated in place,
    both linked again; what chunks are placed by is read once."""

    def __init__(self, session: Session, result: ImportResult, options: _Options, keys: _FileKeys):
        self.session, self.result, self.options, self.keys = session, result, options, keys
        self.placer = loading.BuildingPlacer(session)

    def store(self, frame: gpd.GeoDataFrame) -> None:
        session, result = self.session, self.result
        frame = self._match_by_footprint(frame)
        self._note_unknown_roads(frame)
        source_ids = frame["source_id"].tolist()
        stored = {row.source_id: row for chunk in chunks(source_ids) for row in session.execute(
            select(Building.id, Building.source_id, Building.status, Building.retired_at)
            .where(Building.source_id.in_(chunk)))}
        retired = [i for i, source_id in enumerate(source_ids)
                   if source_id in stored and stored[source_id].status == BuildingStatus.RETIRED]
        for i in retired:
            source_id = source_ids[i]
            result.refuse(frame[SOURCE_ROW].iloc[i], source_id,
                          f"building {source_id} was retired on {stored[source_id].retired_at:%Y-%m-%d}; "
                          "an import does not bring it back")
        frame = frame.drop(frame.index[retired])
        existing = frame["source_id"].isin(stored).to_numpy()
        new = frame[~existing]
        loading.load_building_chunks(session, [new], placer=self.placer)
        changed = self._update(frame[existing], stored)
        result.imported += len(new)
        result.updated += int(existing.sum())
        new_ids = [building_id for chunk in chunks(new["source_id"].tolist()) for building_id in session.scalars(
            select(Building.id).where(Building.source_id.in_(chunk)))]
        links.refresh_links(session, new_ids + changed)

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
                self.result.refuse(rows[i], None, f"stands where row {claimed[key]} already puts building {key}")
            else:
                ids[i] = key
                claimed[key] = int(rows[i])
                taken.append((key, int(rows[i])))
        self.keys.add(taken)
        frame = frame.copy()
        frame["source_id"] = ids
        return frame.drop(frame.index[refused])

    def _note_unknown_roads(self, frame: gpd.GeoDataFrame) -> None:
        if "road" not in frame.columns:
            return
        for row, source_id, road in zip(frame[SOURCE_ROW], frame["source_id"], frame["road"]):
            if road is not None and not self.placer.knows_road(road):
                self.result.rows.append(RowNote(row, source_id, "noted",
                                                f"no road named {road} is stored: stored without its road "
                                                "(import the roads, then this file again)"))

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
            raise DataError(f"division {row['code']} is stored as a {division.level}, the file says {row['level']}")
        division.name = row["name"]
        division.geom = to_multipolygons([row.geometry])[0]
        if row.get("parent_code") is not None:
            division.parent_id = known.get(row["parent_code"], division.parent_id)

    changed = _store_by_key(session, frame, result, Division, "code", loading.load_divisions, update_one)
    if changed or result.imported:
        options.stage("placing every building in its community and district again")
        moved = loading.relocate_buildings(session)
        if moved:
            result.notes.append(f"{moved} buildings now lie in another community or district")


def _store_roads(session, frame, result, options: _Options) -> None:
    def update_one(_session, road, row):
        road.name = row["name"]
        road.pinyin = row.get("pinyin") or road_pinyin(row["name"])
        road.geom = to_multilinestrings([row.geometry])[0]

    _store_by_key(session, frame, result, Road, "source_id", loading.load_roads, update_one)


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
        options.stage(f"relinking every building to its nearest {', '.join(sorted(touched))}")
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
    options.stage("relinking every building to the beat and culture zones that contain it")
    links.refresh_links(session, categories=[])


def _store_culture(session, frame, result, options: _Options) -> None:
    road_ids = dict(session.execute(select(Road.name, Road.id)).all())
    unknown_road = [i for i, (_, row) in enumerate(frame.iterrows())
                    if row.geometry is None and row["road"] not in road_ids]
    for i in unknown_road:
        result.refuse(frame[SOURCE_ROW].iloc[i], frame["source_id"].iloc[i],
                      f"no road {frame['road'].iloc[i]!r} is stored: import roads first")
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
    options.stage("relinking every building to the beat and culture zones that contain it")
    links.refresh_links(session, categories=[])


_STORES = {"divisions": _store_divisions, "roads": _store_roads, "services": _store_services,
           "beats": _store_beats, "culture": _store_culture}  # buildings stream: _import_buildings
