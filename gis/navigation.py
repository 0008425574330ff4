"""Where a point is in each datum the map apps use, and the URL that opens it in each app.

Stored coordinates are WGS84. Amap, Tencent and Apple Maps in China take GCJ-02,
Baidu takes BD-09, and geo: URIs are WGS84 by definition (RFC 5870). Every URL is
https except geo:, because WeChat's browser does not open custom app schemes.
"""

from urllib.parse import quote

import numpy as np

from gis.datum import gcj02_to_bd09, wgs84_to_gcj02

APPS = ("amap", "baidu", "tencent", "apple", "geo")
DECIMALS = 6  # about 0.1 m
SOURCE = "platesvc"  # how the apps' URI APIs ask a caller to name itself


def locations(lons, lats) -> list[dict[str, list[float]]]:
    """{"wgs84", "gcj02", "bd09": [lon, lat]} for each WGS84 point, converted in one pass."""
    lon = np.asarray(lons, dtype=float)
    lat = np.asarray(lats, dtype=float)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    bd_lon, bd_lat = gcj02_to_bd09(gcj_lon, gcj_lat)
    columns = np.round(np.column_stack([lon, lat, gcj_lon, gcj_lat, bd_lon, bd_lat]), DECIMALS).tolist()
    return [{"wgs84": row[0:2], "gcj02": row[2:4], "bd09": row[4:6]} for row in columns]


def location(lon: float, lat: float) -> dict[str, list[float]]:
    """The same as locations() for one point; plain floats go through numpy far faster than arrays."""
    gcj_lon, gcj_lat = wgs84_to_gcj02(float(lon), float(lat))
    bd_lon, bd_lat = gcj02_to_bd09(gcj_lon, gcj_lat)
    return {"wgs84": [round(float(lon), DECIMALS), round(float(lat), DECIMALS)],
            "gcj02": [round(float(gcj_lon), DECIMALS), round(float(gcj_lat), DECIMALS)],
            "bd09": [round(float(bd_lon), DECIMALS), round(float(bd_lat), DECIMALS)]}


def app_urls(location: dict[str, list[float]], name: str, address: str = "") -> dict[str, str]:
    """One URL per app that opens the point, labelled `name`, in that app.

    Built by hand, not with urlencode: coordinates need no escaping (",", ":" and ";" are
    legal in a query), and a page holds a dozen of these sets.
    """
    wgs_lon, wgs_lat = location["wgs84"]
    gcj_lon, gcj_lat = location["gcj02"]
    bd_lon, bd_lat = location["bd09"]
    label = quote(name, safe="")
    where = quote(address, safe="") if address else label
    return {
        # Amap URI API, marker: position is lon,lat; coordinate=gaode means GCJ-02.
        "amap": f"https://uri.amap.com/marker?position={gcj_lon},{gcj_lat}&name={label}&src={SOURCE}"
                "&coordinate=gaode&callnative=1",
        # Baidu URI API, marker: location is lat,lng; coord_type=bd09ll says BD-09.
        "baidu": f"https://api.map.baidu.com/marker?location={bd_lat},{bd_lon}&title={label}&content={where}"
                 f"&output=html&coord_type=bd09ll&src=webapp.{SOURCE}",
        # Tencent URI API, marker: coord is lat,lng in GCJ-02 (its default coord_type).
        "tencent": f"https://apis.map.qq.com/uri/v1/marker?marker=coord:{gcj_lat},{gcj_lon};title:{label};"
                   f"addr:{where}&referer={SOURCE}",
        # Apple Maps: ll is lat,lon; its map of China is GCJ-02, as Amap supplies it.
        "apple": f"https://maps.apple.com/?ll={gcj_lat},{gcj_lon}&q={label}",
        # geo: URI (RFC 5870), WGS84, with the label Android map apps show.
        "geo": f"geo:{wgs_lat},{wgs_lon}?q={wgs_lat},{wgs_lon}({label})",
    }


def walking_urls(origin: dict[str, list[float]], origin_name: str, destination: dict[str, list[float]],
                 destination_name: str) -> dict[str, str]:
    """One URL per app that opens walking directions from `origin` to `destination` (as location() gives
    them), each in its app's datum; geo: URIs have no routes, so that one opens the destination."""
    from_lon, from_lat = origin["gcj02"]
    to_lon, to_lat = destination["gcj02"]
    from_bd_lon, from_bd_lat = origin["bd09"]
    to_bd_lon, to_bd_lat = destination["bd09"]
    start, end = quote(origin_name, safe=""), quote(destination_name, safe="")
    return {
        # Amap URI API, navigation: from/to are lon,lat,name in GCJ-02; mode=walk.
        "amap": f"https://uri.amap.com/navigation?from={from_lon},{from_lat},{start}&to={to_lon},{to_lat},{end}"
                f"&mode=walk&src={SOURCE}&coordinate=gaode&callnative=1",
        # Baidu URI API, direction: latlng:lat,lng|name:…, BD-09; mode=walking.
        "baidu": f"https://api.map.baidu.com/direction?origin=latlng:{from_bd_lat},{from_bd_lon}|name:{start}"
                 f"&destination=latlng:{to_bd_lat},{to_bd_lon}|name:{end}&mode=walking&output=html"
                 f"&coord_type=bd09ll&src=webapp.{SOURCE}",
        # Tencent URI API, routeplan: fromcoord/tocoord are lat,lng in GCJ-02; type=walk.
        "tencent": f"https://apis.map.qq.com/uri/v1/routeplan?type=walk&from={start}&fromcoord={from_lat},{from_lon}"
                   f"&to={end}&tocoord={to_lat},{to_lon}&referer={SOURCE}",
        # Apple Maps: saddr/daddr are lat,lon (GCJ-02 in China); dirflg=w walks.
        "apple": f"https://maps.apple.com/?saddr={from_lat},{from_lon}&daddr={to_lat},{to_lon}&dirflg=w",
        "geo": app_urls(destination, destination_name)["geo"],
    }
