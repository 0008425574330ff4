"""The reference data every plate page shows, held in memory by each worker.

Divisions, roads, police beats and officers, service points and culture notes are
few (thousands, not millions) and shared by many buildings, so a scan reads only its
own building's row and takes the rest from a snapshot, read again when the `reference`
counter its row carries has moved (generations.py). The snapshot keeps each service
point as stored; what a page or answer shows of it (its place in three datums, a link
per map app, the Feature) is made when first asked for and kept in a bounded cache keyed
by the stored row, so a changed row is a new entry and nothing shown is ever stale.
"""

import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from gis.navigation import app_urls, location
from platesvc.store import generations
from platesvc.store.models import (
    AssistanceOffice,
    CultureNote,
    Division,
    DivisionLevel,
    Officer,
    PoliceBeat,
    Road,
    ServicePoint,
)

SERVICE_ENTRIES_KEPT = 2048  # per worker: some 4 KiB each, the three forms together


@dataclass(frozen=True)
class ServiceRow:
    """A service point as stored."""

    id: int
    name: str
    category: str
    phone: str | None
    hours: str | None
    lon: float
    lat: float

    @property
    def shown(self) -> "ShownService":
        return _shown(self)


class ShownService:
    """What pages and answers show of one service point: an entry, and that entry as a GeoJSON Feature."""

    def __init__(self, row: ServiceRow):
        where = location(row.lon, row.lat)
        self.entry = {"id": row.id, "name": row.name, "category": row.category, "phone": row.phone,
                      "hours": row.hours, "location": where, "navigation": app_urls(where, row.name)}

    @cached_property
    def feature(self) -> dict:
        """The entry as a GeoJSON Feature."""
        properties = {key: value for key, value in self.entry.items() if key != "id"}
        return {"type": "Feature", "id": self.entry["id"],
                "geometry": {"type": "Point", "coordinates": self.entry["location"]["wgs84"]},
                "properties": properties}


@lru_cache(maxsize=SERVICE_ENTRIES_KEPT)
def _shown(row: ServiceRow) -> ShownService:
    return ShownService(row)


SERVICE_COLUMNS = (ServicePoint.id, ServicePoint.name, ServicePoint.category, ServicePoint.phone,
                   ServicePoint.hours)


def service_row(row, lon: float, lat: float) -> ServiceRow:
    """A ServiceRow from a row of SERVICE_COLUMNS and the point's coordinates."""
    return ServiceRow(row[0], row[1], row[2], row[3], row[4], float(lon), float(lat))


@dataclass(frozen=True)
class AssistanceRow:
    """A division's social-assistance window and hotline, as stored."""

    window_name: str | None
    window_address: str | None
    window_hours: str | None
    window_phone: str | None
    window_lon: float | None
    window_lat: float | None
    hotline: str | None

    @property
    def window(self) -> dict | None:
        """What pages and answers show of the window, None without one; made once per stored row."""
        return _window(self) if self.window_name else None


@lru_cache(maxsize=SERVICE_ENTRIES_KEPT)
def _window(row: AssistanceRow) -> dict:
    where = location(row.window_lon, row.window_lat) if row.window_lon is not None else None
    return {"name": row.window_name, "address": row.window_address, "hours": row.window_hours,
            "phone": row.window_phone, "location": where,
            "navigation": app_urls(where, row.window_name) if where else None}


@dataclass(frozen=True)
class ReferenceSnapshot:
    generation: int
    district_names: dict[str, str]  # division code → name
    communities: dict[int, tuple[str, str | None, str | None]]  # community id → (name, subdistrict name, code)
    roads: dict[int, tuple[str, str]]  # road id → (name, pinyin)
    police: dict[int, dict]  # beat id → the page's police block
    services: dict[int, ServiceRow]
    road_notes: dict[str, list[dict]]  # by road name: a note is about every segment of the road
    zone_notes: dict[int, list[dict]]
    assistance: dict[str, AssistanceRow]  # division code → its window and hotline


def load_snapshot(connection: Connection) -> ReferenceSnapshot:
    """Read every reference table; the generation is read first, so the data is at least that new."""
    generation = connection.execute(generations.CURRENT).one().reference
    divisions = connection.execute(select(Division.id, Division.code, Division.name, Division.level,
                                          Division.parent_id)).all()
    names = {row.id: row.name for row in divisions}
    codes = {row.id: row.code for row in divisions}
    police = {}
    for beat in connection.execute(select(PoliceBeat.id, PoliceBeat.name, PoliceBeat.station)):
        police[beat.id] = {"beat": beat.name, "station": beat.station, "officer": None, "phone": None,
                           "officers": []}
    for officer in connection.execute(select(Officer.beat_id, Officer.name, Officer.phone).order_by(Officer.id)):
        block = police[officer.beat_id]
        block["officers"].append({"name": officer.name, "phone": officer.phone})
        if block["officer"] is None:
            block["officer"], block["phone"] = officer.name, officer.phone
    roads = {row.id: (row.name, row.pinyin) for row in connection.execute(select(Road.id, Road.name, Road.pinyin))}
    road_notes, zone_notes = defaultdict(list), defaultdict(list)
    for note in connection.execute(select(CultureNote.road_id, CultureNote.zone_id, CultureNote.title,
                                          CultureNote.body).order_by(CultureNote.id)):
        entry = {"title": note.title, "body": note.body}
        if note.road_id is not None:
            road_notes[roads[note.road_id][0]].append(entry)
        else:
            zone_notes[note.zone_id].append(entry)
    services = {row.id: service_row(row, row.geom.x, row.geom.y)
                for row in connection.execute(select(*SERVICE_COLUMNS, ServicePoint.geom))}
    assistance = {}
    for office in connection.execute(select(AssistanceOffice)):
        point = office.window_point
        assistance[codes[office.division_id]] = AssistanceRow(
            office.window_name, office.window_address, office.window_hours, office.window_phone,
            point.x if point is not None else None, point.y if point is not None else None, office.hotline)
    return ReferenceSnapshot(
        generation=generation,
        district_names={row.code: row.name for row in divisions if row.level == DivisionLevel.DISTRICT},
        communities={row.id: (row.name, names.get(row.parent_id), codes.get(row.parent_id)) for row in divisions
                     if row.level == DivisionLevel.COMMUNITY},
        roads=roads,
        police=police,
        services=services,
        road_notes=dict(road_notes),
        zone_notes=dict(zone_notes),
        assistance=assistance,
    )


class ReferenceCache:
    """One worker's snapshot, reloaded when the database's generation moves past it."""

    def __init__(self):
        self._snapshot: ReferenceSnapshot | None = None
        self._lock = threading.Lock()

    def current(self, engine: Engine) -> ReferenceSnapshot:
        """The snapshot at the database's generation, read now."""
        return self.at(engine, generations.current(engine))

    def at(self, engine: Engine, generation: int) -> ReferenceSnapshot:
        """The snapshot at `generation` or later, read again only when it is older."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation >= generation:
            return snapshot
        with self._lock:
            if self._snapshot is None or self._snapshot.generation < generation:
                self._snapshot = self._load(engine)
            return self._snapshot

    def reload(self, engine: Engine) -> ReferenceSnapshot:
        """Read the snapshot again whatever its generation (a database restored or rebuilt under us)."""
        with self._lock:
            self._snapshot = self._load(engine)
            return self._snapshot

    @staticmethod
    def _load(engine: Engine) -> ReferenceSnapshot:
        # One consistent view across the reads: PostgreSQL's default would let each SELECT
        # see a different commit (a beat without its new officer). SQLite's BEGIN gives one.
        options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
        with engine.connect().execution_options(**options) as connection, connection.begin():
            return load_snapshot(connection)
