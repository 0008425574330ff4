"""The resident page a QR code opens, its 404 and 410 pages, and the scan counts behind it."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select

from gis.navigation import walking_urls
from platesvc import create_app
from platesvc.registry.audit import SYSTEM
from platesvc.registry.lifecycle import retire_building
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.scan.counts import scans_by_day
from platesvc.store.database import db
from platesvc.store.models import Plate
from tests.conftest import app_config

PAGE_BUDGET = 50 * 1024


def _plate(index=0) -> Plate:
    return db.session.scalars(select(Plate).order_by(Plate.id).offset(index).limit(1)).one()


def _resource_urls(html: str) -> list[str]:
    """What a browser would fetch to show the page: stylesheets, icons, scripts, images."""
    urls = re.findall(r'<link[^>]+href="([^"]+)"', html)
    urls += re.findall(r'<(?:script|img|iframe|source|video|audio)[^>]+src="([^"]+)"', html)
    urls += re.findall(r'url\(([^)]+)\)', html)
    return urls


def test_the_page_is_chinese_by_default_and_english_on_request(issued_app, client):
    plate = _plate()
    chinese = client.get(f"/P/{plate.id}")
    assert chinese.status_code == 200 and 'lang="zh-CN"' in chinese.text
    assert "社区民警" in chinese.text and "附近服务" in chinese.text
    assert client.get(f"/p/{plate.id.lower()}").text == chinese.text
    english = client.get(f"/P/{plate.id}?lang=en")
    assert 'lang="en"' in english.text and "Community police officer" in english.text
    by_browser = client.get(f"/P/{plate.id}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in by_browser.text
    assert "Accept-Language" in chinese.headers["Vary"]
    assert client.get(f"/P/{plate.id}?lang=zh", headers={"Accept-Language": "en"}).text == chinese.text


def test_the_page_shows_address_officer_services_and_help_lines(issued_app, client):
    plate = _plate(3)
    document = client.get(f"/api/v1/plates/{plate.id}").json
    html = client.get(f"/P/{plate.id}").text
    assert document["address"]["full"] in html
    assert parse_plate_id(plate.id).display in html
    if document["police"]:
        assert f'href="tel:{document["police"]["phone"]}"' in html
    for entries in document["nearest"].values():
        for entry in entries:
            assert entry["name"] in html
    assert 'href="tel:12345"' in html
    for url in document["navigation"].values():
        assert url.replace("&", "&amp;") in html
    # Works with scripts off: its one script only reveals the read-aloud button.
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1
    assert re.fullmatch(r'<script src="/static/read-aloud(-[0-9a-f]{32})?\.js" defer>', scripts[0])


def test_the_whole_page_is_light_and_asks_no_other_host(issued_app, client):
    for index in range(5):
        html = client.get(f"/P/{_plate(index).id}").text
        resources = _resource_urls(html)
        assert resources and all(url.startswith("/") and not url.startswith("//") for url in resources)
        weight = len(html.encode()) + sum(len(client.get(url).data) for url in resources)
        assert weight < PAGE_BUDGET, f"{weight} bytes"


def test_a_mistyped_plate_gets_a_plain_404_page_offering_the_real_one(issued_app, client):
    plate = _plate().id
    typo = plate[:9] + ("7" if plate[9] != "7" else "8") + plate[10:]
    answer = client.get(f"/P/{typo}")
    assert answer.status_code == 404 and "没有找到这块门牌" in answer.text
    assert f'href="/P/{plate}' in answer.text and parse_plate_id(plate).display in answer.text
    nothing_near = client.get("/P/999999-ZZZZZ")
    assert nothing_near.status_code == 404 and "您要找的是不是" not in nothing_near.text
    english = client.get(f"/P/{typo}?lang=en")
    assert "Plate not found" in english.text
    assert client.get(f"/p/?id={plate.lower()}").headers["Location"].endswith(f"/P/{plate.lower()}")


def test_a_retired_plate_page_says_so_and_links_where_it_went(issued_app, client):
    merged, kept = _plate(0), _plate(1)
    retire_building(db.session, merged.building, SYSTEM, "merged", kept.building)
    db.session.commit()
    answer = client.get(f"/P/{merged.id}")
    assert answer.status_code == 410 and "这块门牌已停用" in answer.text
    assert f'href="/P/{kept.id}' in answer.text


def test_a_repeat_scan_is_304(issued_app, client):
    plate = _plate()
    first = client.get(f"/P/{plate.id}")
    again = client.get(f"/P/{plate.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    english = client.get(f"/P/{plate.id}?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert english.status_code == 200 and english.headers["ETag"] != first.headers["ETag"]


def test_scans_are_counted_per_plate_per_day_and_nothing_else(issued_app, client):
    scanned, other = _plate(0), _plate(1)
    first = client.get(f"/P/{scanned.id}")
    client.get(f"/p/{scanned.id.lower()}", headers={"If-None-Match": first.headers["ETag"]})  # a 304 is a scan
    client.get(f"/P/{scanned.id}?lang=en")
    client.get(f"/api/v1/plates/{other.id}")  # map clients are not scans
    today = datetime.now(ZoneInfo(issued_app.config["TIMEZONE"])).date()
    with db.engine.connect() as connection:
        assert scans_by_day(connection, scanned.id) == {today: 3}
        assert scans_by_day(connection, other.id) == {}
    columns = {column["name"] for column in inspect(db.engine).get_columns("plate_scans")}
    assert columns == {"plate_id", "day", "count"}  # no address, agent or time of day


def test_each_service_has_a_page_of_walking_routes_from_the_door_in_every_map_app(issued_app, client):
    plate = _plate()
    document = client.get(f"/api/v1/plates/{plate.id}").json
    service = document["nearest"]["elderly_care"][0]
    html = client.get(f"/P/{plate.id}").text
    link = f'/P/{plate.id}/to/{service["id"]}?lang=zh'
    assert f'href="{link}"' in html
    page = client.get(link)
    assert page.status_code == 200 and service["name"] in page.text
    routes = walking_urls(document["location"], document["address"]["short"], service["location"], service["name"])
    for url in routes.values():
        assert url.replace("&", "&amp;") in page.text
    assert client.get(f"/P/{plate.id}/to/999999").status_code == 404


def test_scan_counts_are_written_in_the_background(issued_app):
    import time

    from platesvc.scan.counts import ScanCounter

    plate = _plate().id
    counter = ScanCounter(db.engine, issued_app.config["TIMEZONE"], flush_seconds=0.2)
    counter.record(plate)
    counter.record(plate)
    with db.engine.connect() as connection:
        assert scans_by_day(connection, plate) == {}  # nothing written inside the request
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if scans_by_day(connection, plate):
                break
        time.sleep(0.1)
    with db.engine.connect() as connection:
        assert list(scans_by_day(connection, plate).values()) == [2]


def test_the_page_says_how_to_apply_for_assistance_here(issued_app, client, database_url, tmp_path):
    plate = _plate(2)
    document = client.get(f"/api/v1/plates/{plate.id}").json
    window, page = document["assistance"]["window"], client.get(f"/P/{plate.id}").text
    assert window["name"] in page and f'href="tel:{window["phone"]}"' in page
    assert f'href="tel:{document["assistance"]["hotline"]}"' in page and "“宁夏救助通”小程序" in page
    assert f'href="/P/{plate.id}/assistance?lang=zh"' in page  # walking there from this door:
    expected = walking_urls(document["location"], document["address"]["short"], window["location"], window["name"])
    route = client.get(f"/P/{plate.id}/assistance").text
    assert all(url.replace("&", "&amp;") in route for url in expected.values()) and window["address"] in route
    assert "weixin://" not in page  # no link to the app where the deployment has none
    configured = create_app(app_config(database_url, tmp_path, ASSISTANCE_APP_URL="weixin://dl/business/?t=demo",
                                       ASSISTANCE_APP_EN="Jiuzhutong")).test_client()
    assert 'href="weixin://dl/business/?t=demo"' in configured.get(f"/P/{plate.id}?lang=zh").text
    assert "“Jiuzhutong”" in configured.get(f"/P/{plate.id}?lang=en").text
