"""Web Mercator tiles (z/x/y, the XYZ scheme) and Mapbox Vector Tile encoding.

Encoding follows what PostGIS's ST_AsMVTGeom does, so both backends serve the same tiles:
geometry in EPSG:3857, clipped to the tile grown by `buffer` units of the `extent` grid,
then quantised to that grid.
"""

import math

import mapbox_vector_tile
import numpy as np
import shapely

EARTH_RADIUS_M = 6378137.0
HALF_WORLD_M = math.pi * EARTH_RADIUS_M
MAX_LATITUDE = 85.0511287798066  # Web Mercator's square world stops here
EXTENT = 4096
BUFFER = 64

Bounds = tuple[float, float, float, float]


def is_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 30 and 0 <= x < 2 ** z and 0 <= y < 2 ** z


def mercator_bounds(z: int, x: int, y: int, buffer: int = 0, extent: int = EXTENT) -> Bounds:
    """The tile's bounds in EPSG:3857 metres, grown by `buffer` grid units each side."""
    size = 2 * HALF_WORLD_M / 2 ** z
    margin = size * buffer / extent
    left = -HALF_WORLD_M + x * size
    top = HALF_WORLD_M - y * size
    return left - margin, top - size - margin, left + size + margin, top + margin


def lonlat_bounds(z: int, x: int, y: int, buffer: int = 0, extent: int = EXTENT) -> Bounds:
    """The same bounds in longitude and latitude (clamped to the world)."""
    left, bottom, right, top = mercator_bounds(z, x, y, buffer, extent)
    (west, east), (south, north) = _to_lonlat(np.array([left, right]), np.array([bottom, top]))
    return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)


def to_mercator(geometries):
    """Geometries in longitude/latitude as EPSG:3857 (latitudes beyond Mercator's world clamped)."""
    return shapely.transform(geometries, _lonlat_to_mercator)


def _lonlat_to_mercator(coordinates: np.ndarray) -> np.ndarray:
    lon, lat = coordinates[:, 0], np.clip(coordinates[:, 1], -MAX_LATITUDE, MAX_LATITUDE)
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return np.column_stack([x, y])


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(x / EARTH_RADIUS_M)
    lat = np.degrees(2 * np.arctan(np.exp(y / EARTH_RADIUS_M)) - np.pi / 2)
    return lon, lat


def encode_layer(name: str, z: int, x: int, y: int, ids, geometries, properties: list[dict]) -> bytes:
    """One layer of features (geometries in longitude/latitude) as a vector tile; b"" if none show."""
    clip = mercator_bounds(z, x, y, BUFFER)
    projected = to_mercator(np.asarray(geometries, dtype=object))
    clipped = shapely.clip_by_rect(projected, *clip)
    features = [
        {"id": int(feature_id), "geometry": geometry, "properties": {k: v for k, v in props.items() if v is not None}}
        for feature_id, geometry, props in zip(ids, clipped, properties, strict=True)
        if geometry is not None and not geometry.is_empty
    ]
    if not features:
        return b""
    # Onto the tile's grid here, all at once (the encoder would do it point by point).
    left, bottom, right, top = mercator_bounds(z, x, y)
    scale = np.array([EXTENT / (right - left), EXTENT / (top - bottom)])
    on_grid = shapely.transform([feature["geometry"] for feature in features],
                                lambda coordinates: np.round((coordinates - [left, bottom]) * scale))
    for feature, geometry in zip(features, on_grid, strict=True):
        feature["geometry"] = geometry
    return mapbox_vector_tile.encode(
        [{"name": name, "features": features}],
        default_options={"extents": EXTENT,
                         "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid})
