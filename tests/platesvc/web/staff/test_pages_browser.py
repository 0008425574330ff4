"""The staff pages in a real browser at an office screen's 1366 px: axe-core finds nothing, in either language, and no
table squeezes a short cell to a character a line. Screenshots are kept in test-artifacts/."""

import io
import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from platesvc.registry.audit import RESIDENT
from platesvc.staff import jobs, reports
from platesvc.store.database import db
from platesvc.store.models import JobStatus, Plate, PoliceBeat, Role, ServicePoint, StaffJob
from tests.conftest import STAFF_PASSWORD

playwright_sync = pytest.importorskip("playwright.sync_api")

OFFICE_SCREEN = {"width": 1366, "height": 768}
AXE = Path(__file__).parents[4] / "node_modules" / "axe-core" / "axe.min.js"
# The text of each table cell that is not long text (class "text") nor a form, by its lines: one is right.
SQUEEZED_CELLS = """() => [...document.querySelectorAll("td:not(.text), th")]
    .filter(cell => !cell.querySelector("form, input, select, textarea, button, br, ul"))
    .filter(cell => cell.textContent.trim())
    .map(cell => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        const lines = range.getBoundingClientRect().height / parseFloat(getComputedStyle(cell).lineHeight);
        return [cell.textContent.trim(), Math.round(lines)];
    })
    .filter(([text, lines]) => lines > 1)"""


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/staff/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/staff/")


def test_the_staff_pages_pass_axe_and_keep_short_cells_on_one_line_in_both_languages(
        live_server, issued_app, client, browser, staff, signed_in, artifact):
    operator, csrf = signed_in(Role.OPERATOR)
    plate_ids = db.session.scalars(select(Plate.id).order_by(Plate.id).limit(3)).all()
    reported = reports.submit_report(db.session, RESIDENT, "plate_damaged",
                                     reports.Place(plate_ids[0], None, None, None), description="门牌被撞歪了")
    db.session.commit()
    # Jobs that failed, each saying why at length: the jobs table once squeezed its other columns to a character
    # a line.
    for plate_id, error in zip(plate_ids, (jobs.DIED, jobs.UNTAKEN, jobs.UNQUEUED), strict=True):
        assert operator.post("/staff/prints", data={"csrf_token": csrf, "plates": plate_id}).status_code == 303
        db.session.rollback()
        job = db.session.scalars(select(StaffJob).order_by(StaffJob.id.desc()).limit(1)).one()
        job.status, job.error = JobStatus.FAILED, error.stored()
        db.session.commit()
    # An upload being previewed, and a check that would retire buildings: the guided import's pages.
    rows = "编号,名称,类别,电话,开放时间,经度,纬度\nW-1,凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,106.28,38.47\n"
    draft = jobs.save_draft(issued_app.config, staff[Role.ADMIN], [FileStorage(io.BytesIO(rows.encode("gbk")),
                                                                               "服务点.csv")])
    checked = StaffJob(kind="import", status=JobStatus.SUCCEEDED, folder="", created_by=staff[Role.OPERATOR],
                       params=json.dumps({"kind": "buildings", "dry_run": True, "retire_missing": True,
                                          "draft": draft.token}),
                       summary=json.dumps({"lines": [], "counts": {"read": 12_000, "imported": 3, "updated": 10_900,
                                                                   "refused": 1_097, "retired": 1_500,
                                                                   "missing": 1_500, "roads_created": 2}}))
    db.session.add(checked)
    db.session.commit()
    road = db.session.get(Plate, plate_ids[0]).building.road.name
    pages = ["/staff/", f"/staff/plates?q={road}", f"/staff/plates/{plate_ids[0]}", "/staff/reports",
             f"/staff/reports/{reports.display_ticket(reported.ticket)}", "/staff/users", "/staff/tokens",
             "/staff/jobs", f"/staff/jobs/{job.id}", "/staff/imports/new", "/staff/prints/new", "/staff/plates/bulk",
             "/staff/services", f"/staff/services/{db.session.scalars(select(ServicePoint.id).limit(1)).one()}",
             "/staff/beats", f"/staff/beats/{db.session.scalars(select(PoliceBeat.id).limit(1)).one()}",
             "/staff/assistance", "/staff/culture", "/staff/password", "/staff/map",
             f"/staff/imports/{draft.token}?kind=services", f"/staff/jobs/{checked.id}"]
    shown = {"/staff/": "dashboard", "/staff/jobs": "jobs", "/staff/users": "users", "/staff/map": "map",
             f"/staff/imports/{draft.token}?kind=services": "import-preview",
             f"/staff/jobs/{checked.id}": "import-check"}
    axe = AXE.read_text() if AXE.exists() else pytest.fail(f"{AXE} is missing: make install puts it there")
    context = browser.new_context(viewport=OFFICE_SCREEN, bypass_csp=True)  # for axe's own script only
    page = context.new_page()
    violations, squeezed, too_wide = {}, {}, {}
    for lang in ("zh", "en"):
        page.goto(f"{live_server}/staff/sign-in?lang={lang}")
        page.add_script_tag(content=axe)
        if found := page.evaluate("async () => (await axe.run()).violations.map(v => v.id + ': ' + v.help)"):
            violations[f"/staff/sign-in ({lang})"] = found
    _sign_in(page, live_server, staff[Role.ADMIN].username)
    for path, lang in itertools.product(pages, ("zh", "en")):
        answer = page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
        assert answer.status == 200, (path, answer.status)
        page.add_script_tag(content=axe)
        if found := page.evaluate("async () => (await axe.run()).violations.map(v => v.id + ': ' + v.help)"):
            violations[f"{path} ({lang})"] = found
        if cells := page.evaluate(SQUEEZED_CELLS):
            squeezed[f"{path} ({lang})"] = cells
        if (width := page.evaluate("document.documentElement.scrollWidth")) > OFFICE_SCREEN["width"]:
            too_wide[f"{path} ({lang})"] = width
        if path in shown:
            page.screenshot(path=artifact(f"staff-{shown[path]}-{lang}"), full_page=True)
    context.close()
    assert not violations, violations
    assert not squeezed, squeezed
    assert not too_wide, too_wide
