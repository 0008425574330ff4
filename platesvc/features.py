"""The feature collections map clients read (OGC API - Features): what each holds, and pages of
its items by box and by property.

Each worker holds every collection it has been asked for in memory: its features already
encoded as GeoJSON, in key order (so paging with offset is stable), with an STRtree over
their geometries and the positions of each value of each filterable property. A page
is then a few array operations however many features the box holds, and nothing is
encoded twice. A collection is read again when a counter it depends on moves
(generations.py), so a committed change shows on the next request.
"""

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import LargeBinary, Select, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from platesvc import generations
from platesvc.json_text import json_text
from platesvc.models import (
    Building,
    BuildingStatus,
    CultureZone,
    Division,
    Plate,
    PlateStatus,
    PoliceBeat,
    Road,
    ServiceCategory,
    ServicePoint,
)
from platesvc.plate_ids import parse_plate_id, plate_url
from platesvc.spatial_store import BBox

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000

_DISTRICT, _COMMUNITY = aliased(Division), aliased(Division)
_PARENT = aliased(Division)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry_type: str
    model: type  # the mapped class holding the indexed geometry
    geometry_column: str
    key: object  # the column that is each feature's id
    properties: Mapping[str, object]  # property name → column
    filterable: tuple[str, ...]
    conditions: tuple = ()
    joins: Callable[[Select], Select] = lambda query: query
    derived: Callable[[object, Mapping], dict] | None = None  # more properties from the id and the config
    depends_on: tuple[str, ...] = ("reference",)  # the generation counters its features change with

    @property
    def geometry(self):
        return getattr(self.model, self.geometry_column)


@dataclass(frozen=True)
class Page:
    encoded: list[str]  # the page's features, each GeoJSON text
    matched: int  # how many match in all


def _plate_extras(plate_id: str, config: Mapping) -> dict:
    return {"display_id": parse_plate_id(plate_id).display, "url": plate_url(config["PUBLIC_URL"], plate_id)}


def _service_collection(category: ServiceCategory | None) -> Collection:
    suffix = f"-{category.value}" if category else ""
    return Collection(
        id=f"services{suffix}",
        title=f"Service points{f': {category.value}' if category else ''}",
        description=("Elderly-care and social-assistance service points" if category is None
                     else f"Service points of category {category.value}"),
        geometry_type="Point", model=ServicePoint, geometry_column="geom", key=ServicePoint.id,
        properties={"name": ServicePoint.name, "category": ServicePoint.category, "phone": ServicePoint.phone,
                    "hours": ServicePoint.hours, "source_id": ServicePoint.source_id},
        filterable=("category", "name"),
        conditions=(ServicePoint.category == category.value,) if category else (),
    )


COLLECTIONS: dict[str, Collection] = {collection.id: collection for collection in [
    Collection(
        id="plates", title="Door plates",
        description="Every plate in use, at its building, with its address",
        geometry_type="Point", model=Building, geometry_column="point", key=Plate.id,
        properties={"status": Plate.status, "road": Road.name, "road_pinyin": Road.pinyin,
                    "number": Building.number, "building_name": Building.name,
                    "division_code": Building.division_code, "district": _DISTRICT.name,
                    "community": _COMMUNITY.name},
        filterable=("status", "road", "number", "division_code", "district", "community"),
        conditions=(Building.status == BuildingStatus.ACTIVE, Plate.status != PlateStatus.RETIRED),
        joins=lambda query: (query.select_from(Plate).join(Building, Building.id == Plate.building_id)
                             .outerjoin(Road, Road.id == Building.road_id)
                             .outerjoin(_DISTRICT, _DISTRICT.code == Building.division_code)
                             .outerjoin(_COMMUNITY, _COMMUNITY.id == Building.community_id)),
        derived=_plate_extras,
        depends_on=("reference", "plates"),
    ),
    _service_collection(None),
    *(_service_collection(category) for category in ServiceCategory),
    Collection(
        id="police-beats", title="Community police beats",
        description="The beat of each community police officer (一区一警)",
        geometry_type="MultiPolygon", model=PoliceBeat, geometry_column="geom", key=PoliceBeat.id,
        properties={"name": PoliceBeat.name, "station": PoliceBeat.station, "source_id": PoliceBeat.source_id},
        filterable=("name", "station"),
    ),
    Collection(
        id="culture-zones", title="Culture zones",
        description="Blocks and areas with local-culture and place-name notes",
        geometry_type="MultiPolygon", model=CultureZone, geometry_column="geom", key=CultureZone.id,
        properties={"name": CultureZone.name, "source_id": CultureZone.source_id},
        filterable=("name",),
    ),
    Collection(
        id="roads", title="Roads", description="Named roads, with their Hanyu Pinyin",
        geometry_type="MultiLineString", model=Road, geometry_column="geom", key=Road.id,
        properties={"name": Road.name, "pinyin": Road.pinyin, "division_code": Road.division_code,
                    "source_id": Road.source_id},
        filterable=("name", "division_code"),
    ),
    Collection(
        id="divisions", title="Administrative divisions",
        description="Districts and counties, subdistricts and towns, communities and villages",
        geometry_type="MultiPolygon", model=Division, geometry_column="geom", key=Division.id,
        properties={"code": Division.code, "name": Division.name, "level": Division.level,
                    "parent_code": _PARENT.code},
        filterable=("code", "name", "level", "parent_code"),
        joins=lambda query: query.select_from(Division).outerjoin(_PARENT, _PARENT.id == Division.parent_id),
    ),
]}


@dataclass(frozen=True)
class CollectionIndex:
    """One collection as a worker holds it."""

    collection: Collection
    stamp: tuple[int, ...]  # its counters when read
    encoded: list[str]  # each feature as GeoJSON text, in key order
    tree: shapely.STRtree  # over the geometries, in key order
    positions: dict  # feature id → position
    having: dict[str, dict[str, np.ndarray]]  # filterable property → its value as text → positions, ascending
    bounds: BBox | None


class FeatureCache:
    """A worker's CollectionIndex of each collection, read again when its counters move."""

    def __init__(self, config: Mapping):
        self._config = config
        self._indexes: dict[str, CollectionIndex] = {}
        self._lock = threading.Lock()

    def index(self, engine: Engine, collection: Collection) -> CollectionIndex:
        counters = generations.current(engine, self._config["MAP_DATA_MAX_AGE"])
        stamp = tuple(counters[name] for name in collection.depends_on)
        held = self._indexes.get(collection.id)
        if held is not None and held.stamp == stamp:
            return held
        with self._lock:
            held = self._indexes.get(collection.id)
            if held is None or held.stamp != stamp:
                held = self._indexes[collection.id] = _load(engine, collection, self._config)
            return held


def items(index: CollectionIndex, bbox: BBox | None = None, filters: Mapping[str, str] | None = None,
          limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """One page of features meeting the box and equal to every filter, and how many match in all."""
    positions: Sequence[int] = range(len(index.encoded))
    if bbox is not None:
        # A point's envelope is the point: the tree's own test is exact for them.
        exact_test = None if index.collection.geometry_type == "Point" else "intersects"
        positions = np.sort(index.tree.query(shapely.box(*bbox), predicate=exact_test))
    for name, value in (filters or {}).items():
        having = index.having[name].get(value, _NOWHERE)
        positions = having if isinstance(positions, range) else np.intersect1d(positions, having, assume_unique=True)
    return Page([index.encoded[i] for i in positions[offset:offset + limit]], len(positions))


def item(index: CollectionIndex, feature_id: str) -> str | None:
    """One feature's GeoJSON text by its id, or None."""
    key = feature_id if index.collection.key.type.python_type is str else _integer(feature_id)
    position = index.positions.get(key)
    return None if position is None else index.encoded[position]


_NOWHERE = np.array([], dtype=np.intp)


def _integer(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _load(engine: Engine, collection: Collection, config: Mapping) -> CollectionIndex:
    # One consistent view, counters first, so the index is at least as new as its stamp.
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    mark = generations.read_starts()
    with engine.connect().execution_options(**options) as connection, connection.begin():
        counters = connection.execute(generations.CURRENT).one()._mapping
        rows = connection.execute(_every_feature(collection)).all()
    # Newer than the counters the caller may have had from within MAP_DATA_MAX_AGE: give
    # these from now on, or every request would load the collection again until those age.
    generations.note(engine, counters, mark)
    # WKB from SQLite, hex EWKB text from PostGIS: shapely reads either.
    geometries = shapely.from_wkb([row[1] for row in rows]) if rows else np.array([], dtype=object)
    names = list(collection.properties)
    encoded, having = [], {name: defaultdict(list) for name in collection.filterable}
    for position, (row, geometry) in enumerate(zip(rows, shapely.to_geojson(geometries), strict=True)):
        properties = dict(zip(names, row[2:], strict=True))
        if collection.derived:
            properties.update(collection.derived(row[0], config))
        encoded.append(f'{{"type":"Feature","id":{json_text(row[0])},"geometry":{geometry},'
                       f'"properties":{json_text(properties)}}}')
        for name in collection.filterable:
            if properties[name] is not None:
                having[name][str(properties[name])].append(position)
    bounds = tuple(float(value) for value in shapely.total_bounds(geometries)) if rows else None
    return CollectionIndex(
        collection=collection,
        stamp=tuple(counters[name] for name in collection.depends_on),
        encoded=encoded,
        tree=shapely.STRtree(geometries),
        positions={row[0]: position for position, row in enumerate(rows)},
        having={name: {value: np.array(found, dtype=np.intp) for value, found in values.items()}
                for name, values in having.items()},
        bounds=bounds,
    )


def _every_feature(collection: Collection) -> Select:
    """Key, geometry as stored (WKB, decoded all at once) and properties of every feature, in key order."""
    query = collection.joins(select(collection.key)).where(*collection.conditions)
    return query.add_columns(type_coerce(collection.geometry, LargeBinary),
                             *(column.label(name) for name, column in collection.properties.items())
                             ).order_by(collection.key)
