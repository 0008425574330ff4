"""The plate page in a real browser: Debian's headless Chromium at a cheap phone's viewport.

Screenshots are kept in test-artifacts/ (or PLATESVC_TEST_ARTIFACTS) for people to look at.
"""


import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate

playwright_sync = pytest.importorskip("playwright.sync_api")

PHONE = {"width": 360, "height": 740}
PAGE_BUDGET = 50 * 1024


def _plate_with_officer(client) -> dict:
    for plate_id in db.session.scalars(select(Plate.id).order_by(Plate.id)):
        document = client.get(f"/api/v1/plates/{plate_id}").json
        if document["police"] and document["nearest"]["elderly_care"]:
            return document
    raise AssertionError("no plate in the demo city has an officer and an elderly-care point")


def test_a_resident_sees_address_officer_and_nearest_care_on_a_phone(live_server, client, browser, artifact):
    document = _plate_with_officer(client)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    requested, received = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("response", lambda r: received.append(len(r.body())))

    answer = page.goto(f"{live_server}/P/{document['id']}", wait_until="load")
    assert answer.status == 200
    assert page.get_by_text(document["address"]["full"]).is_visible()
    officer_call = page.locator(f'#police a[href="tel:{document["police"]["phone"]}"]')
    assert officer_call.is_visible()
    assert officer_call.bounding_box()["height"] >= 44  # a tap target an unsteady finger can hit
    nearest_care = document["nearest"]["elderly_care"][0]["name"]
    assert page.locator('article[data-category="elderly_care"]').first.get_by_text(nearest_care).is_visible()
    page.screenshot(path=artifact("plate-page"), full_page=True)

    assert requested and all(url.startswith(live_server + "/") for url in requested), requested
    assert sum(received) < PAGE_BUDGET, f"{sum(received)} bytes"

    # At twice the text size nothing runs off the side of a 360 px screen.
    page.evaluate("document.documentElement.style.fontSize = '225%'")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert officer_call.is_visible()
    page.screenshot(path=artifact("plate-page-200pct-text"), full_page=True)
    context.close()


def test_the_page_works_with_scripts_off_and_in_english(live_server, client, browser):
    document = _plate_with_officer(client)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/P/{document['id']}")
    assert page.get_by_role("heading", name="Community police officer").is_visible()
    assert page.get_by_text(document["address"]["full"]).is_visible()
    page.get_by_text("中文").click()
    assert page.get_by_role("heading", name="社区民警").is_visible()
    context.close()
