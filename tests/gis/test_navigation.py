"""Links into the map apps: walking directions from a door to a service, each app in its own datum."""

import re
from urllib.parse import unquote

import pytest

from gis.navigation import location, walking_urls


def _numbers(pattern: str, url: str) -> list[float]:
    return [float(value) for value in re.search(pattern, unquote(url)).groups()]


def test_walking_directions_go_from_the_door_to_the_service_in_each_apps_datum():
    door, service = location(106.2781, 38.4702), location(106.2905, 38.4665)
    links = walking_urls(door, "解放西街 12号", service, "凤凰助餐点")
    assert _numbers(r"from=([\d.]+),([\d.]+),", links["amap"]) == pytest.approx(door["gcj02"])
    assert _numbers(r"to=([\d.]+),([\d.]+),", links["amap"]) == pytest.approx(service["gcj02"])
    assert "mode=walk" in links["amap"] and "凤凰助餐点" in unquote(links["amap"])
    assert _numbers(r"origin=latlng:([\d.]+),([\d.]+)", links["baidu"])[::-1] == pytest.approx(door["bd09"])
    assert _numbers(r"destination=latlng:([\d.]+),([\d.]+)", links["baidu"])[::-1] == pytest.approx(service["bd09"])
    assert "mode=walking" in links["baidu"] and "coord_type=bd09ll" in links["baidu"]
    assert _numbers(r"fromcoord=([\d.]+),([\d.]+)", links["tencent"])[::-1] == pytest.approx(door["gcj02"])
    assert _numbers(r"tocoord=([\d.]+),([\d.]+)", links["tencent"])[::-1] == pytest.approx(service["gcj02"])
    assert "type=walk" in links["tencent"]
    assert _numbers(r"saddr=([\d.]+),([\d.]+)", links["apple"])[::-1] == pytest.approx(door["gcj02"])
    assert _numbers(r"daddr=([\d.]+),([\d.]+)", links["apple"])[::-1] == pytest.approx(service["gcj02"])
    assert "dirflg=w" in links["apple"]
    assert _numbers(r"^geo:([\d.]+),([\d.]+)", links["geo"])[::-1] == pytest.approx(service["wgs84"])  # no routes
    assert all(url.startswith("https://") for app, url in links.items() if app != "geo")
