"""GeoJSON text of stored geometries, with coordinates rounded to a fixed number of decimals."""

from collections.abc import Sequence

import numpy as np
import shapely


def geometry_texts(wkb: Sequence[bytes], decimals: int) -> list[str]:
    """Each WKB geometry as GeoJSON geometry text, its coordinates rounded to `decimals`."""
    if not len(wkb):
        return []
    geometries = shapely.from_wkb(np.asarray([bytes(value) for value in wkb], dtype=object))
    rounded = shapely.transform(geometries, lambda coordinates: np.round(coordinates, decimals))
    return shapely.to_geojson(rounded).tolist()
