"""The staff pages as staff use them: signing in, finding a plate, moving it on, editing what
residents see, uploading an import and printing a batch in the background."""

import io
import re
import time
import zipfile

import pytest
from sqlalchemy import func, select

from platesvc import spreadsheets
from platesvc.registry.audit import SYSTEM
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import (
    AssistanceOffice,
    AuditEvent,
    Building,
    BuildingNearest,
    BuildingStatus,
    CultureNote,
    Division,
    DivisionLevel,
    Officer,
    Plate,
    PlateStatus,
    Road,
    Role,
    ServicePoint,
    StaffJob,
)
from platesvc.web.staff.api import BULK_API_MAX_PLATES
from tests.conftest import STAFF_PASSWORD, csrf_token

JOB_SECONDS = 180


def _plate() -> Plate:
    return db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()


def _finished(client, location: str) -> str:
    """The job page once the job has finished (it runs in a process of its own)."""
    deadline = time.monotonic() + JOB_SECONDS
    while time.monotonic() < deadline:
        page = client.get(location)
        if 'http-equiv="refresh"' not in page.text:
            return page.text
        time.sleep(0.5)
    raise AssertionError(f"the job at {location} did not finish in {JOB_SECONDS} s:\n{page.text}")


def test_signing_in_and_out(app, staff):
    client = app.test_client()
    form = client.get("/staff/sign-in")
    token = csrf_token(form.text)
    wrong = client.post("/staff/sign-in", data={"username": "admin-user", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码不对" in wrong.text
    forged = client.post("/staff/sign-in", data={"username": "admin-user", "password": STAFF_PASSWORD})
    assert forged.status_code == 400  # no CSRF token
    elsewhere = client.post("/staff/sign-in", data={"username": "admin-user", "password": STAFF_PASSWORD,
                                                    "csrf_token": token, "next": "https://evil.example/"})
    assert elsewhere.status_code == 303 and elsewhere.headers["Location"] == "/staff/"
    cookie = elsewhere.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie  # the service is HTTPS
    home = client.get("/staff/")
    assert home.status_code == 200 and "管理员" in home.text
    copied = app.test_client()  # the cookie, copied before sign-out (a shared computer, a stolen laptop)
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/staff/").status_code == 200
    client.post("/staff/sign-out", data={"csrf_token": csrf_token(home.text)})
    assert client.get("/staff/").status_code == 401
    assert copied.get("/staff/").status_code == 401  # ended on the server, not only in this browser


def test_a_session_form_without_its_csrf_token_is_refused(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    plate = _plate()
    assert client.post(f"/staff/plates/{plate.id}/status", data={"status": "printed"}).status_code == 400
    assert client.post(f"/staff/plates/{plate.id}/status", data={"status": "printed", "csrf_token": "forged"}
                       ).status_code == 400
    assert client.post(f"/staff/plates/{plate.id}/status", data={"status": "printed", "csrf_token": csrf}
                       ).status_code == 303


def test_a_new_password_ends_every_session(app, signed_in, staff):
    phone, _ = signed_in(Role.VIEWER)
    laptop, csrf = signed_in(Role.VIEWER)
    changed = laptop.post("/staff/password", data={"csrf_token": csrf, "current": STAFF_PASSWORD,
                                                   "password": "a brand new password"})
    assert changed.status_code == 303
    assert phone.get("/staff/").status_code == 401 and laptop.get("/staff/").status_code == 401


def test_switching_a_user_off_ends_their_sessions_and_suspends_their_tokens(app, signed_in, staff):
    """Switched off: every session ends and every token stops; switched on again, the tokens work (until they
    expire), the sessions stay ended."""
    phone, _ = signed_in(Role.OPERATOR)
    secret = accounts.create_token(db.session, SYSTEM, staff[Role.OPERATOR], "installer app", 30, 365).secret
    db.session.commit()
    token = {"Authorization": f"Bearer {secret}"}
    assert phone.get("/staff/").status_code == 200 and phone.get("/api/v1/staff/reports", headers=token).status_code \
        == 200
    admin, csrf = signed_in(Role.ADMIN)
    user_id = staff[Role.OPERATOR].id
    off = admin.post(f"/staff/users/{user_id}", data={"csrf_token": csrf, "active": "0"})
    assert off.status_code == 303
    assert phone.get("/staff/").status_code == 401 and phone.get("/api/v1/staff/reports", headers=token).status_code \
        == 401
    admin.post(f"/staff/users/{user_id}", data={"csrf_token": csrf, "active": "1"})
    assert phone.get("/api/v1/staff/reports", headers=token).status_code == 200  # suspended, not revoked
    assert phone.get("/staff/").status_code == 401  # the session stays ended


def test_finding_a_plate_by_id_or_address_and_moving_it_on(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    road = db.session.execute(select(Road.name).join(Building, Building.road_id == Road.id).group_by(Road.name)
                              .order_by(func.count().desc()).limit(1)).scalar()
    plate, number = db.session.execute(select(Plate, Building.number).join(Building).join(Road)
                                       .where(Road.name == road).order_by(Plate.id).limit(1)).one()
    by_id = client.get(f"/staff/plates?q={parse_plate_id(plate.id).display.lower()}")
    assert by_id.status_code == 302 and by_id.headers["Location"].endswith(f"/staff/plates/{plate.id}")
    by_address = client.get(f"/staff/plates?q={road} {number}号")  # one match opens it
    assert by_address.headers["Location"] == by_id.headers["Location"]
    by_road = client.get(f"/staff/plates?q={road}")
    assert parse_plate_id(plate.id).display in by_road.text and "找到" in by_road.text
    page = client.get(f"/staff/plates/{plate.id}")
    assert "签发" in page.text and 'value="printed"' in page.text and 'value="installed"' not in page.text
    refused = client.post(f"/staff/plates/{plate.id}/status", data={"status": "installed", "csrf_token": csrf})
    assert refused.status_code == 409 and "只能变为已印制、已停用" in refused.text
    client.post(f"/staff/plates/{plate.id}/status", data={"status": "printed", "csrf_token": csrf})
    client.post(f"/staff/plates/{plate.id}/status", data={"status": "installed", "csrf_token": csrf})
    page = client.get(f"/staff/plates/{plate.id}")
    assert "installed" in page.text and "operator-user" in page.text and "mounted on the building" in page.text


def test_a_mistyped_id_or_address_in_staff_search_lists_the_candidates(issued_app, signed_in):
    client, _ = signed_in(Role.VIEWER)
    plate, number, road, pinyin = db.session.execute(select(Plate.id, Building.number, Road.name, Road.pinyin)
                                                     .join(Building, Building.id == Plate.building_id)
                                                     .join(Road, Road.id == Building.road_id)
                                                     .order_by(Plate.id).limit(1)).one()
    display = parse_plate_id(plate).display
    at = next(i for i in range(6, 11) if plate[i] != plate[i + 1])
    slipped = plate[:at] + plate[at + 1] + plate[at] + plate[at + 2:]  # two neighbours swapped
    listed = client.get("/staff/plates", query_string={"q": slipped})
    assert listed.status_code == 200 and display in listed.text
    by_pinyin = client.get("/staff/plates", query_string={"q": f"{pinyin} {number}"})  # one exact match opens it
    assert by_pinyin.status_code == 302 and by_pinyin.headers["Location"].endswith(f"/staff/plates/{plate}")


def test_marking_plates_installed_from_an_uploaded_list(issued_app, signed_in, job_worker):
    client, csrf = signed_in(Role.OPERATOR)
    plates = db.session.scalars(select(Plate).order_by(Plate.id).limit(3)).all()
    for plate in plates[:2]:
        plate.status = PlateStatus.PRINTED
    db.session.commit()
    listing = f"plate_id\n{plates[0].id}\n{parse_plate_id(plates[1].id).display}\n{plates[2].id}\nnonsense\n"
    answer = client.post("/staff/plates/bulk", data={
        "csrf_token": csrf, "status": "installed",
        "file": (io.BytesIO(listing.encode("gbk")), "安装清单.csv")}, content_type="multipart/form-data")
    assert answer.status_code == 303
    page = _finished(client, answer.headers["Location"])
    assert "已将 2 块门牌标记为“已安装”；0 块原本就是；2 行未处理。" in page
    refusals = client.get(re.search(r'href="([^"]+/rows.csv)"', page).group(1))
    written = refusals.data.decode("utf-8-sig")
    assert "nonsense" in written and "只能变为已印制、已停用" in written and written.startswith("行号,")
    english = client.get(re.search(r'href="([^"]+/rows.xlsx)"', page).group(1) + "?lang=en")
    assert english.status_code == 200 and english.mimetype == spreadsheets.FORMATS["xlsx"]
    db.session.rollback()
    assert db.session.get(Plate, plates[1].id).status == PlateStatus.INSTALLED
    assert "listed in 安装清单.csv" in client.get(f"/staff/plates/{plates[1].id}").text


def test_a_list_that_cannot_mark_is_refused_before_it_is_queued(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    for status, said in (("retired", "请逐块停用门牌"), ("printed", "批量清单只能"), ("damaged", "请说明门牌为什么")):
        answer = client.post("/staff/plates/bulk", data={
            "csrf_token": csrf, "status": status, "file": (io.BytesIO(b"plate_id\nx\n"), "list.csv")},
            content_type="multipart/form-data")
        assert answer.status_code == 422 and said in answer.text, status
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffJob)) == 0


def test_installed_plates_nobody_scans_are_listed_for_a_check_on_site(issued_app, signed_in):
    client, _ = signed_in(Role.VIEWER)
    scanned, quiet = db.session.scalars(select(Plate).order_by(Plate.id).limit(2)).all()
    scanned.status = quiet.status = PlateStatus.INSTALLED
    db.session.commit()
    assert issued_app.test_client().get(f"/P/{scanned.id}").status_code == 200  # a resident scans one
    listing = client.get("/staff/quiet-plates.csv?days=7")
    assert listing.status_code == 200 and listing.mimetype == "text/csv"
    rows = listing.text.removeprefix("\ufeff").splitlines()  # a BOM, so that Excel reads it as UTF-8
    assert rows[0] == "门牌编号,门牌编号（印制格式）,标准地址,区县,社区"  # the IDs first: it can be uploaded to mark
    assert [row.split(",")[0] for row in rows[1:]] == [quiet.id]
    refused = client.get("/staff/quiet-plates.csv?days=soon")
    assert refused.status_code == 400 and "days" in refused.text


def test_moving_a_service_point_recomputes_the_links_it_affects(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    plate = _plate()
    building = plate.building
    far = db.session.scalars(select(ServicePoint).where(
        ServicePoint.category == "meal_point", ~ServicePoint.id.in_(select(BuildingNearest.service_point_id).where(
            BuildingNearest.building_id == building.id)))).first()
    moved = client.post(f"/staff/services/{far.id}", data={
        "csrf_token": csrf, "name": "新开的助餐点", "category": "meal_point", "phone": "0951-6000000",
        "hours": "11:00-13:00", "longitude": str(building.point.x + 0.00005), "latitude": str(building.point.y)})
    assert moved.status_code == 303
    nearest = issued_app.test_client().get(f"/api/v1/plates/{plate.id}").json["nearest"]["meal_point"][0]
    assert (nearest["id"], nearest["name"]) == (far.id, "新开的助餐点") and nearest["distance_m"] < 10
    outside = client.post(f"/staff/services/{far.id}", data={
        "csrf_token": csrf, "name": "x", "category": "meal_point", "longitude": "116.4", "latitude": "39.9"})
    assert outside.status_code == 422 and "不在本市任何区县内" in outside.text


def test_editing_an_officer_and_a_note_shows_on_the_next_scan(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    plate = next(p for p in db.session.scalars(select(Plate).order_by(Plate.id).limit(50))
                 if p.building.road_id and db.session.scalar(select(CultureNote.id).where(
                     CultureNote.road_id == p.building.road_id)))
    resident = issued_app.test_client()
    before = resident.get(f"/P/{plate.id}")
    police = resident.get(f"/api/v1/plates/{plate.id}").json["police"]
    officer = db.session.scalar(select(Officer).where(Officer.name == police["officer"]))
    assert client.post(f"/staff/officers/{officer.id}", data={"csrf_token": csrf, "name": "马新警",
                                                             "phone": "0951-1234567"}).status_code == 303
    bad = client.post(f"/staff/officers/{officer.id}", data={"csrf_token": csrf, "name": "马新警",
                                                            "phone": "call me"})
    assert bad.status_code == 422 and "电话 call me" in bad.text
    note = db.session.scalar(select(CultureNote).where(CultureNote.road_id == plate.building.road_id))
    client.post(f"/staff/culture/{note.id}", data={"csrf_token": csrf, "title": "新的标题", "body": "新的内容"})
    after = resident.get(f"/P/{plate.id}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "马新警" in after.text and 'href="tel:0951-1234567"' in after.text
    assert "新的标题" in after.text


def test_staff_set_a_subdistricts_assistance_window_and_a_districts_hotline_as_residents_then_see_them(
        issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    plate, elsewhere = _plate(), db.session.scalars(select(Plate).order_by(Plate.id.desc()).limit(1)).one()
    building = plate.building
    subdistrict, district = building.community.parent, db.session.scalar(
        select(Division).where(Division.code == building.division_code))
    listed = client.get("/staff/assistance?q=" + subdistrict.name)
    assert listed.status_code == 200 and subdistrict.name in listed.text
    resident = issued_app.test_client()
    before = resident.get(f"/P/{plate.id}")

    # Placed at a building by its plate (staff know that, not coordinates); its address comes with it.
    saved = client.post(f"/staff/assistance/{subdistrict.id}", data={
        "csrf_token": csrf, "window_name": "测试街道便民服务中心", "window_address": "",
        "window_hours": "工作日 9:00-17:00", "window_phone": "0951-6100000",
        "plate": parse_plate_id(elsewhere.id).display, "hotline": ""})
    assert saved.status_code == 303
    assert client.post(f"/staff/assistance/{district.id}", data={
        "csrf_token": csrf, "hotline": "0951-6200000"}).status_code == 303
    office = db.session.get(AssistanceOffice, subdistrict.id)
    assert office.window_point.distance(elsewhere.building.point) < 1e-5 and office.window_address
    form = client.get(f"/staff/assistance/{subdistrict.id}")
    assert form.status_code == 200 and 'value="测试街道便民服务中心"' in form.text
    assert office.window_address in form.text
    assert "测试街道便民服务中心" in client.get("/staff/assistance").text
    shown = resident.get(f"/api/v1/plates/{plate.id}").json["assistance"]
    assert shown["window"]["name"] == "测试街道便民服务中心" and shown["hotline"] == "0951-6200000"
    assert shown["window"]["address"] == office.window_address and shown["app"]["name"] == "宁夏救助通"
    route = resident.get(f"/P/{plate.id}/assistance")
    assert route.status_code == 200 and "mode=walk" in route.text and "测试街道便民服务中心" in route.text
    page = resident.get(f"/P/{plate.id}", headers={"If-None-Match": before.headers["ETag"]})
    assert page.status_code == 200 and "测试街道便民服务中心" in page.text and 'href="tel:0951-6200000"' in page.text
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assistance.edited")).all()
    assert {event.subject_id for event in events} == {subdistrict.code, district.code}

    # Refused, each with its reason, and nothing changed by the refusal.
    for form, reason in (({"window_phone": "call me", "window_name": "x"}, "phone"),
                         ({"window_address": "somewhere"}, "name"),
                         ({"window_name": "x", "longitude": "106.3"}, "latitude"),
                         ({"window_name": "x", "longitude": "116.4", "latitude": "39.9"}, "outside every district"),
                         ({"window_name": "x", "plate": "640104-00000-0"}, "plate")):
        refused = client.post(f"/staff/assistance/{subdistrict.id}?lang=en", data={"csrf_token": csrf, **form})
        assert refused.status_code in (400, 404, 422) and reason in refused.text, (form, refused.text[:300])
    community = db.session.scalar(select(Division).where(Division.level == DivisionLevel.COMMUNITY))
    assert client.post(f"/staff/assistance/{community.id}", data={"csrf_token": csrf, "hotline": "12345"}
                       ).status_code == 422
    db.session.expire_all()
    assert db.session.get(AssistanceOffice, subdistrict.id).window_name == "测试街道便民服务中心"

    # Emptied, the district's window stands in, and with none there, the city's hotline.
    client.post(f"/staff/assistance/{subdistrict.id}", data={"csrf_token": csrf})
    client.post(f"/staff/assistance/{district.id}", data={"csrf_token": csrf, "window_name": "区民政局救助科"})
    shown = resident.get(f"/api/v1/plates/{plate.id}").json["assistance"]
    assert shown["window"]["name"] == "区民政局救助科" and shown["window"]["navigation"] is None
    assert resident.get(f"/P/{plate.id}/assistance").status_code == 404  # a window with no place has no route
    client.post(f"/staff/assistance/{district.id}", data={"csrf_token": csrf})
    shown = resident.get(f"/api/v1/plates/{plate.id}").json["assistance"]
    assert shown["window"] is None and shown["hotline"] == issued_app.config["ASSISTANCE_HOTLINE"]
    assert "窗口地址可拨打" in resident.get(f"/P/{plate.id}").text
    viewer, _ = signed_in(Role.VIEWER)
    assert viewer.post(f"/staff/assistance/{district.id}", data={"hotline": "1"}).status_code == 403


def test_an_import_is_checked_first_then_imported_as_checked(seeded_app, signed_in, job_worker, check_an_import):
    client, csrf = signed_in(Role.OPERATOR)
    rows = ("编号,名称,类别,电话,开放时间,经度,纬度\n"
            "WEB-1,凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,106.28,38.47\n"
            "WEB-2,无名点,火箭发射场,,,106.28,38.47\n")
    check, preview = check_an_import(client, csrf, "services", (io.BytesIO(rows.encode("gbk")), "服务点.csv"))
    assert "凤凰助餐点" in preview and "GBK" in preview  # the first rows, read as what they are
    assert re.search(r'<select id="field-category" name="field\.category">\s*<option value="">（文件中没有）</option>',
                     preview)
    assert "<option selected>类别</option>" in preview  # matched by the column's Chinese name
    page = _finished(client, check)
    assert "导入将带来的变化" in page and "只检查：没有写入任何内容。" in page
    db.session.rollback()
    assert db.session.scalar(select(ServicePoint.id).where(ServicePoint.source_id == "WEB-1")) is None
    started = client.post(f"{check}/import", data={"csrf_token": csrf})
    assert started.status_code == 303 and started.headers["Location"] != check
    page = _finished(client, started.headers["Location"])
    assert "服务点.csv 中的服务点：共读取 2 行；新增 1，更新 0，未导入 1。" in page
    assert "完成：已保存。" in page and "返回全部任务" in page
    report = client.get(re.search(r'href="([^"]+/rows.csv)"', page).group(1))
    assert report.status_code == 200 and "3,WEB-2" in report.data.decode("utf-8-sig")
    db.session.rollback()
    assert db.session.scalar(select(ServicePoint.name).where(ServicePoint.source_id == "WEB-1")) == "凤凰助餐点"
    assert client.post(f"{check}/import", data={"csrf_token": csrf}).status_code == 303  # a check imports again
    assert client.post(f"{started.headers['Location']}/import", data={"csrf_token": csrf}).status_code == 422


def test_an_import_that_would_retire_buildings_says_how_many_and_waits_for_a_yes(seeded_app, signed_in, job_worker,
                                                                                  check_an_import):
    client, csrf = signed_in(Role.OPERATOR)
    building = db.session.scalars(select(Building).where(Building.status == BuildingStatus.ACTIVE)
                                  .order_by(Building.id).limit(1)).one()
    stored = db.session.scalar(select(func.count()).select_from(Building).where(
        Building.status == BuildingStatus.ACTIVE))
    rows = (f"编号,路名,门牌号,经度,纬度\n"
            f"{building.source_id},{building.road.name},{building.number},{building.point.x},{building.point.y}\n")
    check, _ = check_an_import(client, csrf, "buildings", (io.BytesIO(rows.encode()), "楼.csv"), retire_missing="1")
    page = _finished(client, check)
    would_retire = f"{stored - 1:,}"
    assert f"确认：停用文件中没有的 {would_retire} 栋已存建筑及其门牌" in page
    refused = client.post(f"{check}/import", data={"csrf_token": csrf})
    assert refused.status_code == 422 and "勾选" in refused.text
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffJob)) == 1  # nothing started


def test_an_upload_with_nothing_importable_is_refused_at_once(seeded_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("readme.txt.doc", "nothing here")
    answer = client.post("/staff/imports", data={"csrf_token": csrf, "kind": "buildings",
                                                  "files": (io.BytesIO(bundle.getvalue()), "data.zip")},
                         content_type="multipart/form-data")
    assert answer.status_code == 422 and "请上传一个 Shapefile" in answer.text
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffJob)) == 0


def test_a_print_of_every_plate_needs_its_own_choice(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    empty = client.post("/staff/prints", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "印制全部门牌" in empty.text
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffJob)) == 0
    assert 'name="everything"' in client.get("/staff/prints/new").text


def test_the_print_form_counts_the_plates_and_catches_a_misspelt_road(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    road, plates = db.session.execute(
        select(Road.name, func.count()).join(Building, Building.road_id == Road.id).join(Plate)
        .where(Plate.status == PlateStatus.ISSUED).group_by(Road.name).order_by(func.count().desc()).limit(1)).one()
    picked = client.get("/staff/roads", query_string={"q": road[1:3]}).json
    assert road in picked and len(picked) <= 20 and all(road[1:3] in name for name in picked)
    counted = client.post("/staff/prints", data={"csrf_token": csrf, "road": road, "status": "issued",
                                                 "action": "count"})
    assert counted.status_code == 200 and f"按此选择将印制的门牌：{plates:,} 块" in counted.text
    assert f'value="{road}"' in counted.text  # the choice stays on the form
    misspelt = road[:-2] + "X" + road[-1]
    for action in ("count", "print"):
        refused = client.post("/staff/prints", data={"csrf_token": csrf, "road": misspelt, "action": action})
        assert refused.status_code == 422, action
        assert f"登记簿中没有名为 {misspelt} 的道路。您要找的是不是" in refused.text and road in refused.text
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffJob)) == 0


def test_a_print_batch_runs_in_the_background_and_its_zip_downloads(issued_app, signed_in, plate_font, job_worker):
    client, csrf = signed_in(Role.OPERATOR)
    road = db.session.execute(select(Road.name, func.count()).join(Building, Building.road_id == Road.id)
                              .group_by(Road.name).order_by(func.count(), Road.name).limit(1)).first()[0]
    started = client.post("/staff/prints", data={"csrf_token": csrf, "road": road, "status": "issued",
                                                 "format": ["pdf", "csv"]})
    assert started.status_code == 303
    page = _finished(client, started.headers["Location"])
    assert "已编号的门牌变为已印制" in page
    link = re.search(r'href="([^"]+/files/[^"]+\.zip)"', page).group(1)
    archive = zipfile.ZipFile(io.BytesIO(client.get(link).data))
    assert any(name.endswith("manifest.csv") for name in archive.namelist())
    db.session.rollback()
    printed = db.session.scalars(select(Plate.status).join(Building).join(Road).where(Road.name == road)).all()
    assert printed and set(printed) == {PlateStatus.PRINTED}


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_an_api_token_is_shown_once_and_works_with_its_owners_role(app, signed_in, role):
    client, csrf = signed_in(role)
    made = client.post("/staff/tokens", data={"csrf_token": csrf, "name": "my script", "days": "30"})
    secret = re.search(r'<code class="token">([^<]+)</code>', made.text).group(1)
    assert made.headers["Cache-Control"] == "no-store"
    assert secret not in client.get("/staff/tokens").text
    assert app.test_client().get("/api/v1/staff/me", headers={"Authorization": f"Bearer {secret}"}).json[
        "role"] == role


@pytest.mark.parametrize("days", ["²", "1.5", "0", "soon"])
def test_a_token_life_that_is_no_whole_number_of_days_in_range_is_refused(app, signed_in, days):
    client, csrf = signed_in(Role.VIEWER)
    refused = client.post("/staff/tokens", data={"csrf_token": csrf, "name": "my script", "days": days})
    assert refused.status_code == 400 and "days" in refused.text


def test_an_admin_sees_every_token_also_right_after_making_one(app, signed_in):
    viewer, viewer_csrf = signed_in(Role.VIEWER)
    viewer.post("/staff/tokens", data={"csrf_token": viewer_csrf, "name": "viewer script"})
    admin, csrf = signed_in(Role.ADMIN)
    assert "viewer script" in admin.get("/staff/tokens").text
    assert "viewer script" in admin.post("/staff/tokens", data={"csrf_token": csrf, "name": "admin script"}).text


def test_admins_create_users_and_others_cannot(app, signed_in):
    admin, csrf = signed_in(Role.ADMIN)
    made = admin.post("/staff/users", data={"csrf_token": csrf, "username": "newbie", "role": "viewer",
                                            "password": "a long enough password"})
    assert made.status_code == 303 and "newbie" in admin.get("/staff/users").text
    operator, csrf = signed_in(Role.OPERATOR)
    assert operator.post("/staff/users", data={"csrf_token": csrf, "username": "sneaky", "role": "admin",
                                               "password": "a long enough password"}).status_code == 403


def test_the_status_api_marks_at_most_its_limit_a_request_and_only_what_a_list_may(issued_app, tokens):
    client = issued_app.test_client()
    headers = {"Authorization": f"Bearer {tokens[Role.OPERATOR]}"}
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    too_many = client.post("/api/v1/staff/plates/status", headers=headers,
                           json={"status": "installed", "plates": [plate_id] * (BULK_API_MAX_PLATES + 1)})
    assert too_many.status_code == 400 and "plates" in too_many.text
    printed = client.post("/api/v1/staff/plates/status", headers=headers, json={"status": "printed",
                                                                               "plates": [plate_id]})
    assert printed.status_code == 400 and "status" in printed.text  # printing prints; a list does not
    db.session.rollback()
    assert db.session.get(Plate, plate_id).status == PlateStatus.ISSUED
