"""The feature collections map clients read (OGC API - Features): what each holds, and pages of
its items by box and by property, asked of the store on every request.

A page is one prepared query: its keys (the box through the spatial index, in the index's
order; or in key order after a key or from an offset), then those features as GeoJSON
text (written by PostGIS itself, or here from SQLite's WKB); and, unless the page holds
the last match, a count that stops where it would cost more than the page. Nothing is
held between requests, so a committed change shows on the next one, in every worker and
on every server.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial

from pygeofilter import ast
from sqlalchemy import BigInteger, ColumnElement, Integer, Select, bindparam, func, literal, select, union_all
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from gis.crs import OutputCrs
from platesvc.maps.filters import condition as cql_condition
from platesvc.registry.plate_ids import plate_url
from platesvc.store.models import (
    Building,
    BuildingStatus,
    CultureNote,
    CultureZone,
    Division,
    Officer,
    Plate,
    PlateStatus,
    PoliceBeat,
    Road,
    ServiceCategory,
    ServicePoint,
)
from platesvc.store.prepared import PreparedRead
from platesvc.store.spatial import STORED, BBox, bound_box, box_values, spatial_store

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
# numberMatched is exact up to the page's limit or this many, whichever is more; past that,
# counting would cost more than the page itself (every match read, however many the box
# holds), and the answer leaves it out, as OGC API - Features allows.
MATCH_COUNT_LIMIT = 100

@dataclass(frozen=True, eq=False)  # hashed by identity: each is declared once
class Collection:
    id: str
    title: str
    description: str
    geometry_type: str
    model: type  # the mapped class holding the indexed geometry
    geometry_column: str
    key: ColumnElement  # the column that is each feature's id, and the order of its items
    properties: Mapping[str, ColumnElement]  # property name → column
    filterable: tuple[str, ...]
    conditions: tuple = ()
    joins: Callable[[Select], Select] = lambda query: query
    derived: Callable[[Mapping], Mapping[str, ColumnElement]] | None = None  # more properties, from the config
    # property name → the condition that it equals a value, where the index answers that better
    # than the property's own expression does
    equals: Mapping[str, Callable[[ColumnElement], ColumnElement]] = field(default_factory=dict)

    @property
    def geometry(self):
        return getattr(self.model, self.geometry_column)

    def properties_for(self, config: Mapping) -> dict[str, ColumnElement]:
        return {**self.properties, **(self.derived(config) if self.derived else {})}

    def matches(self, properties: Mapping[str, ColumnElement], name: str, value) -> ColumnElement:
        """The condition that the property `name` (of `properties`) equals `value`."""
        condition = self.equals.get(name)
        return condition(value) if condition else properties[name] == value

    def parse_key(self, text: str):
        """A feature id as the key column holds it, or None when no feature could have it."""
        if self.key.type.python_type is str:
            return text
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            return None
        largest = 2 ** 63 - 1 if isinstance(self.key.type, BigInteger) else 2 ** 31 - 1
        return int(text) if int(text) <= largest else None


@dataclass(frozen=True)
class Page:
    encoded: list[str]  # the page's features, each GeoJSON text
    matched: int | None  # how many match in all; None where counting would cost more than the page
    last_key: object  # the key of the page's last feature: where the next page starts, in key order
    more: bool  # whether a next page has features


def _plate_extras(config: Mapping) -> dict[str, ColumnElement]:
    # The same texts parse_plate_id(...).display and plate_url give, written by the database.
    display = (func.substr(Plate.id, 1, 6) + "-" + func.substr(Plate.id, 7, 5) + "-" + func.substr(Plate.id, 12, 1))
    return {"display_id": display, "url": literal(plate_url(config["PUBLIC_URL"], "")) + Plate.id}


_PARENT = aliased(Division)


def _looked_up(column: ColumnElement, key: ColumnElement, value: ColumnElement) -> ColumnElement:
    """`column` of the row whose `key` is `value`, one index lookup per feature. Unlike a join it
    leaves nothing for the planner to choose by the box's size, so one cached plan serves every box
    (a page of a large city's plates would otherwise be planned afresh each time, at half its cost)."""
    return select(column).where(key == value).scalar_subquery()


def _first(column: ColumnElement, parent: ColumnElement, key: ColumnElement, order: ColumnElement) -> ColumnElement:
    """`column` of the first row (by `order`) whose `parent` is `key`: a beat's officer, a zone's note."""
    return select(column).where(parent == key).order_by(order).limit(1).scalar_subquery()


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
        properties={"status": Plate.status, "road": _looked_up(Road.name, Road.id, Building.road_id),
                    "road_pinyin": _looked_up(Road.pinyin, Road.id, Building.road_id),
                    "number": Building.number, "building_name": Building.name,
                    "division_code": Building.division_code,
                    "district": _looked_up(Division.name, Division.code, Building.division_code),
                    "community": _looked_up(Division.name, Division.id, Building.community_id)},
        filterable=("status", "road", "number", "division_code", "district", "community"),
        conditions=(Building.status == BuildingStatus.ACTIVE, Plate.status != PlateStatus.RETIRED),
        joins=lambda query: query.select_from(Plate).join(Building, Building.id == Plate.building_id),
        derived=_plate_extras,
        equals={  # through the buildings' indexes on road, district and community
            "road": lambda value: Building.road_id.in_(select(Road.id).where(Road.name == value)),
            "district": lambda value: Building.division_code.in_(select(Division.code).where(Division.name == value)),
            "community": lambda value: Building.community_id.in_(select(Division.id).where(Division.name == value)),
        },
    ),
    _service_collection(None),
    *(_service_collection(category) for category in ServiceCategory),
    Collection(
        id="police-beats", title="Community police beats",
        description="The beat of each community police officer (一区一警)",
        geometry_type="MultiPolygon", model=PoliceBeat, geometry_column="geom", key=PoliceBeat.id,
        properties={"name": PoliceBeat.name, "station": PoliceBeat.station, "source_id": PoliceBeat.source_id,
                    "officer": _first(Officer.name, Officer.beat_id, PoliceBeat.id, Officer.id),
                    "phone": _first(Officer.phone, Officer.beat_id, PoliceBeat.id, Officer.id)},
        filterable=("name", "station"),
    ),
    Collection(
        id="culture-zones", title="Culture zones",
        description="Blocks and areas with local-culture and place-name notes",
        geometry_type="MultiPolygon", model=CultureZone, geometry_column="geom", key=CultureZone.id,
        properties={"name": CultureZone.name, "source_id": CultureZone.source_id,
                    "body": _first(CultureNote.body, CultureNote.zone_id, CultureZone.id, CultureNote.id)},
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


def items(engine: Engine, collection: Collection, config: Mapping, bbox: BBox | None = None,
          filters: Mapping[str, str] | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0,
          after=None, output: OutputCrs = STORED, cql: ast.Node | None = None,
          sortby: tuple[tuple[str, bool], ...] = (), selected: tuple[str, ...] | None = None) -> Page:
    """One page of features meeting the box and equal to every filter, and how many match in all.

    With a box, features come in the order the store's index finds them in it (on PostGIS,
    nearest the box's middle first), from `offset`: a page costs the same however many
    features the box holds. A box across the antimeridian (west above east) is its two halves,
    in key order. Without one, in key order, after the key `after` or from `offset`. The box is
    CRS84; the features are written in `output`. `cql`, a CQL2 filter's tree, narrows them further
    (its statements are built for this request alone). `sortby` ((property, descending), ...)
    orders them instead, then by key; `selected` names the properties written (None: all).
    """
    filters = filters or {}
    store = spatial_store(engine)
    shape = (store, collection, config["PUBLIC_URL"], tuple(filters), _box_kind(bbox))
    keyset = after is not None and bbox is None and not sortby
    cap = max(limit, MATCH_COUNT_LIMIT)
    params = {"limit": limit + 1, "offset": 0 if keyset else offset, "after": after, "cap": cap + 1,
              **{f"filter_{i}": value for i, value in enumerate(filters.values())},
              **(box_values(bbox) if bbox is not None else {})}
    page, count = _page, _count
    if cql is not None:  # a condition of its own: not a shape worth keeping
        where = cql_condition(cql, collection.properties_for(config), store, collection.model,
                              collection.geometry_column)
        page = partial(_page.__wrapped__, where=where)
        count = partial(_count.__wrapped__, where=where)
    rows = page(*shape, keyset, output, sortby, selected).all(engine, **params)
    more = len(rows) > limit  # one more than asked for: a next page has something
    rows = rows[:limit]
    if not more and not keyset and (rows or not offset):
        matched = offset + len(rows)  # this page holds the last match: nothing to count
    elif more and not keyset and offset + limit >= cap:
        matched = None  # more than the cap, as this page shows: not worth counting
    else:
        counted = count(*shape).all(engine, **params)[0][0]
        matched = counted if counted <= cap else None
    return Page(store.features(rows, output), matched, rows[-1][-1] if rows else None, more)


def item(engine: Engine, collection: Collection, config: Mapping, feature_id: str,
         output: OutputCrs = STORED, selected: tuple[str, ...] | None = None) -> str | None:
    """One feature's GeoJSON text by its id (its geometry in `output`, the properties `selected`), or None."""
    key = collection.parse_key(feature_id)
    if key is None:
        return None
    store = spatial_store(engine)
    rows = _item(store, collection, config["PUBLIC_URL"], output, selected).all(engine, key=key)
    return store.features(rows, output)[0] if rows else None


def item_in(session: Session, collection: Collection, config: Mapping, key) -> str | None:
    """One feature's GeoJSON text (CRS84, every property) read in the session's transaction: what a write
    checks its precondition against, after locking the row."""
    store = spatial_store(session)
    rows = session.execute(_item(store, collection, config["PUBLIC_URL"], STORED, None).statement,
                           {"key": key}).all()
    return store.features(rows)[0] if rows else None


def extent(engine: Engine, collection: Collection) -> BBox | None:
    """A box holding every feature of the collection (perhaps a little more), from the store's index."""
    with engine.connect() as connection:
        return spatial_store(engine).extent(connection, collection.model, collection.geometry_column)


# The statements of each shape of question are built and compiled once (prepared.py): building a
# query costs more than the database takes to answer it.
_SHAPES = 512


BOX, ACROSS = "box", "across the antimeridian"


def _box_kind(bbox: BBox | None) -> str | None:
    if bbox is None:
        return None
    return ACROSS if bbox[0] > bbox[2] else BOX


def _matching(store, collection: Collection, public_url: str, filters: tuple[str, ...],
              bbox: str | None, where: ColumnElement | None = None) -> Select:
    """The keys of the features meeting the box (a BOX or ACROSS, bound as min_x…), the filters
    (bound as filter_0…) and `where`."""
    query = collection.joins(select(collection.key.label("key"))).where(*collection.conditions)
    if where is not None:
        query = query.where(where)
    if bbox == BOX:
        query = store.within(query, collection.model, collection.geometry_column, bound_box())
    elif bbox == ACROSS:  # the box east of the antimeridian and the box west of it, each from the index
        min_x, min_y, max_x, max_y = bound_box()
        halves = [store.within(collection.joins(select(collection.key)), collection.model, collection.geometry_column,
                               half)
                  for half in ((min_x, min_y, 180.0, max_y), (-180.0, min_y, max_x, max_y))]
        query = query.where(collection.key.in_(union_all(*halves)))
    properties = collection.properties_for({"PUBLIC_URL": public_url})
    return query.where(*(collection.matches(properties, name, bindparam(f"filter_{i}"))
                         for i, name in enumerate(filters)))


@lru_cache(maxsize=_SHAPES)
def _page(store, collection: Collection, public_url: str, filters: tuple[str, ...], bbox: str | None,
          keyset: bool, output: OutputCrs, sortby: tuple[tuple[str, bool], ...] = (),
          selected: tuple[str, ...] | None = None, where: ColumnElement | None = None) -> PreparedRead:
    """Feature columns and key of a page's features, in order: `limit` of them from `offset`, or after
    the key `after` (`keyset`, without a box)."""
    matching = _matching(store, collection, public_url, filters, bbox, where)
    properties = collection.properties_for({"PUBLIC_URL": public_url})
    if sortby:
        # Nulls last either way, where each backend would put them at its own end.
        ordered = matching.order_by(*((store.in_code_point_order(properties[name]).desc() if descending
                                       else store.in_code_point_order(properties[name])).nulls_last()
                                      for name, descending in sortby), collection.key)
    elif bbox == BOX:
        ordered = store.in_index_order(matching, collection.model, collection.geometry_column, bound_box(),
                                       collection.key)
    else:
        ordered = matching.order_by(collection.key)
    if keyset:
        ordered = ordered.where(collection.key > bindparam("after", type_=collection.key.type))
    else:
        ordered = ordered.offset(bindparam("offset", type_=Integer))
    page = ordered.limit(bindparam("limit", type_=Integer))
    columns = store.feature_columns(collection.key, collection.geometry, _selected(properties, selected), output)
    # The page's own rows make its features: the order and limit apply before they are written.
    return PreparedRead(page.with_only_columns(*columns, collection.key.label("key")), one_plan=True)


@lru_cache(maxsize=_SHAPES)
def _count(store, collection: Collection, public_url: str, filters: tuple[str, ...],
           bbox: str | None, where: ColumnElement | None = None) -> PreparedRead:
    """How many features match, counting no further than `cap`."""
    matching = _matching(store, collection, public_url, filters, bbox, where).limit(bindparam("cap", type_=Integer))
    return PreparedRead(select(func.count()).select_from(matching.subquery()), one_plan=True)


@lru_cache(maxsize=_SHAPES)
def _item(store, collection: Collection, public_url: str, output: OutputCrs,
          selected: tuple[str, ...] | None) -> PreparedRead:
    columns = store.feature_columns(collection.key, collection.geometry, _selected(collection.properties_for(
        {"PUBLIC_URL": public_url}), selected), output)
    return PreparedRead(collection.joins(select(*columns)).where(
        collection.key == bindparam("key", type_=collection.key.type), *collection.conditions))


def _selected(properties: Mapping[str, ColumnElement], selected: tuple[str, ...] | None) -> dict:
    return dict(properties) if selected is None else {name: properties[name] for name in selected}
