"""Shared fixtures: the app on every backend, a small demo city, and a CLI runner.

`database_url` is parametrised over SQLite and PostGIS, so every test that uses it
(directly or through `app`) is a contract test run on both. PostGIS needs
PLATESVC_TEST_POSTGIS_URL, a URL of a database on a server where the test user may
create databases; without it the PostGIS half is skipped, except under CI, where
it fails.
"""

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from gis.synthetic import generate_city
from platesvc import create_app
from platesvc.config import environment_for
from platesvc.intake.demo import store_city
from platesvc.registry.audit import SYSTEM
from platesvc.registry.plate_ids import issue_plates
from platesvc.staff import accounts
from platesvc.store import migrations
from platesvc.store.database import db
from platesvc.store.models import Role

POSTGIS_URL_VARIABLE = "PLATESVC_TEST_POSTGIS_URL"
# One per test process, so two runs against the same server (a developer and CI) never drop each other's.
TEMPLATE_DATABASE = f"platesvc_test_template_{os.getpid()}"
SMALL_CITY_BUILDINGS = 1500
STAFF_PASSWORD = "a long enough password"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Collected(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def every_word_translated():
    """A test whose pages or reports showed a message with no Chinese fails, naming it (web/i18n logs each)."""
    from platesvc.web import i18n
    i18n._report.cache_clear()  # logged once a process: once for each test, here
    collected = _Collected()
    logger = logging.getLogger(i18n.__name__)
    logger.addHandler(collected)
    yield
    logger.removeHandler(collected)
    assert not collected.messages, collected.messages


def _required_outside_ci(found, what: str, remedy: str):
    """`found`, or a failure under CI and a skip elsewhere, saying how to get it."""
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing: CI must run these tests ({remedy})")
        pytest.skip(f"{what} is missing ({remedy}): test skipped")
    return found


def _postgis_admin_url() -> str:
    return _required_outside_ci(os.environ.get(POSTGIS_URL_VARIABLE), f"{POSTGIS_URL_VARIABLE} (PostGIS)",
                                "set it to a database URL on a PostGIS server")


# Each stage is made once a run from the one before, through the functions real data goes through;
# a test gets a copy of the stage its fixtures ask for.
STAGES = ("migrated", "seeded", "issued")


def _stage_wanted(request) -> str:
    return "issued" if "issued_app" in request.fixturenames else (
        "seeded" if "seeded_app" in request.fixturenames else "migrated")


def _advance(url: str, stage: str, city) -> None:
    """Bring the database at `url`, holding the stage before `stage`, to `stage`."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False})
    with app.app_context():
        if stage == "migrated":
            migrations.upgrade(db.engine)
        elif stage == "seeded":
            store_city(db.session, city())
        else:
            issue_plates(db.session)
        db.session.remove()
        db.engine.dispose()


class SqliteTemplates:
    """Template files, one a stage; a test's database is a copy of one."""

    def __init__(self, folder: Path, city):
        self._folder, self._city = folder, city

    def _path(self, stage: str) -> Path:
        path = self._folder / f"{stage}.sqlite3"
        if not path.exists():
            made = path.with_suffix(".partial")
            if stage != STAGES[0]:
                shutil.copyfile(self._path(STAGES[STAGES.index(stage) - 1]), made)
            _advance(f"sqlite:///{made}", stage, self._city)
            assert not made.with_name(made.name + "-wal").exists(), "a template must be whole in its one file"
            made.rename(path)
        return path

    def copy(self, stage: str, folder: Path) -> str:
        path = folder / "platesvc.sqlite3"
        shutil.copyfile(self._path(stage), path)
        return f"sqlite:///{path}"


class PostgisTemplates:
    """Template databases, one a stage, named for this run; a test's database is made from one."""

    def __init__(self, admin: Engine, city):
        self._admin, self._city, self._made = admin, city, []

    def _url(self, name: str) -> str:
        return make_url(self._admin.url).set(database=name).render_as_string(hide_password=False)

    def _name(self, stage: str) -> str:
        name = f"{TEMPLATE_DATABASE}_{stage}"
        if name not in self._made:
            before = None if stage == STAGES[0] else self._name(STAGES[STAGES.index(stage) - 1])
            with self._admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                connection.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {before}" if before else "")))
            if before is None:
                engine = create_engine(self._url(name))
                with engine.begin() as connection:
                    connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                engine.dispose()
            _advance(self._url(name), stage, self._city)
            self._made.append(name)
        return name

    def copy(self, stage: str) -> str:
        name = f"platesvc_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as connection:
            # FILE_COPY writes a WAL record, not the whole database (WAL_LOG's 18 MB a test), so
            # the streaming replica the replica tests read keeps up.
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {self._name(stage)} STRATEGY FILE_COPY"))
        return self._url(name)

    def drop(self, url: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))

    def drop_all(self) -> None:
        for name in reversed(self._made):
            self.drop(self._url(name))


@pytest.fixture(scope="session")
def postgis_server():
    """An autocommit engine on the PostGIS server."""
    admin = create_engine(_postgis_admin_url(), isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def postgis_templates(request, postgis_server):
    templates = PostgisTemplates(postgis_server, lambda: request.getfixturevalue("small_city"))
    yield templates
    templates.drop_all()


@pytest.fixture(scope="session")
def sqlite_templates(request, tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("templates"), lambda: request.getfixturevalue("small_city"))


@pytest.fixture(params=["sqlite", "postgis"])
def database_url(request, tmp_path):
    """A database on each backend, migrated to head and holding what the test's fixtures ask for:
    nothing, the small demo city (`seeded_app`), or that city with its plates issued (`issued_app`)."""
    stage = _stage_wanted(request)
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_templates").copy(stage, tmp_path)
        return
    templates = request.getfixturevalue("postgis_templates")
    url = templates.copy(stage)
    yield url
    templates.drop(url)


def app_config(database_url: str, folder: Path, **overrides) -> dict:
    """Settings for a test app: its own folders, scans written at once, and no rate limits unless asked."""
    return {"TESTING": True, "DATABASE_URL": database_url, "PUBLIC_URL": "https://plates.example",
            "SCAN_FLUSH_SECONDS": 0, "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
            "JOBS_DIR": str(folder / "jobs"), "PRINT_DIR": str(folder / "prints"), **overrides}


class OwnContextClient(FlaskClient):
    """A test client whose every request has an app context of its own, as under a real server.

    Otherwise a request would share the test's context: its `g` and its database session.
    The test's own transaction ends first: on SQLite a read begun before a request that
    writes could not write afterwards, nor see what the request wrote.
    """

    def open(self, *args, **kwargs):
        session = db.session
        if session.new or session.dirty or session.deleted:
            raise AssertionError("commit the test's changes before a request: the request would not see them")
        session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    """The app on a database migrated to head."""
    app = create_app(app_config(database_url, tmp_path))
    app.test_client_class = OwnContextClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def small_city():
    """A small demo city, generated once per test run."""
    return generate_city(buildings=SMALL_CITY_BUILDINGS, seed=7)


@pytest.fixture
def seeded_app(app):
    """The app with the small demo city stored through the same path `demo seed` uses (see STAGES)."""
    return app


@pytest.fixture
def issued_app(seeded_app):
    """The small demo city with every building's plate issued (see STAGES)."""
    return seeded_app


@pytest.fixture
def live_server(issued_app):
    """The issued app served over HTTP on a free local port, for real clients."""
    server = make_server("127.0.0.1", 0, issued_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(app, **settings) -> dict:
    """What a process of ours needs to run on the test app's settings."""
    quiet = {} if "ACCESS_LOG" in settings else {"PLATESVC_ACCESS_LOG": "0"}
    limits = {f"PLATESVC_{name}": str(int(value) if isinstance(value, bool) else value)  # not passed to jobs
              for name, value in settings.items() if name.startswith("RATELIMIT_")}
    return {**os.environ, **environment_for({**app.config, **settings}), "PLATESVC_SECRET_KEY": "test", **quiet,
            **limits}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def job_worker(app):
    """`platesvc worker` taking the test app's jobs; the process."""
    worker = subprocess.Popen([sys.executable, "-m", "platesvc", "worker"], env=_environment(app),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    yield worker
    _stop(worker)


@pytest.fixture
def served(app):
    """Start `platesvc serve` (gunicorn, and the job worker it starts) on the test app's settings; its URL."""
    servers = []

    def serve(workers: int = 2, log: Path | None = None, **settings) -> str:
        """`log`: a file for everything the server writes (its log lines), else nowhere."""
        port = _free_port()
        output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the server holds it open)
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "platesvc", "serve", "--port", str(port), "--workers", str(workers)],
            env=_environment(app, **settings), stdout=output, stderr=output, start_new_session=True))
        if log:
            output.close()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                return base
            except OSError:
                if time.monotonic() > deadline or servers[-1].poll() is not None:
                    raise AssertionError("platesvc serve did not start") from None
                time.sleep(0.1)

    yield serve
    for server in servers:
        _stop(server)  # gunicorn's master stops its workers and the job worker


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's Chromium, for the browser tests."""
    return _required_outside_ci(shutil.which("chromium"), "chromium", "apt-get install chromium")


@pytest.fixture
def browser(chromium_path):
    """Headless Chromium through Playwright; WebGL (for the map) comes from SwiftShader, on the CPU."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def artifact(request):
    """A path in test-artifacts/ (or PLATESVC_TEST_ARTIFACTS) for a screenshot people can look at."""
    folder = Path(os.environ.get("PLATESVC_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    case = re.sub(r"[^A-Za-z0-9]+", "-", request.node.callspec.id) if hasattr(request.node, "callspec") else ""

    def path(name: str) -> Path:
        return folder / f"{name}{'-' + case if case else ''}.png"

    return path


@pytest.fixture(scope="session")
def plate_font():
    """The CJK font plate artwork is outlined with."""
    from platesvc.printing.outlines import FontError, OutlineFont, find_font
    try:
        path = find_font()
    except FontError:
        path = None
    return OutlineFont(_required_outside_ci(path, "a CJK font for plate artwork", "apt-get install fonts-noto-cjk"))


@pytest.fixture(scope="session")
def ogrinfo():
    """GDAL's ogrinfo, a real OGC API - Features client."""
    return _required_outside_ci(shutil.which("ogrinfo"), "ogrinfo", "apt-get install gdal-bin")


@pytest.fixture(scope="session")
def style_validator():
    """The MapLibre style spec's own validator (gl-style-validate, from npm)."""
    found = Path(__file__).parents[1] / "node_modules" / ".bin" / "gl-style-validate"
    return _required_outside_ci(found if found.exists() else None, "gl-style-validate", "make install")


@pytest.fixture(scope="session")
def pdftoppm():
    """poppler's pdftoppm, to rasterise printed sheets as a scanner or a phone camera sees them."""
    return _required_outside_ci(shutil.which("pdftoppm"), "pdftoppm", "apt-get install poppler-utils")


@pytest.fixture
def staff(app):
    """One active user of each role, made the way `platesvc users create` makes them."""
    users = {role: accounts.create_user(db.session, SYSTEM, f"{role.value}-user", STAFF_PASSWORD, role)
             for role in Role}
    db.session.commit()
    return users


@pytest.fixture
def tokens(staff):
    """An API token for each role's user."""
    made = {role: accounts.create_token(db.session, SYSTEM, user, "tests", 30, 365).secret
            for role, user in staff.items()}
    db.session.commit()
    return made


@pytest.fixture
def check_an_import():
    """A function walking the guided import as staff do: upload a file, see how it reads, start the check (a dry
    run) with the columns as pre-filled but for `fields` and with `options` ticked; the check's job page URL
    and the preview page."""
    def check(client, csrf: str, kind: str, files, fields: dict[str, str] | None = None,
              **options: str) -> tuple[str, str]:
        uploaded = client.post("/staff/imports", data={"csrf_token": csrf, "kind": kind, "files": files},
                               content_type="multipart/form-data")
        assert uploaded.status_code == 303, uploaded.text
        preview = client.get(uploaded.headers["Location"])
        assert preview.status_code == 200, preview.text
        chosen = {f"field.{name}": column for name, column in CHOSEN_COLUMNS.findall(preview.text)}
        data = {"csrf_token": csrf, "kind": kind, **chosen, **{f"field.{name}": column for name, column in
                                                                  (fields or {}).items()}, **options}
        checked = client.post(uploaded.headers["Location"].split("?")[0], data=data)
        assert checked.status_code == 303, checked.text
        return checked.headers["Location"], preview.text
    return check


# A field's select on the preview page and the column chosen in it.
CHOSEN_COLUMNS = re.compile(
    r'<select id="field-\w+" name="field\.(\w+)">(?:(?!</select>).)*?<option selected>([^<]*)</option>', re.S)


def csrf_token(html: str) -> str:
    """The CSRF token a staff page's forms carry."""
    return _CSRF_FIELD.search(html).group(1)


@pytest.fixture
def signed_in(app, staff):
    """A function giving a client signed in through the sign-in form as the user of a role, and its CSRF token."""
    def sign_in(role: Role):
        client = app.test_client()
        form = client.get("/staff/sign-in")
        answer = client.post("/staff/sign-in", data={"username": staff[role].username, "password": STAFF_PASSWORD,
                                                     "csrf_token": csrf_token(form.text), "next": "/staff/"})
        assert answer.status_code == 303, answer.text
        return client, csrf_token(client.get("/staff/").text)

    return sign_in
