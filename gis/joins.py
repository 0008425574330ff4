"""Spatial joins between points and polygons, through an STRtree."""

import numpy as np
import shapely


def containing_polygon(points, polygons) -> np.ndarray:
    """For each point, the index of the first polygon that covers it, or -1."""
    points = np.asarray(points, dtype=object)
    tree = shapely.STRtree(np.asarray(polygons, dtype=object))
    point_idx, polygon_idx = tree.query(points, predicate="covered_by")
    result = np.full(len(points), -1, dtype=np.int64)
    # query() returns pairs sorted by point; reversing lets the first match win the assignment
    result[point_idx[::-1]] = polygon_idx[::-1]
    return result


def nearest_geometry(points, geometries) -> np.ndarray:
    """For each point, the index of the nearest geometry (planar; use a metric CRS)."""
    tree = shapely.STRtree(np.asarray(geometries, dtype=object))
    return tree.nearest(np.asarray(points, dtype=object))
