"""The coordinate reference systems features are offered in (OGC API - Features Part 2), named by
their OGC URIs, each with its axis order as its authority defines it.

Stored geometry is WGS84 longitude/latitude (CRS84). EPSG:4326 and EPSG:4490 (CGCS2000) put
latitude first, EPSG:4544 (CGCS2000 3-degree Gauss-Kruger, CM 105°E) northing first, EPSG:3857
easting first: a coordinate is written, and a bbox read, in that order.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
OFFERED_EPSG = (4326, 4490, 4544, 3857)
DEGREE_DECIMALS = 7  # about a centimetre
METRE_DECIMALS = 3  # a millimetre


@dataclass(frozen=True)
class OutputCrs:
    uri: str
    epsg: int | None  # None: CRS84, as stored

    @property
    def stored(self) -> bool:
        return self.epsg is None

    @property
    def northing_first(self) -> bool:
        return self.epsg is not None and _northing_first(self.epsg)

    @property
    def geographic(self) -> bool:
        return self.epsg is None or CRS.from_epsg(self.epsg).is_geographic

    @property
    def decimals(self) -> int:
        return DEGREE_DECIMALS if self.geographic else METRE_DECIMALS

    def from_wgs84(self, geometries: np.ndarray) -> np.ndarray:
        """Geometries in CRS84 as this CRS has them, its axes in its order."""
        if self.stored:
            return geometries
        forward = _transformer(4326, self.epsg)
        return shapely.transform(geometries, lambda xy: _ordered(np.column_stack(forward.transform(
            xy[:, 0], xy[:, 1])), self.northing_first))

    def to_wgs84(self, geometries: np.ndarray) -> np.ndarray:
        """Geometries given in this CRS, its axes in its order, as CRS84 (what is stored)."""
        if self.stored:
            return geometries
        backward = _transformer(self.epsg, 4326)
        return shapely.transform(geometries, lambda xy: np.column_stack(backward.transform(
            *_ordered(xy, self.northing_first).T)))

    def bbox_to_wgs84(self, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A bbox given in this CRS's axis order as min lon, min lat, max lon, max lat (a box that holds it)."""
        if self.stored:
            return bbox
        a, b, c, d = bbox
        min_x, min_y, max_x, max_y = (b, a, d, c) if self.northing_first else (a, b, c, d)
        if self.geographic:
            return min_x, min_y, max_x, max_y  # EPSG:4326 and CGCS2000 agree to well within a metre
        return _transformer(self.epsg, 4326).transform_bounds(min_x, min_y, max_x, max_y, densify_pts=21)


OFFERED = {crs.uri: crs for crs in [OutputCrs(CRS84, None)] + [OutputCrs(f"{EPSG_URI}{code}", code)
                                                                 for code in OFFERED_EPSG]}


def _ordered(xy: np.ndarray, northing_first: bool) -> np.ndarray:
    return xy[:, ::-1] if northing_first else xy


@cache
def _northing_first(epsg: int) -> bool:
    return CRS.from_epsg(epsg).axis_info[0].direction.lower() in ("north", "south")


@cache
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{source}", f"EPSG:{target}", always_xy=True)
