"""The web map in a real browser: the basemap's labels render (road, place and door names, Chinese from
the device's font, digits from the built glyphs) on a phone and a desktop, tiles render plates and
services, a plate opens its page, the category filter and "near me" work, and nothing is fetched
from another host."""

import pytest
from sqlalchemy import select

from platesvc.maps.style import LABEL_LAYERS
from platesvc.store.database import db
from platesvc.store.models import Building, ServicePoint

pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1000, "height": 800}
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1366, "height": 768}}
RENDER_TIMEOUT_MS = 60_000  # WebGL runs on the CPU (SwiftShader) here


def _open_map(browser, live_server, viewport=DESKTOP, **context):
    page = browser.new_context(viewport=viewport, locale="zh-CN", **context).new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    answer = page.goto(f"{live_server}/map", wait_until="load")
    assert answer.status == 200
    page.wait_for_selector("#map[data-ready='1']", state="attached", timeout=RENDER_TIMEOUT_MS)
    return page, requested


def _rendered(page, layer: str) -> list[dict]:
    return page.evaluate(f"""() => window.plateMap.queryRenderedFeatures({{layers: ['{layer}']}})
        .map(f => ({{id: f.id, properties: f.properties}}))""")


def _zoom_to(page, lon: float, lat: float, zoom: int) -> None:
    page.evaluate(f"""() => new Promise(done => {{
        window.plateMap.once('idle', done); window.plateMap.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}}); }})""")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_basemap_draws_road_place_and_door_labels(live_server, browser, artifact, viewport):
    page, requested = _open_map(browser, live_server, VIEWPORTS[viewport])
    style = page.evaluate("() => window.plateMap.getStyle()")
    text_layers = {layer["id"] for layer in style["layers"] if "text-field" in layer.get("layout", {})}
    assert set(LABEL_LAYERS) <= text_layers
    # The opening view: the city centre, with services, plates, and named roads and communities.
    assert page.evaluate("() => window.plateMap.getZoom()") >= 13
    roads = _rendered(page, "road-labels")
    assert roads and all(road["properties"]["name"] for road in roads)
    assert _rendered(page, "place-labels") and _rendered(page, "services") and _rendered(page, "plates")
    page.screenshot(path=artifact(f"map-labels-{viewport}"))
    building = db.session.execute(select(Building.point).where(Building.footprint.is_not(None),
                                                               Building.number.is_not(None)).limit(1)).scalar()
    _zoom_to(page, building.x, building.y, 18)
    doors = _rendered(page, "door-numbers")
    assert doors and all(door["properties"]["number"] for door in doors)
    assert _rendered(page, "buildings")
    page.screenshot(path=artifact(f"map-doors-{viewport}"))
    # Latin and digits came from this server's glyphs; no ideograph range was asked for.
    glyphs = [url for url in requested if "/tiles/glyphs/" in url]
    assert any(url.endswith("/0-255.pbf") for url in glyphs)
    assert not any(int(url.rsplit("/", 1)[1].split("-")[0]) >= 0x3000 for url in glyphs), glyphs
    assert all(url.startswith(live_server + "/") for url in requested), requested


def test_the_map_shows_plates_and_services_and_a_plate_opens_its_page(live_server, browser, artifact):
    page, requested = _open_map(browser, live_server)
    assert _rendered(page, "roads") and _rendered(page, "services")
    service = db.session.execute(select(ServicePoint.geom).limit(1)).scalar()
    _zoom_to(page, service.x, service.y, 16)
    plates = _rendered(page, "plates")
    assert plates and all(p["properties"]["plate_id"] for p in plates)
    page.screenshot(path=artifact("map"))
    assert all(url.startswith(live_server + "/") for url in requested), requested
    assert any("/tiles/plates/" in url for url in requested)

    # Click the first rendered plate where it is drawn.
    target = page.evaluate("""() => {
        const map = window.plateMap;
        const feature = map.queryRenderedFeatures({layers: ['plates']})[0];
        const point = map.project(feature.geometry.coordinates);
        const box = map.getCanvas().getBoundingClientRect();
        return {x: box.left + point.x, y: box.top + point.y, plate: feature.properties.plate_id};
    }""")
    with page.expect_navigation():
        page.mouse.click(target["x"], target["y"])
    assert page.url.rstrip("/").upper().endswith(f"/P/{target['plate']}".upper())
    assert page.get_by_text(target["plate"][:6]).first.is_visible()


def test_category_filter_and_near_me(live_server, browser, artifact):
    service = db.session.execute(select(ServicePoint.geom, ServicePoint.category).where(
        ServicePoint.category == "elderly_care").limit(1)).one()
    page, _ = _open_map(browser, live_server, geolocation={"longitude": service.geom.x,
                                                           "latitude": service.geom.y},
                        permissions=["geolocation"])
    page.select_option("#category", "elderly_care")
    page.evaluate("() => new Promise(done => window.plateMap.once('idle', done))")
    shown = _rendered(page, "services")
    assert shown and {s["properties"]["category"] for s in shown} == {"elderly_care"}

    page.click("#near-me")
    page.wait_for_selector("#near-me-results li", timeout=RENDER_TIMEOUT_MS)
    items = page.locator("#near-me-results li").all_inner_texts()
    assert 1 <= len(items) <= 5 and items[0].endswith(" m")  # the point we stand on comes first
    page.screenshot(path=artifact("map-near-me"))
