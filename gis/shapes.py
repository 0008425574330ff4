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


def line_along(points, stub_degrees: float = 0.0001) -> shapely.LineString:
    """A line through `points` in the order they lie along their longest spread: where a street runs, as its
    buildings show it. A single point gets a short east-west stub (`stub_degrees` either side)."""
    coords = np.unique(shapely.get_coordinates(np.asarray(points, dtype=object)), axis=0)
    if len(coords) == 1:
        x, y = coords[0]
        return shapely.LineString([(x - stub_degrees, y), (x + stub_degrees, y)])
    # A degree of longitude is shorter than one of latitude by cos(latitude): spread is measured in metres' shape.
    scaled = (coords - coords.mean(axis=0)) * [np.cos(np.radians(coords[:, 1].mean())), 1.0]
    axis = np.linalg.svd(scaled, full_matrices=False)[2][0]
    return shapely.LineString(coords[np.argsort(scaled @ axis)])
