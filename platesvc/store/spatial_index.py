"""Spatial indexes: GiST on PostGIS, an R*Tree kept in step by triggers on SQLite.

The SQLite triggers read bounds with ST_MinX/ST_MaxX/ST_MinY/ST_MaxY, which
database.py registers on every SQLite connection the service opens. A migration
that rebuilds an indexed table in batch mode drops its triggers and must call
create_spatial_index again.
"""

from functools import lru_cache

import shapely


def rtree_table(table: str, column: str) -> str:
    return f"rtree_{table}_{column}"


def create_spatial_index(dialect: str, table: str, column: str) -> list[str]:
    """The statements that index `table.column` and fill the index from existing rows."""
    if dialect == "postgresql":
        return [f"CREATE INDEX ix_{table}_{column}_gist ON {table} USING gist ({column})"]
    rtree = rtree_table(table, column)
    bounds = f"ST_MinX(new.{column}), ST_MaxX(new.{column}), ST_MinY(new.{column}), ST_MaxY(new.{column})"
    return [
        f"CREATE VIRTUAL TABLE {rtree} USING rtree(id, min_x, max_x, min_y, max_y)",
        (f"CREATE TRIGGER {rtree}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {rtree} VALUES (new.id, {bounds}); END"),
        (f"CREATE TRIGGER {rtree}_update AFTER UPDATE OF id, {column} ON {table} BEGIN "
        f"DELETE FROM {rtree} WHERE id = old.id; INSERT INTO {rtree} VALUES (new.id, {bounds}); END"),
        (f"CREATE TRIGGER {rtree}_delete AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {rtree} WHERE id = old.id; END"),
        (f"INSERT INTO {rtree} SELECT id, ST_MinX({column}), ST_MaxX({column}), ST_MinY({column}), "
        f"ST_MaxY({column}) FROM {table}"),
    ]


def drop_spatial_index(dialect: str, table: str, column: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS ix_{table}_{column}_gist"]
    rtree = rtree_table(table, column)
    return [f"DROP TRIGGER IF EXISTS {rtree}_{event}" for event in ("insert", "update", "delete")] + [
        f"DROP TABLE IF EXISTS {rtree}"
    ]


class _Bounds:
    """Bounds of the last WKB seen: a trigger asks for all four of the same row in turn."""

    def __init__(self):
        self._wkb = None
        self._bounds = None

    def of(self, wkb: bytes) -> tuple[float, float, float, float]:
        if wkb != self._wkb:
            self._bounds = tuple(shapely.bounds(shapely.from_wkb(wkb)).tolist())
            self._wkb = wkb
        return self._bounds


def _intersects_box(wkb: bytes | None, min_x: float, min_y: float, max_x: float, max_y: float) -> int | None:
    if wkb is None:
        return None
    return int(shapely.intersects(shapely.from_wkb(wkb), shapely.box(min_x, min_y, max_x, max_y)))


def _point_on_surface(wkb: bytes | None) -> bytes | None:
    return None if wkb is None else shapely.to_wkb(shapely.point_on_surface(shapely.from_wkb(wkb)))


RELATIONS = {"INTERSECTS": shapely.intersects, "DISJOINT": shapely.disjoint, "CONTAINS": shapely.contains,
             "WITHIN": shapely.within, "TOUCHES": shapely.touches, "CROSSES": shapely.crosses,
             "OVERLAPS": shapely.overlaps, "EQUALS": shapely.equals}


@lru_cache(maxsize=8)
def _literal(wkb: bytes) -> shapely.Geometry:
    return shapely.from_wkb(wkb)  # one filter's literal, read once for all the rows it is tested against


def _relates(wkb: bytes | None, other: bytes | None, predicate: str) -> int | None:
    if wkb is None or other is None or predicate not in RELATIONS:
        return None
    return int(RELATIONS[predicate](shapely.from_wkb(wkb), _literal(bytes(other))))


def sqlite_functions() -> dict:
    """name → (number of arguments, function) for one connection: the bounds the R*Tree triggers
    read (each connection has its own memo), and the exact tests of a geometry against a box and against
    another geometry (CQL2's spatial predicates), and a point inside a polygon (where a place's name goes)."""
    bounds = _Bounds()

    def bound(index):
        return 1, lambda wkb: None if wkb is None else bounds.of(wkb)[index]

    return {"ST_MinX": bound(0), "ST_MinY": bound(1), "ST_MaxX": bound(2), "ST_MaxY": bound(3),
            "ST_IntersectsBox": (5, _intersects_box), "ST_Relates": (3, _relates),
            "ST_PointOnSurface": (1, _point_on_surface)}
