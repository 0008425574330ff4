"""GeoJSON text of stored geometries as RFC 7946 has it: polygons' exterior rings counter-clockwise and
holes clockwise (section 3.1.6), coordinates rounded to a fixed number of decimals."""

from collections.abc import Callable, Sequence

import numpy as np
import shapely


def geometry_texts(wkb: Sequence[bytes], decimals: int,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> list[str]:
    """Each WKB geometry as GeoJSON geometry text, its rings wound as RFC 7946 says, then `transform`ed
    (into another CRS: gis.crs), its coordinates rounded to `decimals`."""
    if not len(wkb):
        return []
    geometries = shapely.from_wkb(np.asarray([bytes(value) for value in wkb], dtype=object))
    wound = shapely.orient_polygons(geometries, exterior_cw=False)  # whatever the file they came from had
    if transform is not None:
        wound = transform(wound)
    rounded = shapely.transform(wound, lambda coordinates: np.round(coordinates, decimals))
    return shapely.to_geojson(rounded).tolist()
