"""Normalising geometries to the types the store keeps."""

import numpy as np
import shapely

_POLYGON = 3
_LINESTRING = 1


def _collect_parts(geometries, part_type: int, build) -> np.ndarray:
    geometries = np.asarray(geometries, dtype=object)
    parts, owner = shapely.get_parts(geometries, return_index=True)
    keep = shapely.get_type_id(parts) == part_type
    out = np.full(len(geometries), None, dtype=object)
    owners = np.unique(owner[keep])
    if owners.size:
        out[owners] = build(parts[keep], indices=np.searchsorted(owners, owner[keep]))
    return out


def to_multipolygons(geometries) -> np.ndarray:
    """Polygons (and the polygon parts of collections) as MultiPolygons; others become None."""
    return _collect_parts(geometries, _POLYGON, shapely.multipolygons)


def to_multilinestrings(geometries) -> np.ndarray:
    """LineStrings (and the line parts of collections) as MultiLineStrings; others become None."""
    return _collect_parts(geometries, _LINESTRING, shapely.multilinestrings)


def representative_points(geometries) -> np.ndarray:
    """A point guaranteed inside each geometry (the point itself for points)."""
    return shapely.point_on_surface(np.asarray(geometries, dtype=object))
