"""Reading the files GIS desks export, into WGS84 GeoDataFrames.

Shapefiles (with their .prj and .cpg; GBK/GB18030 text as Chinese desktop GIS writes
it, detected when there is no .cpg), GeoPackages (any layer), GeoJSON, and CSV/XLSX
tables with longitude/latitude or WKT columns (UTF-8 with or without BOM, or GBK).
Any CRS with a definition is reprojected to WGS84; coordinates taken from Chinese map
apps can be declared GCJ-02 or BD-09. Every frame gets `source_row`, the row a person
finds the record at: the spreadsheet row (the header is row 1) or the feature number.
"""

import struct
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.datum import bd09_to_wgs84, gcj02_to_wgs84, transform_geometries

WGS84 = "EPSG:4326"
SOURCE_ROW = "source_row"
APP_DATUMS = {"GCJ02": gcj02_to_wgs84, "BD09": bd09_to_wgs84}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx"}
LAYER_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".zip"}
LONGITUDE_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "x坐标")
LATITUDE_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "y坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "图形")
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")  # gb18030 reads GBK and GB2312 too


class FileReadError(ValueError):
    """A file that cannot be read as given; the message says what to do."""


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame  # WGS84, with SOURCE_ROW
    source_crs: str
    encoding: str | None
    notes: list[str] = field(default_factory=list)


def read_features(path: str | Path, layer: str | None = None, encoding: str | None = None,
                  crs: str | None = None, require_geometry: bool = True) -> ReadResult:
    """Read one layer or table into WGS84.

    `crs` (an EPSG code, any pyproj definition, or GCJ02/BD09) says what the coordinates
    are when the file does not, and overrides what it says when given. A table with
    no coordinate columns is refused unless `require_geometry` is False.
    """
    path = Path(path)
    if not path.exists():
        raise FileReadError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        frame, encoding = _read_table(path, encoding, layer, require_geometry)
    elif suffix in LAYER_SUFFIXES:
        frame, encoding = _read_layer(path, layer, encoding)
    else:
        raise FileReadError(f"{path.name}: cannot read {suffix or 'files without a suffix'}; give a Shapefile, "
                            "GeoPackage, GeoJSON, CSV or XLSX file")
    result = ReadResult(frame, "", encoding)
    result.frame = _to_wgs84(frame, crs, path.name, result)
    return result


def list_layers(path: str | Path) -> list[str]:
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def _read_layer(path: Path, layer: str | None, encoding: str | None) -> tuple[gpd.GeoDataFrame, str | None]:
    if layer is None and path.suffix.lower() == ".gpkg":
        layers = list_layers(path)
        if len(layers) > 1:
            raise FileReadError(f"{path.name} has {len(layers)} layers ({', '.join(layers)}): choose one with --layer")
    if path.suffix.lower() == ".shp" and encoding is None and not path.with_suffix(".cpg").exists():
        encoding = _dbf_encoding(path.with_suffix(".dbf"))
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except pyogrio.errors.DataLayerError as error:
        raise FileReadError(f"{path.name}: no layer {layer!r}; it has {', '.join(list_layers(path))}") from error
    except pyogrio.errors.DataSourceError as error:
        raise FileReadError(f"{path.name} cannot be opened as GIS data: {error}") from error
    frame[SOURCE_ROW] = np.arange(1, len(frame) + 1)
    return frame, encoding


def _dbf_encoding(dbf: Path) -> str | None:
    """UTF-8 if the DBF's field names and records decode as UTF-8, else GB18030."""
    if not dbf.exists():
        return None
    data = dbf.read_bytes()
    header_length = struct.unpack("<H", data[8:10])[0]
    names = b"".join(data[i:i + 11].split(b"\0")[0] for i in range(32, header_length - 1, 32))
    try:
        (names + data[header_length:]).decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _read_table(path: Path, encoding: str | None, layer: str | None,
                require_geometry: bool) -> tuple[gpd.GeoDataFrame, str | None]:
    if path.suffix.lower() == ".xlsx":
        # GDAL guesses whether row 1 holds names (with text under text it guesses wrong) and
        # the cell types (an ID typed as a number would lose its leading zeros): say both.
        table = pyogrio.read_dataframe(path, layer=layer, read_geometry=False, HEADERS="FORCE",
                                       FIELD_TYPES="STRING")
        encoding = None
    else:
        table, encoding = _read_csv(path, encoding)
    table.columns = [str(column).strip() for column in table.columns]
    table[SOURCE_ROW] = np.arange(2, len(table) + 2)  # row 1 holds the column names
    values = table.drop(columns=SOURCE_ROW)
    table = table[~(values.isna() | (values.astype(str).apply(lambda c: c.str.strip()) == "")).all(axis=1)]
    geometry = _table_geometry(table, path.name, require_geometry)
    return gpd.GeoDataFrame(table, geometry=geometry), encoding


def _read_csv(path: Path, encoding: str | None) -> tuple[pd.DataFrame, str]:
    for candidate in [encoding] if encoding else TEXT_ENCODINGS:
        try:
            # Blank lines are kept (and dropped after numbering) so row numbers match the file.
            return pd.read_csv(path, dtype=str, encoding=candidate, keep_default_na=False,
                               na_values=[""], skip_blank_lines=False), candidate
        except UnicodeDecodeError:
            continue
        except LookupError as error:
            raise FileReadError(f"unknown text encoding {encoding!r}") from error
    raise FileReadError(f"{path.name} is neither UTF-8 nor GBK text: give its encoding with --encoding")


def _find_column(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_name = {column.lower(): column for column in table.columns}
    return next((by_name[name] for name in names if name in by_name), None)


def _table_geometry(table: pd.DataFrame, name: str, require_geometry: bool) -> gpd.GeoSeries:
    lon, lat = _find_column(table, LONGITUDE_NAMES), _find_column(table, LATITUDE_NAMES)
    if lon and lat:
        x = pd.to_numeric(table[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(table[lat], errors="coerce").to_numpy(dtype=float)
        points = shapely.points(x, y)
        points[np.isnan(x) | np.isnan(y)] = None  # refused later as rows without a location
        return gpd.GeoSeries(points, index=table.index)
    wkt = _find_column(table, WKT_NAMES)
    if wkt:
        text = table[wkt].where(table[wkt].notna(), None).to_numpy(dtype=object)
        return gpd.GeoSeries(shapely.from_wkt(text, on_invalid="ignore"), index=table.index)
    if not require_geometry:
        return gpd.GeoSeries([None] * len(table), index=table.index)
    raise FileReadError(f"{name} has no longitude/latitude columns (经度/纬度, lon/lat, x/y) and no WKT column: "
                        f"its columns are {', '.join(table.columns)}")


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, name: str, result: ReadResult) -> gpd.GeoDataFrame:
    declared = crs.strip().upper().replace("-", "") if crs else None
    if declared in APP_DATUMS:
        result.source_crs = declared
        frame = frame.set_crs(WGS84, allow_override=True)
        frame.geometry = transform_geometries(frame.geometry.to_numpy(), APP_DATUMS[declared])
        return frame
    if crs:
        try:
            source = CRS.from_user_input(int(crs) if crs.isdigit() else crs)
        except CRSError as error:
            raise FileReadError(f"--crs {crs}: not a coordinate reference system pyproj knows") from error
        if frame.crs is not None and not frame.crs.equals(source):
            result.notes.append(f"the file says {frame.crs.to_string()}; read as {source.to_string()} (--crs)")
        frame = frame.set_crs(source, allow_override=True)
    elif frame.crs is None:
        if _looks_projected(frame):
            x0, y0, *_ = frame.total_bounds
            raise FileReadError(
                f"{name} has no coordinate reference system (no .prj) and its coordinates (like {x0:.0f}, "
                f"{y0:.0f}) are not longitude/latitude: give one with --crs, e.g. --crs 4544 for CGCS2000 "
                "3-degree Gauss-Kruger zone CM 105E")
        if frame.geometry.notna().any():
            result.notes.append("no coordinate reference system given: read as WGS84 longitude/latitude")
        frame = frame.set_crs(WGS84)
    result.source_crs = frame.crs.to_string()
    return frame.to_crs(WGS84) if not frame.crs.equals(WGS84) else frame


def _looks_projected(frame: gpd.GeoDataFrame) -> bool:
    present = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if present.empty:
        return False
    min_x, min_y, max_x, max_y = present.total_bounds
    return min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90
