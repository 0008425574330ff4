"""The spatial questions the service asks, each answered through one backend's index: GiST on
PostGIS, the R*Tree that triggers keep beside each spatial table on SQLite (spatial_index.py).

`spatial_store(bind)` gives the store for an engine, connection or session. Queries are
SQLAlchemy statements the caller builds and the store narrows or completes; nothing
outside this module branches on the backend for a spatial question, and nothing here
reads a whole table: a box goes through the index, an extent comes from the index's
root (SQLite) or the planner's statistics (PostGIS).
"""

import json
import struct
from collections.abc import Mapping, Sequence

import numpy as np
import shapely
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    LargeBinary,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from gis.crs import CRS84, OFFERED, OutputCrs
from gis.geojson import geometry_texts
from gis.nearest import bbox_around
from gis.tiles import BUFFER, EXTENT, encode_layer
from platesvc.store.geometry import SRID
from platesvc.store.models import Building, BuildingStatus, Division, DivisionLevel
from platesvc.store.spatial_index import rtree_table

BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
STORED = OFFERED[CRS84]  # GeoJSON's own: longitude, latitude, 7 decimals (about a centimetre, RFC 7946 §11.2)


class SpatialStore:
    """What both backends answer, over statements the caller builds."""

    def within(self, query: Select, model, column_name: str, bbox, exact: bool = True) -> Select:
        """`query` narrowed to rows whose geometry meets the box (`exact=False`: whose bounds do).

        The box is four numbers, or four bound parameters for a statement prepared once.
        """
        raise NotImplementedError

    def within_each(self, query: Select, model, column_name: str, boxes: Sequence[BBox]) -> Select:
        """`query`'s rows whose geometry's bounds meet any of the boxes, once for each box they meet,
        with that box's position in `boxes` as the column `box`: many small boxes in one statement."""
        raise NotImplementedError

    def in_index_order(self, query: Select, model, column_name: str, bbox, key: ColumnElement) -> Select:
        """`query` (narrowed to the box by `within`) in an order the index gives without sorting every
        row it finds (ties by `key` where it sorts)."""
        raise NotImplementedError

    def nearest_first(self, query: Select, model, column_name: str, lon, lat) -> Select | None:
        """`query` with the geometries nearest (lon, lat) on the plane of degrees first, from the index;
        None where the index cannot give that order."""
        return None

    def extent(self, connection: Connection, model, column_name: str) -> BBox | None:
        """A box holding every geometry of the column, found without reading the table; None if empty."""
        raise NotImplementedError

    def relation(self, model, column_name: str, predicate: str, geometry: shapely.Geometry) -> ColumnElement:
        """The condition that a row's geometry stands in `predicate` (INTERSECTS, WITHIN, CONTAINS, DISJOINT,
        TOUCHES, CROSSES, OVERLAPS, EQUALS: CQL2's names, the row's geometry first) to `geometry` (CRS84),
        answered from the index wherever the predicate allows."""
        raise NotImplementedError

    def like(self, text: ColumnElement, pattern: str, case_sensitive: bool = True) -> ColumnElement:
        """SQL's LIKE (`%`, `_`, and `\\` to escape them), case-sensitive as the standard has it on both backends."""
        raise NotImplementedError

    def in_code_point_order(self, text: ColumnElement) -> ColumnElement:
        """`text` compared (<, BETWEEN…) by code point, as both backends then agree, whatever the locale."""
        return text

    def feature_columns(self, key: ColumnElement, geometry: ColumnElement, properties: Mapping[str, ColumnElement],
                        output: OutputCrs = STORED) -> list[ColumnElement]:
        """Columns that `features` turns into one GeoJSON Feature text per row, its geometry in `output`."""
        raise NotImplementedError

    def features(self, rows: Sequence, output: OutputCrs = STORED) -> list[str]:
        """Rows selected with `feature_columns` for `output`, each as GeoJSON Feature text."""
        raise NotImplementedError

    def coordinates(self, geometry: ColumnElement) -> list[ColumnElement]:
        """The last columns of a row, from which `lonlat` reads a point's longitude and latitude."""
        raise NotImplementedError

    def lonlat(self, rows: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes of rows that end in the `coordinates` columns."""
        raise NotImplementedError

    def tile_statement(self, query: Select, geometry: ColumnElement, layer: str) -> Select:
        """What `tile` makes the tile z/x/y (bound as z, x and y) from: the rows of `query` (an integer
        `id` and properties) with their geometry."""
        raise NotImplementedError

    def tile(self, rows: Sequence, names: Sequence[str], layer: str, z: int, x: int, y: int) -> bytes:
        """The vector tile from the rows of `tile_statement` (whose columns `names` names); b"" when empty."""
        raise NotImplementedError


class PostgisStore(SpatialStore):
    """PostGIS: GiST answers `&&` and ST_Intersects, and the database writes GeoJSON and tiles itself."""

    def within(self, query, model, column_name, bbox, exact=True):
        # ST_Intersects brings its own `&&` for the index, and the statistics' estimate of how
        # many rows that finds, which the planner needs to choose the index's order (below).
        geometry = getattr(model, column_name)
        envelope = func.ST_MakeEnvelope(*bbox, SRID)
        return query.where(func.ST_Intersects(geometry, envelope) if exact else geometry.op("&&")(envelope))

    def within_each(self, query, model, column_name, boxes):
        corners = [literal([float(box[i]) for box in boxes], ARRAY(Float)) for i in range(4)]
        listed = func.unnest(*corners).table_valued(*_BOX, with_ordinality="box").render_derived()
        envelope = func.ST_MakeEnvelope(*(listed.c[name] for name in _BOX), SRID)
        return query.add_columns((listed.c.box - 1).label("box")).join(
            listed, getattr(model, column_name).op("&&")(envelope))

    def in_index_order(self, query, model, column_name, bbox, key):
        # GiST gives geometries nearest a point first (KNN), a few at a time: a page of them
        # costs the same however many the box holds, where any other order sorts them all.
        # A second sort key would make it sort them all again: ties keep the index's order.
        min_x, min_y, max_x, max_y = bbox
        return self.nearest_first(query, model, column_name, (min_x + max_x) / 2, (min_y + max_y) / 2)

    def nearest_first(self, query, model, column_name, lon, lat):
        return query.order_by(getattr(model, column_name).op("<->")(
            func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)))

    def extent(self, connection, model, column_name):
        # The planner's statistics hold the extent. A table never analysed has none yet and
        # is read whole: only a new, small one, for autovacuum analyses a table that grows.
        table_name = model.__tablename__
        corners = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT {}::box3d AS e) AS extent"
        for box in (f"ST_EstimatedExtent('{table_name}', '{column_name}')",
                    f"(SELECT ST_Extent({column_name}) FROM {table_name})"):
            found = connection.execute(text(corners.format(box))).one()
            if found[0] is not None:
                return tuple(float(value) for value in found)
        return None

    def relation(self, model, column_name, predicate, geometry):
        other = func.ST_GeomFromWKB(literal(shapely.to_wkb(geometry), LargeBinary), SRID)
        return getattr(func, f"ST_{predicate.title()}")(getattr(model, column_name), other)  # each uses GiST

    def like(self, text, pattern, case_sensitive=True):
        return text.like(pattern, escape="\\") if case_sensitive else text.ilike(pattern, escape="\\")

    def in_code_point_order(self, text):
        return text.collate("C") if isinstance(text.type, String) else text

    def feature_columns(self, key, geometry, properties, output=STORED):
        pairs = [part for name, value in properties.items() for part in (literal(name), value)]
        if "POINT" not in getattr(geometry.type, "geometry_type", ""):
            geometry = func.ST_ForcePolygonCCW(geometry)  # RFC 7946's winding; lines pass through unchanged
        if not output.stored:
            geometry = func.ST_Transform(geometry, output.epsg)
            if output.northing_first:
                geometry = func.ST_FlipCoordinates(geometry)
        feature = func.concat('{"type":"Feature","id":', func.to_json(key), ',"geometry":',
                              func.ST_AsGeoJSON(geometry, output.decimals), ',"properties":',
                              func.json_build_object(*pairs), "}")
        return [feature.label("feature")]

    def features(self, rows, output=STORED):
        return [row[0] for row in rows]

    def coordinates(self, geometry):
        return [func.ST_X(geometry), func.ST_Y(geometry)]

    def lonlat(self, rows):
        return np.array([row[-2] for row in rows], dtype=float), np.array([row[-1] for row in rows], dtype=float)

    def tile_statement(self, query, geometry, layer):
        envelope = func.ST_TileEnvelope(*(bindparam(name, type_=Integer) for name in ("z", "x", "y")))
        on_grid = func.ST_AsMVTGeom(func.ST_Transform(geometry, 3857), envelope, EXTENT, BUFFER, True)
        rows = query.add_columns(on_grid.label("geom")).subquery("q")
        return (select(func.ST_AsMVT(literal_column("q"), layer, EXTENT, "geom", "id").label("tile"))
                .select_from(rows).where(text("q.geom IS NOT NULL")))

    def tile(self, rows, names, layer, z, x, y):
        return bytes(rows[0][0] or b"") if rows else b""


class SqliteStore(SpatialStore):
    """SQLite: the R*Tree answers boxes; GeoJSON and tiles are written here from the stored WKB."""

    def within(self, query, model, column_name, bbox, exact=True):
        index = _rtree(model, column_name)
        min_x, min_y, max_x, max_y = bbox
        query = query.join(index, index.c.id == model.id).where(
            index.c.max_x >= min_x, index.c.min_x <= max_x, index.c.max_y >= min_y, index.c.min_y <= max_y)
        if not exact:
            return query
        # The index holds bounds rounded outwards to 32-bit floats: a row whose bounds lie
        # inside the box meets it; only those across its edge are tested on their geometry.
        inside = and_(index.c.min_x >= min_x, index.c.max_x <= max_x, index.c.min_y >= min_y,
                      index.c.max_y <= max_y)
        return query.where(or_(inside, func.ST_IntersectsBox(getattr(model, column_name), *bbox) == 1))

    def within_each(self, query, model, column_name, boxes):
        # The boxes go in as one JSON array; each one's corners constrain the R*Tree's lookup.
        listed = func.json_each(literal(json.dumps([list(map(float, box)) for box in boxes]))).table_valued(
            "key", "value")
        min_x, min_y, max_x, max_y = (func.json_extract(listed.c.value, f"$[{i}]") for i in range(4))
        index = _rtree(model, column_name)
        # A left join keeps the boxes outermost (SQLite does not reorder one): each box then
        # asks the R*Tree once, where the other order would read the whole tree.
        meets = and_(index.c.max_x >= min_x, index.c.min_x <= max_x, index.c.max_y >= min_y, index.c.min_y <= max_y)
        return query.add_columns(listed.c.key.label("box")).select_from(
            listed.outerjoin(index, meets).join(model.__table__, model.id == index.c.id))

    def in_index_order(self, query, model, column_name, bbox, key):
        # The R*Tree gives no order of its own; an embedded database's boxes are small to sort.
        return query.order_by(key)

    def extent(self, connection, model, column_name):
        # The root node's cells bound everything beneath them (SQLite's R*Tree node format:
        # depth and cell count, then per cell a rowid and four big-endian 32-bit floats).
        node = connection.execute(
            text(f"SELECT data FROM {rtree_table(model.__tablename__, column_name)}_node WHERE nodeno = 1")).scalar()
        cells = struct.unpack_from(">H", node, 2)[0] if node else 0
        if not cells:
            return None
        bounds = np.array([struct.unpack_from(">q4f", node, 4 + 24 * i)[1:] for i in range(cells)])
        return (float(bounds[:, 0].min()), float(bounds[:, 2].min()), float(bounds[:, 1].max()),
                float(bounds[:, 3].max()))

    def relation(self, model, column_name, predicate, geometry):
        tested = func.ST_Relates(getattr(model, column_name), literal(shapely.to_wkb(geometry), LargeBinary),
                                 predicate) == 1
        if predicate == "DISJOINT":  # the one predicate the index cannot narrow
            return tested
        index = _rtree(model, column_name)
        min_x, min_y, max_x, max_y = geometry.bounds
        near = select(index.c.id).where(index.c.max_x >= min_x, index.c.min_x <= max_x, index.c.max_y >= min_y,
                                        index.c.min_y <= max_y)
        return and_(model.id.in_(near), tested)

    def like(self, text, pattern, case_sensitive=True):
        if not case_sensitive:  # SQLite's LIKE folds ASCII case, as ILIKE does
            return text.like(pattern, escape="\\")
        return text.op("GLOB", is_comparison=True)(glob_pattern(pattern))

    def feature_columns(self, key, geometry, properties, output=STORED):
        pairs = [part for name, value in properties.items() for part in (literal(name), value)]
        return [func.json_quote(key).label("id"), type_coerce(geometry, LargeBinary).label("geometry"),
                func.json_object(*pairs).label("properties")]

    def features(self, rows, output=STORED):
        geometries = geometry_texts([row[1] for row in rows], output.decimals,
                                    None if output.stored else output.from_wgs84)
        return [f'{{"type":"Feature","id":{row[0]},"geometry":{geometry},"properties":{row[2]}}}'
                for row, geometry in zip(rows, geometries, strict=True)]

    def coordinates(self, geometry):
        return [type_coerce(geometry, LargeBinary)]

    def lonlat(self, rows):
        points = shapely.from_wkb(np.array([bytes(row[-1]) for row in rows], dtype=object))
        return shapely.get_x(points), shapely.get_y(points)

    def tile_statement(self, query, geometry, layer):
        return query.add_columns(type_coerce(geometry, LargeBinary).label("geometry"))

    def tile(self, rows, names, layer, z, x, y):
        properties = [name for name in names if name not in ("id", "geometry")]
        records = [dict(zip(names, row)) for row in rows]
        return encode_layer(layer, z, x, y, [record["id"] for record in records],
                            shapely.from_wkb([bytes(record["geometry"]) for record in records]),
                            [{name: record[name] for name in properties} for record in records])


_STORES = {"postgresql": PostgisStore(), "sqlite": SqliteStore()}


_BOX = ("min_x", "min_y", "max_x", "max_y")


def glob_pattern(like: str) -> str:
    """A LIKE pattern (`%`, `_`, `\\` escaping) as the GLOB pattern that matches the same texts, case and all."""
    out, escaped = [], False
    for character in like:
        if escaped:
            out.append(f"[{character}]" if character in "*?[" else character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "%":
            out.append("*")
        elif character == "_":
            out.append("?")
        else:
            out.append(f"[{character}]" if character in "*?[" else character)
    return "".join(out)


def bound_box() -> tuple:
    """A box of four bound parameters, for a statement prepared once; `box_values` gives them values."""
    return tuple(bindparam(name, type_=Float) for name in _BOX)


def box_values(bbox: BBox) -> dict[str, float]:
    return dict(zip(_BOX, bbox))


def spatial_store(bind) -> SpatialStore:
    """The store for an engine, connection or session's backend."""
    dialect = (bind.get_bind() if hasattr(bind, "get_bind") else bind).dialect
    return _STORES[dialect.name]


def _rtree(model, column_name: str):
    return table(rtree_table(model.__tablename__, column_name),
                 column("id"), column("min_x"), column("max_x"), column("min_y"), column("max_y"))


def active_buildings_in_bbox(session, bbox: BBox) -> list[tuple[int, shapely.Point]]:
    """(id, point) of active buildings whose point falls in the box."""
    query = select(Building.id, Building.point).where(Building.status == BuildingStatus.ACTIVE)
    return [tuple(row) for row in session.execute(spatial_store(session).within(query, Building, "point", bbox))]


def active_buildings_near(session, points: np.ndarray, metres: float) -> list[tuple[int, int, str, shapely.Point]]:
    """(position in `points`, id, source_id, point) of active buildings whose point lies in the box
    around a point that holds everything within `metres` of it (bbox_around)."""
    store = spatial_store(session)
    query = select(Building.id, Building.source_id, Building.point).where(Building.status == BuildingStatus.ACTIVE)
    found = []
    for start in range(0, len(points), _BOXES_PER_READ):
        boxes = [bbox_around(point.x, point.y, metres) for point in points[start:start + _BOXES_PER_READ]]
        found.extend((start + row.box, row.id, row.source_id, row.point)
                     for row in session.execute(store.within_each(query, Building, "point", boxes)))
    return found


_BOXES_PER_READ = 5000


def active_buildings_covered_by(session, geometries) -> set[int]:
    """Ids of active buildings whose point lies in any of the geometries."""
    ids = set()
    for geometry in geometries:
        if geometry is None or geometry.is_empty:
            continue
        shapely.prepare(geometry)
        ids.update(building_id for building_id, point in active_buildings_in_bbox(session, geometry.bounds)
                   if geometry.covers(point))
    return ids


def district_containing(session, longitude: float, latitude: float) -> str | None:
    """The code of the district (county-level division) a point lies in, if any."""
    point = shapely.Point(longitude, latitude)
    query = select(Division.code, Division.geom).where(Division.level == DivisionLevel.DISTRICT)
    rows = session.execute(spatial_store(session).within(query, Division, "geom", point.bounds, exact=False)).all()
    return next((code for code, geom in rows if geom.covers(point)), None)
