"""Spatial joins between points and polygons, through an STRtree."""

import numpy as np
import shapely


class PolygonIndex:
    """Polygons in an STRtree, built once for any number of point queries."""

    def __init__(self, polygons):
        self._tree = shapely.STRtree(np.asarray(polygons, dtype=object))

    def covering(self, points) -> tuple[np.ndarray, np.ndarray]:
        """(point index, polygon index) of every polygon that covers a point, sorted by point."""
        return self._tree.query(np.asarray(points, dtype=object), predicate="covered_by")

    def first_covering(self, points) -> np.ndarray:
        """For each point, the index of the first polygon that covers it, or -1."""
        point_idx, polygon_idx = self.covering(points)
        result = np.full(len(points), -1, dtype=np.int64)
        # Pairs come sorted by point; reversing lets the first match win the assignment.
        result[point_idx[::-1]] = polygon_idx[::-1]
        return result


def containing_polygon(points, polygons) -> np.ndarray:
    """For each point, the index of the first polygon that covers it, or -1."""
    return PolygonIndex(polygons).first_covering(points)


def nearest_geometry(points, geometries) -> np.ndarray:
    """For each point, the index of the nearest geometry (planar; use a metric CRS)."""
    tree = shapely.STRtree(np.asarray(geometries, dtype=object))
    return tree.nearest(np.asarray(points, dtype=object))
