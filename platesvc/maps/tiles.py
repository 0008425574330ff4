"""Vector tiles of plates, service points, police beats and roads, and the basemap drawn under them
(divisions, building footprints with their door numbers, place names), as Mapbox Vector Tile 2.1.

Each tile layer shows one feature collection (features.py) with a few of its properties.
The store's index finds the features of a tile; PostGIS makes the tile itself
(ST_AsMVTGeom, ST_AsMVT), and on SQLite gis.tiles encodes them the same way. A tile of
a dense city holds thousands of plates, so each worker keeps the tiles it has made
(TileCache) and makes one again only when the map changed in its box since
(map_changes.py): a committed change shows in the very next tile, and an unchanged tile
costs one small read. Divisions change only by import, which the log does not cover: their
tiles are kept while the reference counter (generations.py) stands still.
"""

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cachetools import LRUCache
from sqlalchemy import ColumnElement, Integer, bindparam, func, or_, select
from sqlalchemy.engine import Engine

from gis.tiles import BUFFER, is_tile, lonlat_bounds
from platesvc.errors import NotFoundError
from platesvc.maps import features
from platesvc.store import generations, map_changes
from platesvc.store.models import Building, BuildingStatus, Division, DivisionLevel, Road
from platesvc.store.prepared import PreparedRead
from platesvc.store.spatial import bound_box, box_values, spatial_store


@dataclass(frozen=True, eq=False)  # hashed by identity: each is declared once
class TileLayer:
    name: str
    collection: features.Collection
    feature_id: object  # an integer column: MVT feature ids are numbers
    properties: tuple[str, ...]  # of the collection's, those a map needs to draw and to link
    min_zoom: int
    max_zoom: int = 20
    key_property: str | None = None  # the collection's own id, when it is not the feature id
    geometry: ColumnElement | None = None  # what is drawn, where not the collection's geometry (a label's point)
    index_column: str | None = None  # the indexed column that finds the features, where not the drawn one
    reach_m: float = 0  # how far what is drawn may stand from what the index holds (a footprint from its point)
    # which features a tile at zoom z (a bound parameter) holds, where not all: no community in a city-wide tile
    at_zoom: Callable[[ColumnElement], ColumnElement] | None = None
    logged: bool = True  # whether map_changes logs every change to what it shows

    def fields(self) -> dict[str, str]:
        """TileJSON's description of each property."""
        names = ((self.key_property,) if self.key_property else ()) + self.properties
        return {name: "String" for name in names}

    def search_bounds(self, z: int, x: int, y: int) -> tuple[float, float, float, float]:
        """The box (longitude, latitude) whose indexed geometries may show in the tile z/x/y."""
        west, south, east, north = lonlat_bounds(z, x, y, BUFFER)
        if not self.reach_m:
            return west, south, east, north
        grow_lat = self.reach_m / METRES_PER_DEGREE
        grow_lon = grow_lat / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.01)
        return (max(west - grow_lon, -180.0), max(south - grow_lat, -90.0), min(east + grow_lon, 180.0),
                min(north + grow_lat, 90.0))


METRES_PER_DEGREE = 111_320  # of latitude; of longitude at the equator
# A footprint is found by its building's point (the index the store keeps): one as wide as this
# from its point to its farthest corner shows whole in every tile it reaches.
BUILDING_REACH_M = 150


def _division_at_zoom(z: ColumnElement) -> ColumnElement:
    """Districts at every zoom, subdistricts from 11 and communities from 13: a city-wide tile holds
    six outlines, not a thousand."""
    return or_(Division.level == DivisionLevel.DISTRICT,
               (Division.level == DivisionLevel.SUBDISTRICT) & (z >= 11),
               (Division.level == DivisionLevel.COMMUNITY) & (z >= 13))


_BUILDINGS = features.Collection(
    id="buildings", title="Buildings", description="Building footprints with their door numbers",
    geometry_type="MultiPolygon", model=Building, geometry_column="footprint", key=Building.id,
    properties={"number": Building.number, "name": Building.name,
                "road": select(Road.name).where(Road.id == Building.road_id).scalar_subquery()},
    filterable=(), conditions=(Building.status == BuildingStatus.ACTIVE, Building.footprint.is_not(None)),
)
_DIVISIONS = features.COLLECTIONS["divisions"]

LAYERS = {layer.name: layer for layer in [
    # The basemap, drawn under the rest.
    TileLayer("divisions", _DIVISIONS, Division.id, ("name", "level", "code"), min_zoom=8,
              at_zoom=_division_at_zoom, logged=False),
    TileLayer("places", _DIVISIONS, Division.id, ("name", "level", "code"), min_zoom=8,
              geometry=func.ST_PointOnSurface(Division.geom), at_zoom=_division_at_zoom, logged=False),
    TileLayer("buildings", _BUILDINGS, Building.id, ("number", "name", "road"), min_zoom=15,
              index_column="point", reach_m=BUILDING_REACH_M),
    # What the service is about.
    TileLayer("plates", features.COLLECTIONS["plates"], Building.id, ("road", "number", "status"), min_zoom=13,
              key_property="plate_id"),
    TileLayer("services", features.COLLECTIONS["services"], features.COLLECTIONS["services"].key,
              ("name", "category"), min_zoom=8),
    TileLayer("beats", features.COLLECTIONS["police-beats"], features.COLLECTIONS["police-beats"].key,
              ("name", "station"), min_zoom=8),
    TileLayer("roads", features.COLLECTIONS["roads"], features.COLLECTIONS["roads"].key, ("name", "pinyin"),
              min_zoom=8),
]}


# Every layer in one tile (an MVT tile is its layers one after another): one request a tile for a
# map that draws them all, not seven, each of them a repaint when it comes. Made to zoom 16; a
# map zoomed further draws from those (4,096 units over 600 m: finer than a footprint's lines).
COMPOSITE = "map"
COMPOSITE_MAX_ZOOM = 16


def composite_tile(cache: "TileCache", engine: Engine, z: int, x: int, y: int) -> bytes:
    """The tile z/x/y of every layer shown at zoom z, each from the cache.

    :raises NotFoundError: no such tile, or outside the composite's zoom levels.
    """
    lowest = min(layer.min_zoom for layer in LAYERS.values())
    if not lowest <= z <= COMPOSITE_MAX_ZOOM:
        raise NotFoundError("%(layer)s tiles exist from zoom %(lowest)s to %(highest)s.", layer=COMPOSITE,
                            lowest=lowest, highest=COMPOSITE_MAX_ZOOM)
    return b"".join(cache.tile(engine, layer, z, x, y) for layer in LAYERS.values()
                    if layer.min_zoom <= z <= layer.max_zoom)


def layer_named(name: str) -> TileLayer:
    layer = LAYERS.get(name)
    if layer is None:
        raise NotFoundError("There is no tile layer %(layer)s; there are %(layers)s.", layer=name, layers=list(LAYERS))
    return layer


def extent(engine: Engine, layer: TileLayer) -> tuple[float, float, float, float] | None:
    """A box holding every feature of the layer (as the index it is found by holds them)."""
    collection = layer.collection
    with engine.connect() as connection:
        return spatial_store(engine).extent(connection, collection.model,
                                            layer.index_column or collection.geometry_column)


def tile(engine: Engine, layer: TileLayer, z: int, x: int, y: int) -> bytes:
    """The layer's tile z/x/y, made now; b"" when nothing falls in it.

    :raises NotFoundError: no such tile, or outside the layer's zoom levels.
    """
    _check(layer, z, x, y)
    store = spatial_store(engine)
    read = _tile_read(store, layer)
    rows = read.all(engine, z=z, x=x, y=y, **box_values(layer.search_bounds(z, x, y)))
    return store.tile(rows, read.names, layer.name, z, x, y)


def _check(layer: TileLayer, z: int, x: int, y: int) -> None:
    if not layer.min_zoom <= z <= layer.max_zoom:  # first: a huge z would make 2 ** z below huge too
        raise NotFoundError("%(layer)s tiles exist from zoom %(lowest)s to %(highest)s.", layer=layer.name,
                            lowest=layer.min_zoom, highest=layer.max_zoom)
    if not is_tile(z, x, y):
        raise NotFoundError("%(z)s/%(x)s/%(y)s is not a tile: x and y run from 0 to %(last)s at zoom %(z)s.", z=z, x=x,
                            y=y, last=2 ** z - 1)


@dataclass
class MadeTile:
    data: bytes  # b"": nothing in it
    made_at: map_changes.Stamp | None  # None: a layer the log does not cover


def _kept_bytes(made: MadeTile) -> int:
    return len(made.data) + 100  # the key, the stamp and the entry besides the tile itself


class TileCache:
    """A worker's finished tiles within a byte budget, least recently used out first, each good until
    the map changes in its box."""

    def __init__(self, max_bytes: int):
        self._tiles = LRUCache(maxsize=max_bytes, getsizeof=_kept_bytes)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def tile(self, engine: Engine, layer: TileLayer, z: int, x: int, y: int) -> bytes:
        """The tile as tile() makes it, from this cache when nothing in its box changed since."""
        if not self._max_bytes:  # keeping none: nothing to look up in the log either
            return tile(engine, layer, z, x, y)
        _check(layer, z, x, y)
        key = (engine.url, layer.name, z, x, y)
        if not layer.logged:  # kept while the reference counter stands
            key += (generations.current(engine),)
        with self._lock:
            held = self._tiles.get(key)
        if not layer.logged:
            if held is None:
                held = MadeTile(tile(engine, layer, z, x, y), None)
                self._keep(key, held)
            return held.data
        now, stale = map_changes.look(engine, held.made_at if held else None, layer.search_bounds(z, x, y))
        if not stale:
            held.made_at = now  # good as of now: the next look starts from here
            return held.data
        made = MadeTile(tile(engine, layer, z, x, y), now)  # the stamp is older than what it shows: safe
        self._keep(key, made)
        return made.data

    def _keep(self, key: tuple, made: MadeTile) -> None:
        if _kept_bytes(made) <= self._max_bytes:
            with self._lock:
                self._tiles[key] = made


@lru_cache(maxsize=len(LAYERS) * 2)
def _tile_read(store, layer: TileLayer) -> PreparedRead:
    """The layer's tile statement on this store, built and compiled once."""
    collection = layer.collection
    columns = [collection.properties[name].label(name) for name in layer.properties]
    if layer.key_property:
        columns.insert(0, collection.key.label(layer.key_property))
    query = collection.joins(select(layer.feature_id.label("id"), *columns)).where(*collection.conditions)
    if layer.at_zoom is not None:
        query = query.where(layer.at_zoom(bindparam("z", type_=Integer)))
    query = store.within(query, collection.model, layer.index_column or collection.geometry_column, bound_box(),
                         exact=False)
    geometry = collection.geometry if layer.geometry is None else layer.geometry
    return PreparedRead(store.tile_statement(query, geometry, layer.name))
