"""The geometry column type: PostGIS geometry on PostgreSQL, WKB on SQLite.

Python's sqlite3 here cannot load SpatiaLite, so on SQLite a geometry is stored as
WKB and indexed through an R*Tree kept by triggers (see spatial_index.py). Either way
the model attribute is a shapely geometry in WGS84: this is the one place that converts.
"""

import numpy as np
import shapely
from geoalchemy2 import Geometry, WKBElement
from geoalchemy2.shape import to_shape
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

SRID = 4326


def encode_geometries(geometries) -> list[bytes | None]:
    """WKB for many geometries at once, for bulk inserts (GeometryColumn takes it as is)."""
    return list(shapely.to_wkb(np.asarray(geometries, dtype=object)))


def ewkb_hex(values) -> list[str | None]:
    """Geometries (shapely, or WKB as GeometryColumn takes it) as the hex EWKB with SRID that
    PostGIS reads as text, for COPY."""
    geometries = np.empty(len(values), dtype=object)
    geometries[:] = values
    wkb = np.array([isinstance(value, bytes | memoryview) for value in values], dtype=bool)
    if wkb.any():  # decoded all at once: one call, not one a row
        geometries[wkb] = shapely.from_wkb(np.array([bytes(value) for value in geometries[wkb]], dtype=object))
    return list(shapely.to_wkb(shapely.set_srid(geometries, SRID), hex=True, include_srid=True))


class GeometryColumn(TypeDecorator):
    """A shapely geometry of one type (POINT, MULTIPOLYGON, ...) in EPSG:4326; WKB bytes bind too."""

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks; the migrations create the indexes themselves.
    spatial_index = False
    use_N_D_index = False
    srid = SRID

    def __init__(self, geometry_type: str):
        super().__init__()
        self.geometry_type = geometry_type

    def load_dialect_impl(self, dialect):
        # GeoAlchemy2's DDL hooks ask with no dialect at all.
        if dialect is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(Geometry(self.geometry_type, srid=SRID, spatial_index=False))
        return LargeBinary()

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        wkb = value if isinstance(value, bytes) else shapely.to_wkb(value)
        if dialect.name == "postgresql":
            return WKBElement(wkb, srid=SRID)
        return wkb

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return to_shape(value)
        return shapely.from_wkb(bytes(value))
