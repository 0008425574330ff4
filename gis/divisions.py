"""Reference data shipped with the library: Yinchuan's county-level divisions.

The boundaries come from a public GCJ-02 (Amap-derived) set; the shipped copy was
converted to WGS84 once with `python -m gis.divisions SOURCE.geojson`, which
rewrites gis/data/yinchuan_districts.geojson.
"""

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely

from gis.datum import gcj02_to_wgs84, transform_geometries

DISTRICTS_PATH = Path(__file__).with_name("data") / "yinchuan_districts.geojson"


def load_districts() -> gpd.GeoDataFrame:
    """The six divisions: code, name, seat (the government seat, a Point) and geometry, in WGS84."""
    gdf = gpd.read_file(DISTRICTS_PATH, engine="pyogrio")
    gdf["seat"] = gpd.GeoSeries.from_wkt(gdf.pop("seat_wkt"), crs="EPSG:4326")
    return gdf.sort_values("code", ignore_index=True)


def convert_gcj02_source(source: Path, target: Path = DISTRICTS_PATH) -> None:
    """Convert the GCJ-02 source boundaries to the shipped WGS84 file."""
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    features = []
    for feature in data["features"]:
        props = feature["properties"]
        geometry = transform_geometries(shapely.geometry.shape(feature["geometry"]), gcj02_to_wgs84)
        seat = transform_geometries(shapely.Point(props["center"]), gcj02_to_wgs84)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": str(props["adcode"]),
                    "name": props["name"],
                    "seat_wkt": shapely.to_wkt(seat, rounding_precision=6),
                },
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geometry, 1e-6))),
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    target.write_text(json.dumps(collection, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    convert_gcj02_source(Path(sys.argv[1]))
