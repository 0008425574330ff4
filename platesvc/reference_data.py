"""The reference data every plate page shows, held in memory by each worker.

Divisions, roads, police beats and officers, service points and culture notes are
few and shared by many buildings, so a scan reads only its own building's row and
takes the rest from a snapshot, read again when the `reference` counter moves
(generations.py).
"""

import threading
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from gis.nearest import PointIndex
from platesvc import generations
from platesvc.json_text import json_text
from platesvc.models import (
    CultureNote,
    Division,
    DivisionLevel,
    Officer,
    PoliceBeat,
    Road,
    ServiceCategory,
    ServicePoint,
)
from platesvc.navigation import locations, navigation_links


@dataclass(frozen=True)
class ReferenceSnapshot:
    generation: int
    district_names: dict[str, str]  # division code → name
    communities: dict[int, tuple[str, str | None]]  # community id → (name, subdistrict name)
    roads: dict[int, tuple[str, str]]  # road id → (name, pinyin)
    police: dict[int, dict]  # beat id → the page's police block
    services: dict[int, dict]  # service point id → its entry, less the distance
    services_json: dict[int, str]  # the same entries JSON-encoded, without their braces
    services_geojson: dict[int, str]  # each as a GeoJSON Feature, open at the end of its properties
    service_index: dict[str | None, PointIndex]  # by category, and None for every category
    road_notes: dict[str, list[dict]]  # by road name: a note is about every segment of the road
    zone_notes: dict[int, list[dict]]


def load_snapshot(connection: Connection) -> ReferenceSnapshot:
    """Read every reference table; the generation is read first, so the data is at least that new."""
    generation = connection.execute(generations.CURRENT).one().reference
    divisions = connection.execute(select(Division.id, Division.code, Division.name, Division.level,
                                          Division.parent_id)).all()
    names = {row.id: row.name for row in divisions}
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
    services, service_index = _service_entries(connection)
    return ReferenceSnapshot(
        generation=generation,
        district_names={row.code: row.name for row in divisions if row.level == DivisionLevel.DISTRICT},
        communities={row.id: (row.name, names.get(row.parent_id)) for row in divisions
                     if row.level == DivisionLevel.COMMUNITY},
        roads=roads,
        police=police,
        services=services,
        services_json={i: json_text(entry)[1:-1] for i, entry in services.items()},
        services_geojson={i: _open_feature(entry) for i, entry in services.items()},
        service_index=service_index,
        road_notes=dict(road_notes),
        zone_notes=dict(zone_notes),
    )


def _service_entries(connection: Connection) -> tuple[dict[int, dict], dict[str | None, PointIndex]]:
    """Each service point's entry, and the spatial index of them all and of each category."""
    rows = connection.execute(select(ServicePoint.id, ServicePoint.name, ServicePoint.category,
                                     ServicePoint.phone, ServicePoint.hours, ServicePoint.geom)).all()
    where = locations([row.geom.x for row in rows], [row.geom.y for row in rows])
    entries = {row.id: {"id": row.id, "name": row.name, "category": row.category, "phone": row.phone,
                        "hours": row.hours, "location": location, "navigation": navigation_links(location, row.name)}
               for row, location in zip(rows, where)}

    def index(chosen) -> PointIndex:  # from the stored coordinates, not the rounded ones shown
        return PointIndex([row.id for row in chosen], [row.geom.x for row in chosen], [row.geom.y for row in chosen])

    indexes = {None: index(rows)} | {category.value: index([row for row in rows if row.category == category])
                                     for category in ServiceCategory}
    return entries, indexes


def _open_feature(service: dict) -> str:
    """A service point as GeoJSON text lacking its last two braces, for a caller to add properties."""
    properties = {key: value for key, value in service.items() if key != "id"}
    feature = {"type": "Feature", "id": service["id"],
               "geometry": {"type": "Point", "coordinates": service["location"]["wgs84"]},
               "properties": properties}
    return json_text(feature)[:-2]


class ReferenceCache:
    """One worker's snapshot, reloaded when the database's generation moves past it."""

    def __init__(self):
        self._snapshot: ReferenceSnapshot | None = None
        self._lock = threading.Lock()

    def current(self, engine: Engine, max_age: float = 0.0) -> ReferenceSnapshot:
        """The snapshot at the database's generation, as read now or within max_age seconds (generations.py)."""
        return self.at(engine, generations.current(engine, max_age)["reference"])

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
