"""The staff pages speak the reader's language: Chinese unless English is asked for (?lang=en or the browser's
Accept-Language), every word of theirs through the catalogs, none written into a template outside `_()`."""

import html
import io
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import String, Text, select

import platesvc
from platesvc import labels
from platesvc.registry.audit import RESIDENT
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff import plate_records, reports
from platesvc.store.database import db
from platesvc.store.models import CultureNote, Division, Plate, PoliceBeat, Role, ServicePoint, StaffJob
from platesvc.web import i18n

PACKAGE = Path(platesvc.__file__).parent
TEMPLATES = PACKAGE / "templates" / "staff"
# Han characters, and the full-width punctuation (：，。；（）) that belongs with Chinese words, inside a message.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
# Staff GET endpoints that answer something other than a page: a photo, a job's file, a CSV.
# A file being imported, whose words are data on the preview page: shown as they are, in any language.
UPLOAD, UPLOAD_NAME = "编号,路名,门牌号,经度,纬度\nB-1,上海路,5,106.28,38.47\n", "楼.csv"
NOT_PAGES = {"staff.reports.photo", "staff.jobs.download", "staff.jobs.report", "staff.plates.quiet_plates",
             "staff.jobs.road_names"}


def _template_text(source: str, environment) -> tuple[str, list[str]]:
    """A template's own text (what it writes outside expressions, each expression a NUL) and the string literals
    in its expressions that are not a gettext call's message."""
    text, literals, calls, previous = [], [], [], []
    for _line, kind, value in environment.lex(source):
        if kind in ("whitespace", "comment", "comment_begin", "comment_end"):
            continue
        if kind == "data":
            text.append(value)
        elif kind in ("variable_begin", "block_begin"):
            text.append("\0")
        elif kind == "operator" and value == "(":
            calls.append(bool(previous) and previous[-1] == ("name", True))
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "string":
            # A message: the first argument of a gettext call (or the plural after it).
            message = calls and calls[-1] and previous and (previous[-1] == ("operator", "(") or (
                previous[-1] == ("operator", ",") and len(previous) > 1 and previous[-2] == ("message", True)))
            if not message:
                literals.append(value)
            previous.append(("message", bool(message)))
            continue
        previous.append(("name", value in GETTEXT) if kind == "name" else (kind, value))
    return "".join(text), literals


def test_no_staff_template_writes_a_word_outside_a_message(app):
    """Chinese (or full-width punctuation) only inside `_()`, and no English word written as template text."""
    found = []
    for path in sorted(TEMPLATES.glob("*.html")):
        text, literals = _template_text(path.read_text(encoding="utf-8"), app.jinja_env)
        found += [f"{path.name}: {literal}" for literal in literals if CHINESE.search(literal)]
        found += [f"{path.name}: {line.strip()}" for line in text.splitlines() if CHINESE.search(line)]
        # What a reader sees of the text: no tags, and no code (a command, a header), which reads alike in both.
        shown = html.unescape(re.sub(r"<[^>]*>", " ", re.sub(r"<code[^>]*>.*?</code>", " ", text, flags=re.S)))
        found += [f"{path.name}: {word}" for word in re.findall(r"[A-Za-z]{2,}", shown)]
    assert len(list(TEMPLATES.glob("*.html"))) > 20
    assert not found, found


def test_the_static_check_finds_words_outside_messages(app):
    source = ('<p>{{ _("Saved") }}：{{ office.name or "未填写" }} {{ _("Hello %(name)s", name="某") }}</p>'
              '<p>Save</p>{{ ngettext("%(num)s plate", "%(num)s plates", n) }}')
    text, literals = _template_text(source, app.jinja_env)
    assert CHINESE.search(text) and literals == ['"未填写"', '"某"'] and "Save" in text


class _Page(HTMLParser):
    """A page's text and attribute values, and its form controls that have no label."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces, self.unlabelled, self.labels, self.labelled_ids, self.controls = [], [], 0, set(), []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.pieces += [value for name, value in attrs if value and name not in ("href", "src", "action")]
        if tag == "label":
            self.labels += 1
            if attributes.get("for"):
                self.labelled_ids.add(attributes["for"])
        elif tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit"):
            named = self.labels or attributes.get("aria-label") or attributes.get("aria-labelledby")
            self.controls.append((attributes.get("name"), attributes.get("id"), bool(named)))

    def handle_endtag(self, tag):
        if tag == "label":
            self.labels -= 1

    def handle_data(self, data):
        self.pieces.append(data)

    def without_label(self) -> list[str]:
        return [name for name, id_, named in self.controls if not named and id_ not in self.labelled_ids]


def _read(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _data_words(app) -> list[str]:
    """Every text the database and the settings hold in Chinese (names, addresses, reasons), longest first: the data
    a page shows in whatever language it is read."""
    words = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)):
                words.update(value for value in db.session.scalars(select(column).distinct())
                             if isinstance(value, str) and CHINESE.search(value))
    plates = db.session.scalars(select(Plate.id)).all()
    for summary in plate_records.summaries(db.session, app.config, plates).values():
        words.update((summary.address, summary.community or "", summary.district or ""))
    words.update(value for value in app.config.values() if isinstance(value, str) and CHINESE.search(value))
    words.update(labels.LANGUAGE_NAMES.values())  # the link to the other language, in that language
    return sorted(words, key=len, reverse=True)


def _chinese_beyond_data(text: str, words: list[str]) -> list[str]:
    """The pieces of a page (text, attribute values) with Chinese in them once the data's words are taken out."""
    left = []
    for piece in _read(text).pieces:
        if not CHINESE.search(piece):
            continue
        shortened = piece.strip().removesuffix("...")  # a long text, cut short (Jinja's truncate)
        if shortened != piece.strip() and any(word.startswith(shortened) for word in words):
            continue
        for word in words:
            if word in piece:
                piece = piece.replace(word, " ")
        if CHINESE.search(piece):
            left.append(piece.strip())
    return left


@pytest.fixture
def staff_pages(issued_app, signed_in):
    """An admin's client and the address of every staff page, each of a real record (a plate, a report, a job…)."""
    client, csrf = signed_in(Role.ADMIN)
    plate = db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()
    road_plate = db.session.scalars(select(Plate).order_by(Plate.id.desc()).limit(1)).one()
    reported = reports.submit_report(db.session, RESIDENT, "plate_damaged", reports.Place(plate.id, None, None, None),
                                     description="牌子掉了")
    db.session.commit()
    moved = client.post(f"/staff/plates/{plate.id}/status", data={"status": "printed", "csrf_token": csrf})
    assert moved.status_code == 303
    client.get(moved.headers["Location"])  # shows its note (in the language it was asked in) once
    started = client.post("/staff/prints", data={"csrf_token": csrf, "plates": road_plate.id, "status": "issued"})
    assert started.status_code == 303  # no worker takes it: its page shows a job waiting to start
    uploaded = client.post("/staff/imports", data={"csrf_token": csrf, "kind": "buildings", "files": (
        io.BytesIO(UPLOAD.encode()), UPLOAD_NAME)}, content_type="multipart/form-data")
    assert uploaded.status_code == 303  # an upload being previewed
    db.session.rollback()
    values = {"plate_text": plate.id, "ticket": reports.display_ticket(reported.ticket),
              "job_id": db.session.scalars(select(StaffJob.id)).one(),
              "service_id": db.session.scalars(select(ServicePoint.id).limit(1)).one(),
              "beat_id": db.session.scalars(select(PoliceBeat.id).limit(1)).one(),
              "note_id": db.session.scalars(select(CultureNote.id).limit(1)).one(),
              "division_id": db.session.scalars(select(Division.id).limit(1)).one(),
              "token": uploaded.headers["Location"].split("/")[-1].split("?")[0]}
    pages = []
    with issued_app.test_request_context():
        for rule in issued_app.url_map.iter_rules():
            if (rule.endpoint.startswith("staff.") and "GET" in rule.methods and rule.endpoint not in NOT_PAGES
                    and not rule.endpoint.startswith("staff.sign_in.")):
                pages.append(url_for(rule.endpoint, **{name: values[name] for name in rule.arguments}))
    return client, sorted(set(pages))


def test_every_staff_page_reads_in_english_when_asked_with_only_the_data_in_chinese(issued_app, staff_pages):
    client, pages = staff_pages
    words = sorted({*_data_words(issued_app), UPLOAD_NAME, *re.split(r"[,\n]", UPLOAD)}, key=len, reverse=True)
    found, unlabelled = {}, {}
    anonymous = issued_app.test_client()
    for path in [*pages, "/staff/sign-in"]:
        answer = (anonymous if path == "/staff/sign-in" else client).get(f"{path}?lang=en")
        assert answer.status_code == 200, (path, answer.status_code)
        assert '<html lang="en"' in answer.text, path
        if left := _chinese_beyond_data(answer.text, words):
            found[path] = left
        if missing := _read(answer.text).without_label():
            unlabelled[path] = missing
    assert len(pages) > 20, pages
    assert not found, found
    assert not unlabelled, unlabelled


def test_every_staff_page_reads_in_chinese_by_default(issued_app, staff_pages, caplog):
    client, pages = staff_pages
    i18n._report.cache_clear()  # each untranslated message is logged once a process: once for this test
    caplog.set_level(logging.WARNING, logger=i18n.__name__)
    anonymous = issued_app.test_client()
    for path in [*pages, "/staff/sign-in"]:
        asking = anonymous if path == "/staff/sign-in" else client
        answer = asking.get(path)
        assert answer.status_code == 200 and '<html lang="zh-CN"' in answer.text, path
        english = asking.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert '<html lang="en"' in english.text, path
    untranslated = {record.args[0] for record in caplog.records if record.name == i18n.__name__}
    assert not untranslated


def test_an_asked_for_language_stays_from_page_to_page_and_through_forms(issued_app, signed_in):
    client, csrf = signed_in(Role.OPERATOR)
    plate = db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()
    page = client.get(f"/staff/plates/{plate.id}?lang=en")
    assert f'action="/staff/plates/{plate.id}/status?lang=en"' in page.text
    assert 'href="/staff/reports?lang=en"' in page.text  # the menu
    assert f'href="/staff/plates/{plate.id}?lang=zh" hreflang="zh-CN"' in page.text  # the switch: this page
    moved = client.post(f"/staff/plates/{plate.id}/status?lang=en", data={"status": "printed", "csrf_token": csrf})
    assert moved.status_code == 303 and moved.headers["Location"].endswith("?lang=en")
    shown = client.get(moved.headers["Location"])
    assert "Status changed: issued → printed" in shown.text
    client.post(f"/staff/plates/{plate.id}/status", data={"status": "installed", "csrf_token": csrf})
    assert "状态已变更：已印制 → 已安装" in client.get(f"/staff/plates/{plate.id}").text
    search = client.get("/staff/plates?lang=en")
    assert '<input type="hidden" name="lang" value="en">' in search.text  # a search keeps it too
    assert 'name="lang"' not in client.get("/staff/plates").text


def test_a_counted_list_and_a_refusal_read_in_the_readers_language(issued_app, signed_in):
    client, csrf = signed_in(Role.VIEWER)
    quiet = db.session.scalars(select(Plate).order_by(Plate.id).limit(1)).one()
    quiet.status = "installed"
    db.session.commit()
    chinese = client.get("/staff/quiet-plates.csv?days=1").text.removeprefix("\ufeff").splitlines()
    english = client.get("/staff/quiet-plates.csv?days=1&lang=en").text.removeprefix("\ufeff").splitlines()
    assert chinese[0] == "门牌编号,门牌编号（印制格式）,标准地址,区县,社区"
    assert english[0] == "Plate ID,Plate ID as printed,Address,District,Community"
    assert chinese[1].split(",")[:2] == english[1].split(",")[:2] == [quiet.id, parse_plate_id(quiet.id).display]
    refused = client.get("/staff/users?lang=en")
    assert refused.status_code == 403 and "This needs the role administrator or above; viewer-user is viewer." \
        in refused.text and "<title>Not allowed" in refused.text
    assert "这需要管理员或更高的角色；viewer-user 是查看员。" in client.get("/staff/users").text


def test_the_trail_says_what_changed_in_words(app, signed_in, staff):
    client, csrf = signed_in(Role.ADMIN)
    viewer = staff[Role.VIEWER]
    assert client.post(f"/staff/users/{viewer.id}", data={"csrf_token": csrf, "active": "0", "role": "operator"}
                       ).status_code == 303
    chinese, english = client.get("/staff/").text, client.get("/staff/?lang=en").text
    assert "可用 → 已停用" in chinese and "查看员 → 操作员" in chinese
    assert "Active → Switched off" in english and "viewer → operator" in english
