"""Store GeoDataFrames with the canonical fields (see gis.synthetic.City) in the database.

The demo city and the file importers both end here, so every row reaches the store
through the same code. Frames must be in WGS84. Nothing here commits: the caller
decides what one transaction holds.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gis.joins import containing_polygon
from gis.pinyin import road_pinyin
from gis.shapes import representative_points, to_multilinestrings, to_multipolygons
from platesvc.errors import DataError
from platesvc.store.bulk_writes import Progress, insert_rows
from platesvc.store.geometry import encode_geometries
from platesvc.store.models import (
    AssistanceOffice,
    Building,
    BuildingStatus,
    CultureNote,
    CultureZone,
    Division,
    DivisionLevel,
    Officer,
    PlateSeries,
    PoliceBeat,
    Road,
    ServicePoint,
)

BUILDING_CHUNK_ROWS = 50_000  # placed and stored at a time: the rest of a large file is not held as rows
_LEVEL_ORDER = [DivisionLevel.DISTRICT, DivisionLevel.SUBDISTRICT, DivisionLevel.COMMUNITY]


def _values(frame: pd.DataFrame, column: str) -> list:
    """A column as Python values with missing ones as None (absent columns too)."""
    if column not in frame:
        return [None] * len(frame)
    series = frame[column]
    return series.astype(object).where(series.notna(), None).tolist()


def _require_wgs84(frame: gpd.GeoDataFrame) -> None:
    if frame.crs is None or not frame.crs.equals("EPSG:4326"):
        raise DataError("Expected WGS84 (EPSG:4326) data, got %(crs)s.", crs=str(frame.crs))


def load_divisions(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Divisions with code, name, level, parent_code; districts open a plate series."""
    _require_wgs84(frame)
    geoms = to_multipolygons(frame.geometry)
    levels = frame["level"].astype(str)
    known = dict(session.execute(select(Division.code, Division.id)).all())
    for level in _LEVEL_ORDER:
        mask = (levels == level).to_numpy()
        rows = []
        for code, name, parent_code, geom in zip(_values(frame[mask], "code"), _values(frame[mask], "name"),
                                                 _values(frame[mask], "parent_code"), geoms[mask]):
            if parent_code is not None and str(parent_code) not in known:
                raise DataError("Division %(code)s names the parent division %(parent)s, which is not stored.",
                                code=code, parent=parent_code)
            rows.append({"code": str(code), "name": name, "level": str(level),
                         "parent_id": known.get(str(parent_code)) if parent_code is not None else None,
                         "geom": geom})
        if rows:
            insert_rows(session, Division, rows)
            known = dict(session.execute(select(Division.code, Division.id)).all())
        if level == DivisionLevel.DISTRICT:
            open_plate_series(session, [row["code"] for row in rows])
    return len(frame)


def open_plate_series(session: Session, prefixes: list[str]) -> None:
    """Give each district code a plate series of its own, if it has none yet."""
    existing = set(session.scalars(select(PlateSeries.prefix)))
    new = sorted(set(prefixes) - existing)
    if new:
        insert_rows(session, PlateSeries, [{"prefix": p, "next_serial": 0} for p in new])


def load_roads(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Roads with source_id, name, pinyin (derived when absent), division_code."""
    _require_wgs84(frame)
    rows = [
        {"source_id": str(source_id), "name": name, "pinyin": pinyin or road_pinyin(name),
         "division_code": division_code, "geom": geom}
        for source_id, name, pinyin, division_code, geom in zip(
            _values(frame, "source_id"), _values(frame, "name"), _values(frame, "pinyin"),
            _values(frame, "division_code"), to_multilinestrings(frame.geometry))
    ]
    insert_rows(session, Road, rows)
    return len(rows)


def load_buildings(session: Session, frame: gpd.GeoDataFrame, progress: Progress | None = None) -> int:
    """Buildings with source_id, road, number, division_code, name, floors; polygon or point geometry.

    The community and (when not given) the division come from where the building stands.
    """
    return load_building_chunks(session, (frame.iloc[start:start + BUILDING_CHUNK_ROWS]
                                          for start in range(0, len(frame), BUILDING_CHUNK_ROWS)), progress)


def load_building_chunks(session: Session, frames: Iterable[gpd.GeoDataFrame],
                         progress: Progress | None = None, placer: "BuildingPlacer | None" = None) -> int:
    """load_buildings for frames that come a chunk at a time, so that no more than one is held."""
    placer = placer or BuildingPlacer(session)
    stored = 0
    for frame in frames:
        now = datetime.now(UTC)
        rows = [{**row, "status": BuildingStatus.ACTIVE.value, "created_at": now, "updated_at": now}
                for row in placer.rows(frame)]
        insert_rows(session, Building, rows, progress)
        stored += len(rows)
    return stored


class BuildingPlacer:
    """Where buildings stand in the registry: the divisions and roads they are placed by, read once
    for any number of frames."""

    def __init__(self, session: Session):
        self._communities = session.execute(
            select(Division.id, Division.geom).where(Division.level == DivisionLevel.COMMUNITY)).all()
        self.community_names = dict(session.execute(
            select(Division.id, Division.name).where(Division.level == DivisionLevel.COMMUNITY)).all())
        self._districts = session.execute(
            select(Division.code, Division.geom).where(Division.level == DivisionLevel.DISTRICT)).all()
        self._roads_by_name: dict[str, list[tuple[int, object]]] = {}
        for road_id, name, geom in session.execute(select(Road.id, Road.name, Road.geom)):
            self._roads_by_name.setdefault(name, []).append((road_id, geom))

    def knows_road(self, name: str) -> bool:
        return name in self._roads_by_name

    def add_road(self, road_id: int, name: str, geom) -> None:
        """A road stored since the placer read them (created for an import's buildings)."""
        self._roads_by_name.setdefault(name, []).append((road_id, geom))

    def communities(self, points: np.ndarray) -> list[int | None]:
        """The id of the community each point stands in (None outside every one)."""
        if not self._communities:
            return [None] * len(points)
        index = containing_polygon(points, [geom for _, geom in self._communities])
        return [self._communities[i][0] if i >= 0 else None for i in index]

    def rows(self, frame: gpd.GeoDataFrame) -> list[dict]:
        """The stored columns of each building in the frame."""
        _require_wgs84(frame)
        footprints = to_multipolygons(frame.geometry)
        points = representative_points(frame.geometry.to_numpy())
        footprint_wkb, point_wkb = encode_geometries(footprints), encode_geometries(points)
        community_ids = self.communities(points)
        division_codes = _values(frame, "division_code")
        if any(code is None for code in division_codes):
            district_index = containing_polygon(points, [geom for _, geom in self._districts])
            for i, code in enumerate(division_codes):
                if code is None:
                    if district_index[i] < 0:
                        raise DataError("Building %(code)s lies outside every division.",
                                        code=frame["source_id"].iloc[i])
                    division_codes[i] = self._districts[district_index[i]][0]
        road_ids = self._road_ids(_values(frame, "road"), points)
        rows = []
        for i, (source_id, number, name, floors) in enumerate(zip(
                _values(frame, "source_id"), _values(frame, "number"), _values(frame, "name"),
                _values(frame, "floors"))):
            rows.append({
                "source_id": str(source_id),
                "road_id": road_ids[i],
                "number": None if number is None else str(number),
                "division_code": str(division_codes[i]),
                "community_id": community_ids[i],
                "name": name,
                "floors": None if floors is None else int(floors),
                "footprint": footprint_wkb[i],
                "point": point_wkb[i],
            })
        return rows

    def _road_ids(self, names: list, points: np.ndarray) -> list[int | None]:
        """Road id for each building: by name, the nearest road of that name when several share it."""
        ids = []
        for name, point in zip(names, points):
            candidates = self._roads_by_name.get(name, [])
            if len(candidates) <= 1:
                ids.append(candidates[0][0] if candidates else None)
            else:
                ids.append(min(candidates, key=lambda c: c[1].distance(point))[0])
        return ids


def relocate_buildings(session: Session) -> int:
    """After division boundaries change: each active building's community and district again,
    from where it stands. Returns how many changed."""
    buildings = session.execute(select(Building.id, Building.point, Building.community_id, Building.division_code)
                                .where(Building.status == BuildingStatus.ACTIVE)).all()
    if not buildings:
        return 0
    points = np.array([row.point for row in buildings], dtype=object)
    changes: dict[int, dict] = {}
    for level, column in ((DivisionLevel.COMMUNITY, "community_id"), (DivisionLevel.DISTRICT, "division_code")):
        divisions = session.execute(select(Division.id, Division.code, Division.geom)
                                    .where(Division.level == level)).all()
        if not divisions:
            continue
        index = containing_polygon(points, [row.geom for row in divisions])
        for row, i in zip(buildings, index.tolist()):
            if i < 0:
                continue  # outside every one now: keep what it had rather than guess
            value = divisions[i].id if column == "community_id" else divisions[i].code
            if getattr(row, column) != value:
                changes.setdefault(row.id, {"id": row.id, "community_id": row.community_id,
                                            "division_code": row.division_code})[column] = value
    if changes:
        session.execute(update(Building), list(changes.values()))  # one bulk update by primary key
    return len(changes)


def load_beats(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Police beats with source_id, name, station, and the officer with the duty phone."""
    _require_wgs84(frame)
    for source_id, name, station, officer, phone, geom in zip(
            _values(frame, "source_id"), _values(frame, "name"), _values(frame, "station"),
            _values(frame, "officer"), _values(frame, "phone"), to_multipolygons(frame.geometry)):
        beat = PoliceBeat(source_id=str(source_id), name=name, station=station, geom=geom)
        if officer:
            beat.officers.append(Officer(name=officer, phone=phone or ""))
        session.add(beat)
    session.flush()
    return len(frame)


def load_services(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Service points with source_id, name, category, phone, hours."""
    _require_wgs84(frame)
    rows = [
        {"source_id": str(source_id), "name": name, "category": category, "phone": phone, "hours": hours,
         "geom": geom}
        for source_id, name, category, phone, hours, geom in zip(
            _values(frame, "source_id"), _values(frame, "name"), _values(frame, "category"),
            _values(frame, "phone"), _values(frame, "hours"), representative_points(frame.geometry.to_numpy()))
    ]
    insert_rows(session, ServicePoint, rows)
    return len(rows)


def load_culture(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Culture notes with source_id, title, body and either a road name or a zone polygon."""
    _require_wgs84(frame)
    road_ids = dict(session.execute(select(Road.name, Road.id)).all())
    zones = to_multipolygons(frame.geometry)
    for source_id, title, body, road, zone_geom in zip(
            _values(frame, "source_id"), _values(frame, "title"), _values(frame, "body"),
            _values(frame, "road"), zones):
        note = CultureNote(source_id=str(source_id), title=title, body=body)
        if zone_geom is not None:
            zone = CultureZone(source_id=str(source_id), name=title, geom=zone_geom)
            session.add(zone)
            session.flush()
            note.zone_id = zone.id
        elif road in road_ids:
            note.road_id = road_ids[road]
        else:
            raise DataError("Culture note %(code)s names neither a zone polygon nor a stored road.", code=source_id)
        session.add(note)
    session.flush()
    return len(frame)


def load_assistance(session: Session, frame: gpd.GeoDataFrame) -> int:
    """Assistance offices with division_code, window_name, window_address, window_hours, window_phone,
    hotline, and the window's point (or none)."""
    _require_wgs84(frame)
    division_ids = dict(session.execute(select(Division.code, Division.id)).all())
    rows = []
    for code, name, address, hours, phone, hotline, point in zip(
            _values(frame, "division_code"), _values(frame, "window_name"), _values(frame, "window_address"),
            _values(frame, "window_hours"), _values(frame, "window_phone"), _values(frame, "hotline"),
            frame.geometry.to_numpy()):
        if code not in division_ids:
            raise DataError("The assistance office of division %(code)s: there is no such division.", code=code)
        rows.append({"division_id": division_ids[code], "window_name": name, "window_address": address,
                     "window_hours": hours, "window_phone": phone, "hotline": hotline,
                     "window_point": point if point is not None and not point.is_empty else None})
    insert_rows(session, AssistanceOffice, rows)
    return len(rows)
