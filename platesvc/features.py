"""The feature collections map clients read (OGC API - Features): what each holds, and pages of
its items by box and by property, through the spatial index of either backend.

Items are ordered by their id, so paging with offset is stable. A box first asks the index
for candidates, then keeps those whose geometry really meets the box.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import shapely
from sqlalchemy import LargeBinary, Select, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

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
from platesvc.spatial_store import (
    BBox,
    bbox_test_is_exact,
    box_params,
    in_bbox,
    indexed_bounds,
)

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

    @property
    def geometry(self):
        return getattr(self.model, self.geometry_column)


@dataclass
class Page:
    features: list[dict] = field(default_factory=list)
    matched: int = 0


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


def items(session: Session, collection: Collection, config: Mapping, bbox: BBox | None = None,
          filters: Mapping[str, str] | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """One page of a collection's features (GeoJSON dicts), and how many match in all.

    The page's keys are found first, from the key and the filters alone; only those few
    rows are then read whole (joining every matching row before paging costs more than all else).
    """
    query = _matching(session, collection, filters or {}, bbox)
    params = box_params(bbox) if bbox else {}
    if bbox is None or bbox_test_is_exact(session):
        total = func.count().over().label("total")
        found = session.execute(query.add_columns(total).order_by(collection.key).offset(offset).limit(limit),
                                params).all()
        wanted = [row[0] for row in found]
        matched = found[0].total if found else session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery()), params)
    else:
        keys = _keys_meeting(session, query, collection, bbox)
        matched = len(keys)
        wanted = keys[offset:offset + limit]
    if not wanted:
        return Page([], matched)
    whole = _matching(session, collection, {}, None).where(collection.key.in_(wanted))
    rows = session.execute(_with_properties(whole, collection).order_by(collection.key)).all()
    return Page([_feature(row, collection, config) for row in rows], matched)


def item(session: Session, collection: Collection, config: Mapping, feature_id: str) -> dict | None:
    """One feature by id, or None."""
    query = _matching(session, collection, {}, None)
    key = feature_id if collection.key.type.python_type is str else _integer(feature_id)
    if key is None:
        return None
    row = session.execute(_with_properties(query, collection).where(collection.key == key)).first()
    return _feature(row, collection, config) if row else None


def extent(session: Session, collection: Collection) -> BBox | None:
    """Bounds holding every feature of the collection (None if its table is empty)."""
    return indexed_bounds(session, collection.model, collection.geometry_column)


def _integer(text: str) -> int | None:
    """An id as the database can hold it, or None (no feature has it)."""
    return int(text) if text.isdigit() and int(text) < 2 ** 63 else None


def _matching(session: Session, collection: Collection, filters: Mapping[str, str], bbox: BBox | None) -> Select:
    query = collection.joins(select(collection.key)).where(*collection.conditions)
    for name, value in filters.items():
        query = query.where(cast(collection.properties[name], String) == value)
    if bbox is not None:
        query = query.where(in_bbox(session, collection.model, collection.geometry_column, exact=True))
    return query


def _with_properties(query: Select, collection: Collection) -> Select:
    return query.add_columns(collection.geometry, *(column.label(name) for name, column
                                                    in collection.properties.items()))


def _keys_meeting(session: Session, query: Select, collection: Collection, bbox: BBox) -> list:
    """The keys of the index's candidates whose geometry really meets the box, in order."""
    # The geometry as stored (WKB), decoded all at once: per row it would cost more than the rest.
    wkb = type_coerce(collection.geometry, LargeBinary)
    rows = session.execute(query.add_columns(wkb), box_params(bbox)).all()
    if not rows:
        return []
    geometries = shapely.from_wkb([bytes(row[1]) for row in rows])
    meets = shapely.intersects(geometries, shapely.box(*bbox))
    return sorted(row[0] for row, hit in zip(rows, meets, strict=True) if hit)


def _feature(row, collection: Collection, config: Mapping) -> dict:
    key, geometry, *values = row
    properties = dict(zip(collection.properties, values, strict=True))
    if collection.derived:
        properties.update(collection.derived(key, config))
    return {"type": "Feature", "id": key, "geometry": shapely.geometry.mapping(geometry), "properties": properties}
