"""The plate page in a real browser: Debian's headless Chromium at a cheap phone's viewport.

Screenshots are kept in test-artifacts/ (or PLATESVC_TEST_ARTIFACTS) for people to look at.
"""


import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from platesvc.registry.audit import RESIDENT, SYSTEM
from platesvc.registry.lifecycle import retire_building
from platesvc.staff import reports
from platesvc.store.database import db
from platesvc.store.models import Plate

playwright_sync = pytest.importorskip("playwright.sync_api")

PHONE = {"width": 360, "height": 740}
PAGE_BUDGET = 50 * 1024
AXE = Path(__file__).parents[4] / "node_modules" / "axe-core" / "axe.min.js"


def _plate_with_officer(client) -> dict:
    for plate_id in db.session.scalars(select(Plate.id).order_by(Plate.id)):
        document = client.get(f"/api/v1/plates/{plate_id}").json
        if document["police"] and document["nearest"]["elderly_care"]:
            return document
    raise AssertionError("no plate in the demo city has an officer and an elderly-care point")


def _bottom(locator) -> float:
    box = locator.bounding_box()
    return box["y"] + box["height"]


def test_a_resident_sees_address_officer_and_nearest_care_on_the_first_screen(live_server, client, browser,
                                                                               artifact):
    document = _plate_with_officer(client)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    requested, received = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("response", lambda r: received.append(len(r.body())))

    answer = page.goto(f"{live_server}/P/{document['id']}", wait_until="load")
    assert answer.status == 200
    assert page.get_by_text(document["address"]["full"]).is_visible()
    officer_call = page.locator(f'.first a[href="tel:{document["police"]["phone"]}"]')
    nearest_care = document["nearest"]["elderly_care"][0]
    care_call = page.locator(f'.nearest-care a[href="tel:{nearest_care["phone"]}"]')
    assert page.locator(".nearest-care").get_by_text(nearest_care["name"]).first.is_visible()
    for key in (officer_call, care_call, page.locator(".first .help"), page.locator(".first summary")):
        assert key.is_visible() and _bottom(key) <= PHONE["height"]  # all on the first screen
        assert key.bounding_box()["height"] >= 48  # a tap target an unsteady finger can hit
    assert page.evaluate("document.documentElement.scrollHeight") <= 2.5 * PHONE["height"]
    padding = page.evaluate("getComputedStyle(document.querySelector('main')).paddingLeft")
    page.screenshot(path=artifact("plate-page"), full_page=True)

    assert requested and all(url.startswith(live_server + "/") for url in requested), requested
    assert sum(received) < PAGE_BUDGET, f"{sum(received)} bytes"

    # At twice the text size nothing runs off the side, the side padding stays, and the two calls are
    # within the first two screens.
    page.evaluate("document.documentElement.style.fontSize = '225%'")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("getComputedStyle(document.querySelector('main')).paddingLeft") == padding
    assert _bottom(officer_call) <= 2 * PHONE["height"] and _bottom(care_call) <= 2 * PHONE["height"]
    page.screenshot(path=artifact("plate-page-200pct-text"), full_page=True)
    context.close()


def test_care_mode_has_large_text_and_taps_and_is_remembered_without_scripts(live_server, client, browser,
                                                                             artifact):
    document = _plate_with_officer(client)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/P/{document['id']}")
    page.get_by_role("link", name="长辈版").first.click()
    page.wait_for_url("**care=1**")
    sizes = page.evaluate("""() => {
        const px = (element, property) => parseFloat(getComputedStyle(element)[property]);
        const body = document.body;
        return {text: px(body, "fontSize"), line: px(body, "lineHeight") / px(body, "fontSize"),
                headings: [...document.querySelectorAll("h1, h2")].map(h => px(h, "fontSize")),
                taps: [...document.querySelectorAll("a.button, summary, a.mode, a.language")]
                    .filter(e => e.offsetParent !== null)
                    .map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])};
    }""")
    assert sizes["text"] >= 24 and sizes["line"] >= 1.3
    assert min(sizes["headings"]) >= 40
    assert sizes["taps"] and all(width >= 60 and height >= 60 for width, height in sizes["taps"]), sizes["taps"]
    assert not page.locator("#culture").count()  # the fewest items
    page.screenshot(path=artifact("plate-page-care"), full_page=True)
    page.goto(f"{live_server}/P/{document['id']}")  # remembered in a cookie
    assert page.evaluate("document.documentElement.classList.contains('care')")
    page.get_by_role("link", name="标准版").first.click()
    page.wait_for_url("**care=0**")
    assert not page.evaluate("document.documentElement.classList.contains('care')")
    context.close()


def test_read_aloud_shows_where_the_browser_can_speak_and_stays_hidden_without_scripts(live_server, client,
                                                                                       browser):
    document = _plate_with_officer(client)
    for scripts in (True, False):
        context = browser.new_context(viewport=PHONE, java_script_enabled=scripts, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_server}/P/{document['id']}", wait_until="load")
        button = page.locator("#read-aloud")
        spoken = button.get_attribute("data-text")
        assert document["address"]["full"] in spoken and document["police"]["officer"] in spoken
        speaks = scripts and page.evaluate("'speechSynthesis' in window")
        assert button.is_visible() == bool(speaks)
        context.close()


def test_every_resident_page_passes_axe_in_both_languages(live_server, client, browser):
    document = _plate_with_officer(client)
    plate_id, service = document["id"], document["nearest"]["elderly_care"][0]["id"]
    retired, successor = db.session.scalars(select(Plate).where(Plate.id != plate_id).order_by(Plate.id).limit(2))
    retire_building(db.session, retired.building, SYSTEM, "merged", successor.building)
    reported = reports.submit_report(db.session, RESIDENT, "plate_damaged", reports.Place(plate_id, None, None, None))
    db.session.commit()
    axe = AXE.read_text() if AXE.exists() else pytest.fail(f"{AXE} is missing: make install puts it there")
    # The report form, with an open report to add to; the look-up, listing what this browser sent.
    pages = [f"/P/{plate_id}", f"/P/{plate_id}?care=1", f"/P/{plate_id}?care=0", f"/P/{plate_id}/help",
             f"/P/{plate_id}/to/{service}", f"/P/{plate_id}/assistance", f"/P/{plate_id}/report", "/reports/",
             f"/reports/{reports.display_ticket(reported.ticket)}", f"/P/{plate_id[:-1]}0", f"/P/{retired.id}"]
    context = browser.new_context(viewport=PHONE, bypass_csp=True)  # for axe's own script only
    context.add_cookies([{"name": "my_reports", "value": f"{plate_id}.{reported.ticket}", "url": live_server}])
    page = context.new_page()
    found = {}
    for path, lang in itertools.product(pages, ("zh", "en")):
        answer = page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
        assert answer.status in (200, 404, 410), (path, answer.status)
        page.add_script_tag(content=axe)
        violations = page.evaluate("async () => (await axe.run()).violations.map(v => v.id + ': ' + v.help)")
        if violations:
            found[f"{path} ({lang})"] = violations
    context.close()
    assert not found, found


def test_the_page_works_with_scripts_off_and_in_english(live_server, client, browser):
    document = _plate_with_officer(client)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/P/{document['id']}")
    assert page.get_by_role("link", name="Call the community officer").is_visible()
    assert page.get_by_text(document["address"]["full"]).is_visible()
    with page.expect_navigation():  # is_visible does not wait, so the Chinese page must have loaded
        page.get_by_text("中文").click()
    assert page.get_by_role("link", name="拨打社区民警").is_visible()
    context.close()


@pytest.mark.parametrize("width", [320, 360])
def test_the_report_form_fits_a_small_screen_with_a_large_file_picker(live_server, client, browser, width):
    plate_id = _plate_with_officer(client)["id"]
    reports.submit_report(db.session, RESIDENT, "plate_missing", reports.Place(plate_id, None, None, None))
    db.session.commit()
    context = browser.new_context(viewport={"width": width, "height": 640}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/P/{plate_id}/report")
    assert page.get_by_text("已有人报告此门牌丢失，处理中").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    pickers = page.locator("input[type=file]")
    assert pickers.count() == 2  # one to add to the open report, one for a new one
    for index in range(pickers.count()):
        assert pickers.nth(index).bounding_box()["height"] >= 48
    for control in page.locator("button, .choice, textarea").all():
        box = control.bounding_box()
        assert box["height"] >= 48 and box["x"] >= 0 and box["x"] + box["width"] <= width
    context.close()


def test_a_photo_over_the_limit_is_caught_on_the_form_with_what_was_typed_kept(live_server, issued_app, browser):
    issued_app.config["REPORT_PHOTO_MAX_BYTES"] = 100_000
    plate_id = db.session.scalar(select(Plate.id).order_by(Plate.id).limit(1))
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    sent = []
    page.on("request", lambda r: sent.append(r.method))
    page.goto(f"{live_server}/P/{plate_id}/report", wait_until="load")
    page.get_by_label("门牌丢失").check()
    page.locator("#description").fill("门牌被风吹走了")
    page.locator("#photo").set_input_files({"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * 300_000})
    notice = page.get_by_role("alert")
    assert "照片大于 0.1 MB" in notice.inner_text()  # said as soon as it is chosen
    page.get_by_role("button", name="提交").click()
    page.wait_for_timeout(300)
    assert "POST" not in sent and page.url.endswith("/report")  # nothing was sent
    assert page.locator("#description").input_value() == "门牌被风吹走了"
    context.close()
