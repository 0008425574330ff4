"""WGS84, GCJ-02 and BD-09: the datums Chinese map apps expect.

GCJ-02 is the obfuscated datum Amap, Tencent and WeChat use; BD-09 is Baidu's
further offset of it. The forward formulas are the public ones; neither has an
exact closed-form inverse, so inverses are solved by fixed-point iteration.
All functions take and return longitude/latitude arrays (or scalars).
"""

import numpy as np
import shapely

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0


def in_china(lon, lat):
    """True where a point lies inside the rough rectangle the apps shift."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj02_delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02; points outside China come back unshifted."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj02_delta(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward, lon, lat, start, tolerance=1e-10, max_iterations=30):
    """Solve forward(x) = (lon, lat) by fixed-point iteration from `start`."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x_lon, x_lat = (np.asarray(v, dtype=float) for v in start)
    for _ in range(max_iterations):
        fwd_lon, fwd_lat = forward(x_lon, x_lat)
        err_lon, err_lat = fwd_lon - lon, fwd_lat - lat
        x_lon, x_lat = x_lon - err_lon, x_lat - err_lat
        if np.all(np.abs(err_lon) < tolerance) and np.all(np.abs(err_lat) < tolerance):
            break
    return x_lon, x_lat


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84 to well under a millimetre."""
    return _invert(wgs84_to_gcj02, lon, lat, start=(lon, lat))


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02, refining the published approximate inverse (off by up to ~20 cm)."""
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _invert(gcj02_to_bd09, lon, lat, start=(z * np.cos(theta), z * np.sin(theta)))


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def transform_geometries(geometries, convert):
    """Apply a lon/lat conversion such as gcj02_to_wgs84 to shapely geometries."""

    def convert_coords(coords):
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometries, convert_coords)
