"""The web map in a real browser: the basemap's labels render (road, place and door names, Chinese from
the device's font, digits from the built glyphs) on a phone and a desktop, tiles render plates and
services, a plate opens its page, the category filter and "near me" work, and nothing is fetched
from another host."""

from pathlib import Path

import pytest
from sqlalchemy import select

from platesvc import labels
from platesvc.maps.style import LABEL_LAYERS
from platesvc.store.database import db
from platesvc.store.models import Building, ServicePoint

pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1000, "height": 800}
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1366, "height": 768}}
RENDER_TIMEOUT_MS = 60_000
AXE = Path(__file__).parents[3] / "node_modules" / "axe-core" / "axe.min.js"  # WebGL runs on the CPU (SwiftShader) here


def _open_map(browser, live_server, viewport=DESKTOP, **context):
    # CSP bypassed for axe-core's own script only
    page = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True, **context).new_page()
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
    assert any("/tiles/map/" in url for url in requested)
    assert not any("/tiles/plates/" in url for url in requested)  # one request a tile, all layers in it

    # Click a rendered plate where it is drawn, one away from any service point (a tap there opens the service).
    target = page.evaluate("""() => {
        const map = window.plateMap;
        const services = map.queryRenderedFeatures({layers: ['services']})
            .map(s => map.project(s.geometry.coordinates));
        const feature = map.queryRenderedFeatures({layers: ['plates']}).find(f => {
            const p = map.project(f.geometry.coordinates);
            return services.every(s => Math.hypot(s.x - p.x, s.y - p.y) > 30);
        });
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
    # Each is a link to the service's page, with walking routes from where we stand.
    first = page.locator("#near-me-results li a").first
    assert "from=" in first.get_attribute("href")
    with page.expect_navigation():
        first.click()
    assert "/services/" in page.url and page.locator("h1").inner_text() == items[0].split(" · ")[0]
    assert page.locator("a[href^='tel:']").count() and page.locator("ul.buttons a").count() >= 2


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_tapped_service_opens_its_page_and_the_services_in_view_are_listed_as_links(
        live_server, browser, artifact, viewport):
    page, _ = _open_map(browser, live_server, VIEWPORTS[viewport])
    # The legend names every category as the plate page and the category menu do (labels.CATEGORIES, in
    # Chinese); the zoom buttons take a thumb.
    legend = {text.strip() for text in page.locator(".legend li").all_inner_texts()}
    categories = page.locator("#category option").all_inner_texts()[1:]
    assert len(categories) == len(labels.CATEGORIES) and set(categories) <= legend
    assert "养老服务中心" in legend
    for button in page.locator(".maplibregl-ctrl-group button").all():
        box = button.bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48
    # The text list: the services drawn, nearest the middle first, each a link a keyboard reaches.
    page.wait_for_selector("#in-view li a", timeout=RENDER_TIMEOUT_MS)
    listed = page.evaluate("""() => [...document.querySelectorAll('#in-view li a')].map(a => a.textContent)""")
    drawn = {s["properties"]["name"] for s in _rendered(page, "services")}
    assert listed and set(listed) <= drawn
    page.focus("#in-view li a")
    assert page.evaluate("document.activeElement.closest('#in-view') !== null")
    page.screenshot(path=artifact(f"map-in-view-{viewport}"))
    axe = AXE.read_text() if AXE.exists() else pytest.fail(f"{AXE} is missing: make install puts it there")
    page.add_script_tag(content=axe)
    violations = page.evaluate("""async () => (await axe.run({exclude: [['.maplibregl-canvas']]}))
        .violations.map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target).join(' '))""")
    assert not violations, violations
    # Tap a service point where it is drawn: its page opens.
    page.evaluate("() => document.getElementById('map').scrollIntoView()")
    target = page.evaluate("""() => {
        const map = window.plateMap;
        const box = map.getCanvas().getBoundingClientRect();
        const feature = map.queryRenderedFeatures({layers: ['services']}).find(f => {
            const p = map.project(f.geometry.coordinates);
            return p.x > 30 && p.y > 30 && p.x < box.width - 60 && p.y < box.height - 30;
        });
        const point = map.project(feature.geometry.coordinates);
        return {x: box.left + point.x, y: box.top + point.y, id: feature.id, name: feature.properties.name};
    }""")
    with page.expect_navigation():
        page.mouse.click(target["x"], target["y"])
    assert f"/services/{target['id']}" in page.url
    assert page.locator("h1").inner_text() == target["name"]
