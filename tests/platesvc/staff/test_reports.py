"""Residents' reports: taken from the scan page and through Open311, kept without personal data,
worked through by staff, and followed by the resident with a ticket."""

import io
import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest
from PIL import Image
from sqlalchemy import func, inspect, select

from platesvc.errors import NotFoundError
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff import reports
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, Plate, ReportKind, ReportStatus, ResidentReport, Role


def _plate() -> Plate:
    return db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()


def _stored(ticket: str) -> ResidentReport:
    db.session.rollback()  # end the test's read, which SQLite would keep at the state before the request
    return reports.find_report(db.session, ticket)


def _photo_with_location() -> bytes:
    image = Image.new("RGB", (3000, 2000), "gray")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90°
    exif.get_ifd(0x8825)[2] = (38.0, 28.0, 0.0)  # GPS latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _report_from_the_page(client, plate_id: str, **form):
    page = client.get(f"/P/{plate_id}")
    link = re.search(r'href="([^"]*/report)\?lang=zh"', page.text).group(1)
    return client.post(link, data={"kind": "plate_damaged", **form}, content_type="multipart/form-data")


def test_a_resident_reports_from_the_plate_page_and_follows_it_by_ticket(issued_app, client):
    plate = _plate()
    form = client.get(f"/P/{plate.id}/report")
    assert form.status_code == 200 and "门牌损坏" in form.text and parse_plate_id(plate.id).display in form.text
    answer = _report_from_the_page(client, plate.id, description="二维码被涂掉了，我的电话 13900000000",
                                   photo=(io.BytesIO(_photo_with_location()), "IMG_0001.jpg"))
    assert answer.status_code == 303
    status = client.get(answer.headers["Location"])
    ticket = re.search(r'class="ticket">([^<]+)<', status.text).group(1)
    assert "已收到您的报告" in status.text and "已受理" in status.text
    assert "13900000000" not in status.text  # the resident's words are not shown to whoever has the ticket
    stored = _stored(ticket)
    assert (stored.plate_id, stored.kind, stored.source) == (plate.id, "plate_damaged", "page")
    assert stored.longitude is not None and stored.address.startswith("宁夏回族自治区银川市")
    photo = Image.open(io.BytesIO(reports.photo_of(db.session, stored)))
    assert photo.format == "JPEG" and max(photo.size) == reports.PHOTO_LONG_SIDE
    assert photo.size[0] < photo.size[1]  # turned upright by its orientation tag, which is then gone
    assert not photo.getexif()
    assert client.get(f"/reports/{ticket.lower().replace('-', '')}").status_code == 200
    assert client.get(f"/reports/?ref={ticket}").status_code == 302


def test_nothing_about_the_resident_is_kept():
    columns = {column.name for column in ResidentReport.__table__.columns}
    assert not columns & {"ip", "ip_address", "user_agent", "email", "phone", "name", "first_name", "device_id"}


@pytest.mark.parametrize("form, message", [
    ({"kind": "plate_stolen_by_aliens"}, "请从以下选择"),
    ({"kind": "plate_damaged", "description": "字" * 1001}, "最多 1,000 个"),
])
def test_a_bad_report_is_refused_with_the_form_and_its_reason(issued_app, client, form, message):
    answer = client.post(f"/P/{_plate().id}/report", data=form)
    assert answer.status_code == 422 and message in answer.text and 'name="kind"' in answer.text
    db.session.rollback()
    assert db.session.scalar(select(ResidentReport.id)) is None


def test_a_photo_that_is_not_a_picture_or_too_large_is_refused(issued_app, client):
    plate = _plate()
    fake = client.post(f"/P/{plate.id}/report", data={"kind": "plate_damaged",
                                                      "photo": (io.BytesIO(b"GIF89a nonsense"), "x.gif")})
    assert fake.status_code == 422 and "无法读取这张照片" in fake.text
    english = client.post(f"/P/{plate.id}/report?lang=en", data={"kind": "plate_damaged",
                                                                 "photo": (io.BytesIO(b"GIF89a"), "x.gif")})
    assert english.status_code == 422 and "cannot be read as a picture" in english.text
    issued_app.config["REPORT_PHOTO_MAX_BYTES"] = 100_000
    large = client.post(f"/P/{plate.id}/report", data={"kind": "plate_missing", "description": "门牌被风吹走了",
                                                       "photo": (io.BytesIO(b"\xff" * 300_000), "big.jpg")})
    assert large.status_code == 422 and "照片大于 0.1 MB" in large.text
    assert "门牌被风吹走了</textarea>" in large.text  # what was typed is kept
    assert 'value="plate_missing" required checked' in large.text
    huge = client.post(f"/P/{plate.id}/report", data={"kind": "plate_damaged",
                                                      "photo": (io.BytesIO(b"\xff" * 500_000), "big.jpg")},
                       headers={"Accept": "text/html"})
    assert huge.status_code == 413 and "提交的内容太大" in huge.text  # past what is read at all
    db.session.rollback()
    assert db.session.scalar(select(ResidentReport.id)) is None


def test_open311_lists_the_services_and_takes_a_request_with_an_api_key(issued_app, client, tokens):
    services = client.get("/open311/v2/services.json").json
    assert {s["service_code"] for s in services} == {"plate_damaged", "plate_missing", "plate_wrong", "info_wrong"}
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)
    plate = _plate()
    request = {"service_code": "plate_missing", "address_id": plate.id,
               "description": "门牌不见了", "email": "resident@example.com", "phone": "13900000000",
               "first_name": "张", "jurisdiction_id": "yinchuan.gov.cn"}
    assert client.post("/open311/v2/requests.json", data=request).status_code == 403
    wrong = client.post("/open311/v2/requests.json", data={**request, "api_key": "pst_wrong"})
    assert wrong.status_code == 403 and wrong.json[0]["code"] == 403
    made = client.post("/open311/v2/requests.json", data={**request, "api_key": tokens[Role.VIEWER]})
    assert made.status_code == 201, made.json
    ticket = made.json[0]["service_request_id"]
    stored = _stored(ticket)
    assert stored.plate_id == plate.id and stored.source == "open311:viewer-user"
    assert "resident@example.com" not in str([getattr(stored, c.key) for c in inspect(ResidentReport).attrs])

    public = client.get(f"/open311/v2/requests/{ticket}.json").json[0]
    assert public["status"] == "open" and public["address_id"] == plate.id  # as posted
    assert "description" not in public
    keyed = client.get(f"/open311/v2/requests/{ticket}.json?api_key={tokens[Role.VIEWER]}").json[0]
    assert keyed["description"] == "门牌不见了"
    listed = client.get("/open311/v2/requests.json?status=open&service_code=plate_missing").json
    assert [r["service_request_id"] for r in listed] == [ticket]
    assert client.get("/open311/v2/requests.json?status=closed").json == []


@pytest.mark.parametrize("request_data, parameter", [
    ({"service_code": "plate_lost"}, "service_code"),
    ({"service_code": "plate_damaged"}, "address_id"),
    ({"service_code": "plate_damaged", "lat": "91", "long": "106"}, "lat"),
    ({"service_code": "plate_damaged", "lat": "39.9", "long": "116.4"}, "lat"),  # Beijing: not this city
    ({"service_code": "plate_damaged", "address_id": "640104-00000-X"}, "address_id"),
    ({"service_code": "plate_damaged", "lat": "38.47"}, "long"),
    ({"service_code": "plate_damaged", "address_string": "x", "jurisdiction_id": "beijing"}, "jurisdiction_id"),
])
def test_open311_refuses_bad_requests_saying_what_is_wrong(issued_app, client, tokens, request_data, parameter):
    answer = client.post("/open311/v2/requests.json", data={**request_data, "api_key": tokens[Role.VIEWER]})
    assert answer.status_code == 400 and parameter in answer.json[0]["description"]


def test_open311_takes_a_place_without_a_plate(issued_app, client, tokens):
    point = _plate().building.point
    made = client.post("/open311/v2/requests.json", data={
        "service_code": "info_wrong", "lat": str(point.y), "long": str(point.x), "address_string": "光明巷口",
        "api_key": tokens[Role.OPERATOR]})
    assert made.status_code == 201
    assert client.get("/open311/v2/requests.json").json[0]["lat"] == pytest.approx(point.y)
    assert client.get("/open311/v2/requests.json?start_date=not-a-date").status_code == 400


def test_open311_takes_a_json_object_and_refuses_any_other_json(issued_app, client, tokens):
    point = _plate().building.point
    made = client.post("/open311/v2/requests.json", json={
        "service_code": "info_wrong", "lat": point.y, "long": point.x, "api_key": tokens[Role.OPERATOR]})
    assert made.status_code == 201, made.json
    assert client.post("/open311/v2/requests.json", json=["info_wrong"]).status_code == 400
    nested = client.post("/open311/v2/requests.json", json={
        "service_code": "info_wrong", "address_string": {"road": "光明巷"}, "api_key": tokens[Role.OPERATOR]})
    assert nested.status_code == 400 and "address_string" in nested.json[0]["description"]


def test_open311_speaks_xml_as_well_as_json_and_says_so_in_discovery(issued_app, client, tokens):
    plate = _plate()
    for format in ("json", "xml"):
        found = client.get(f"/open311/v2/discovery.{format}")
        assert found.status_code == 200
    endpoint = client.get("/open311/v2/discovery.json").json["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {"text/xml", "application/json"}
    discovery = ElementTree.fromstring(client.get("/open311/v2/discovery.xml").data)
    assert discovery.tag == "discovery" and discovery.find("endpoints/endpoint/url").text == endpoint["url"]

    services = client.get("/open311/v2/services.xml")
    assert services.mimetype == "text/xml"
    listed = ElementTree.fromstring(services.data)
    assert listed.tag == "services" and {s.findtext("service_code") for s in listed.findall("service")} == set(
        ReportKind)
    assert listed.find("service/metadata").text == "false"
    definition = ElementTree.fromstring(client.get("/open311/v2/services/plate_damaged.xml").data)
    assert definition.tag == "service_definition" and definition.find("attributes") is not None
    for format in ("json", "xml"):
        unknown = client.get(f"/open311/v2/services/plate_stolen.{format}")
        assert unknown.status_code == 404 and "plate_stolen" in unknown.text

    made = client.post("/open311/v2/requests.xml", data={"service_code": "plate_damaged", "address_id": plate.id,
                                                         "api_key": tokens[Role.VIEWER]})
    assert made.status_code == 201 and made.mimetype == "text/xml"
    ticket = ElementTree.fromstring(made.data).findtext("request/service_request_id")
    one = ElementTree.fromstring(client.get(f"/open311/v2/requests/{ticket}.xml").data)
    assert one.tag == "service_requests" and one.findtext("request/address_id") == plate.id
    assert one.find("request/expected_datetime").text is None  # null is an empty element
    refused = client.post("/open311/v2/requests.xml", data={"service_code": "plate_damaged"})
    assert refused.status_code == 403 and ElementTree.fromstring(refused.data).findtext("error/code") == "403"


def test_open311_dates_keep_their_offset_on_every_backend(issued_app, client, tokens):
    made = client.post("/open311/v2/requests.json", data={"service_code": "plate_damaged", "address_id": _plate().id,
                                                          "api_key": tokens[Role.VIEWER]})
    ticket = made.json[0]["service_request_id"]
    received = datetime.fromisoformat(client.get(f"/open311/v2/requests/{ticket}.json").json[0]["requested_datetime"])
    assert received.utcoffset() == timedelta(hours=8)  # told in the city's time

    def found(**dates) -> bool:
        listed = client.get("/open311/v2/requests.json", query_string=dates).json
        return ticket in [r["service_request_id"] for r in listed]

    for offset in (timedelta(hours=8), timedelta(0), timedelta(hours=-5)):
        at = received.astimezone(timezone(offset))
        assert found(start_date=(at - timedelta(minutes=1)).isoformat())
        assert not found(start_date=(at + timedelta(minutes=1)).isoformat()), offset
        assert found(end_date=(at + timedelta(minutes=1)).isoformat())
        assert not found(end_date=(at - timedelta(minutes=1)).isoformat()), offset


def test_staff_work_the_queue_and_the_resident_sees_the_answer(issued_app, signed_in, staff):
    resident = issued_app.test_client()
    answer = _report_from_the_page(resident, _plate().id, description="掉了一半")
    ticket = re.search(r"/reports/([^?]+)", answer.headers["Location"]).group(1)
    viewer, _ = signed_in(Role.VIEWER)
    assert ticket in viewer.get("/staff/reports").text
    assert viewer.post(f"/staff/reports/{ticket}", data={"status": "resolved"}).status_code == 403

    operator, csrf = signed_in(Role.OPERATOR)
    page = operator.get(f"/staff/reports/{ticket}")
    assert "掉了一半" in page.text
    assigned = operator.post(f"/staff/reports/{ticket}", data={"csrf_token": csrf, "assignee": "operator-user"})
    assert assigned.status_code == 303
    refused = operator.post(f"/staff/reports/{ticket}", data={"csrf_token": csrf, "status": "resolved"})
    assert refused.status_code == 422 and "关闭报告前" in refused.text
    done = operator.post(f"/staff/reports/{ticket}", data={"csrf_token": csrf, "status": "resolved",
                                                             "public_notes": "已于12月3日更换新门牌"})
    assert done.status_code == 303
    stored = _stored(ticket)
    assert stored.status == ReportStatus.RESOLVED and stored.assignee.username == "operator-user"
    seen = resident.get(f"/reports/{ticket}")
    assert "已处理完毕" in seen.text and "已于12月3日更换新门牌" in seen.text and "掉了一半" not in seen.text
    trail = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "report")
                               .order_by(AuditEvent.id)).all()
    assert trail == ["report.received", "report.assigned", "report.status", "report.answered", "report.status"]


def test_a_mistyped_ticket_is_not_found(issued_app, client):
    assert client.get("/reports/KX7M-2Q9D-4").status_code == 404
    with pytest.raises(NotFoundError, match="not a ticket number"):
        reports.parse_ticket("KX7M-2Q9D")
    ticket = reports.new_ticket()
    typo = ticket[:3] + ("7" if ticket[3] != "7" else "8") + ticket[4:]
    with pytest.raises(NotFoundError, match="not a ticket number"):
        reports.parse_ticket(typo)


def test_a_second_resident_adds_to_the_open_report_rather_than_filing_it_again(issued_app, signed_in):
    plate = _plate()
    first = issued_app.test_client()
    ticket = re.search(r"/reports/([^?]+)", _report_from_the_page(first, plate.id).headers["Location"]).group(1)

    second = issued_app.test_client()
    form = second.get(f"/P/{plate.id}/report")
    assert "已有人报告此门牌损坏，处理中" in form.text and f"/reports/{ticket}" in form.text
    add = re.search(r'action="([^"]*/report/[^"?]+)[^"]*"', form.text).group(1)
    added = second.post(add, data={"description": "我也看到了，右下角碎了",
                                   "photo": (io.BytesIO(_photo_with_location()), "IMG_0002.jpg")},
                        content_type="multipart/form-data")
    assert added.status_code == 303 and ticket in added.headers["Location"]
    assert "已补充到这份报告" in second.get(added.headers["Location"]).text
    assert second.post(add, data={"description": ""}).status_code == 303  # "I see it too", no words
    stored = _stored(ticket)
    assert [addition.description for addition in stored.additions] == ["我也看到了，右下角碎了", None]
    photo = Image.open(io.BytesIO(reports.photo_of(db.session, stored, stored.additions[0].id)))
    assert photo.format == "JPEG" and not photo.getexif()
    assert db.session.scalar(select(func.count()).select_from(ResidentReport)) == 1  # no second report
    assert "另有 2 位居民补充了这份报告" in first.get(f"/reports/{ticket}").text

    # Each browser goes from the plate page straight to the report it sent or added to; others to the box.
    for resident in (first, second):
        link = re.search(r'href="(/reports/\?plate=[^"]+)"', resident.get(f"/P/{plate.id}").text).group(1)
        assert ticket in resident.get(link.replace("&amp;", "&")).headers["Location"]
    assert issued_app.test_client().get(f"/reports/?plate={plate.id}").status_code == 200

    operator, csrf = signed_in(Role.OPERATOR)
    page = operator.get(f"/staff/reports/{ticket}")
    assert "我也看到了，右下角碎了" in page.text and "只表示也遇到了" in page.text
    photo_link = re.search(r'href="([^"]*/additions/\d+/photo)"', page.text).group(1)
    assert operator.get(photo_link).mimetype == "image/jpeg"
    assert operator.get(photo_link.replace(f"/{stored.additions[0].id}/", f"/{stored.additions[1].id}/")
                        ).status_code == 404
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == stored.ticket)
                              .order_by(AuditEvent.id)).all() == ["report.received", "report.added_to",
                                                                  "report.added_to"]

    # Once closed, an addition is refused with the form, saying why, and a new report may be made.
    operator.post(f"/staff/reports/{ticket}", data={"csrf_token": csrf, "status": "resolved",
                                                     "public_notes": "已更换"})
    late = second.post(add, data={"description": "还是坏的"})
    assert late.status_code == 422 and "这份报告已关闭" in late.text and 'name="kind"' in late.text
    assert "已有人报告" not in second.get(f"/P/{plate.id}/report").text
    other = db.session.scalars(select(Plate).order_by(Plate.id).offset(1).limit(1)).one()
    elsewhere = second.post(add.replace(plate.id, other.id), data={"description": ""})
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "text/html" and 'name="kind"' in elsewhere.text
    assert second.post(f"/P/{plate.id}/report/KX7M-2Q9D-4", data={"description": ""}).status_code == 404
    assert second.post(add, data={}).status_code == 422  # not the form at all
