"""Shared fixtures: the app on every backend, a small demo city, and a CLI runner.

`database_url` is parametrised over SQLite and PostGIS, so every test that uses it
(directly or through `app`) is a contract test run on both. PostGIS needs
PLATESVC_TEST_POSTGIS_URL, a URL of a database on a server where the test user may
create databases; without it the PostGIS half is skipped, except under CI, where
it fails.
"""

import os
import re
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from gis.synthetic import generate_city
from platesvc import create_app, schema
from platesvc.database import db
from platesvc.demo import store_city
from platesvc.plate_ids import issue_plates

POSTGIS_URL_VARIABLE = "PLATESVC_TEST_POSTGIS_URL"
# One per test run, so two runs against the same server (a developer and CI) never drop each other's.
TEMPLATE_DATABASE = f"platesvc_test_template_{os.getpid()}"
SMALL_CITY_BUILDINGS = 1500


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


@pytest.fixture(scope="session")
def postgis_server():
    """An autocommit engine on the PostGIS server and a template database with PostGIS in it."""
    admin = create_engine(_postgis_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    template = create_engine(make_url(admin.url).set(database=TEMPLATE_DATABASE))
    with template.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    template.dispose()
    yield admin
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgis"])
def database_url(request, tmp_path):
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platesvc.sqlite3'}"
        return
    admin = request.getfixturevalue("postgis_server")
    name = f"platesvc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}"))
    yield make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def app(database_url):
    """The app on an empty database migrated to head."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "PUBLIC_URL": "https://plates.example",
                      "SCAN_FLUSH_SECONDS": 0})
    with app.app_context():
        schema.upgrade(db.engine)
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
def seeded_app(app, small_city):
    """The app with the small demo city stored through the same path `demo seed` uses."""
    store_city(db.session, small_city)
    return app


@pytest.fixture
def issued_app(seeded_app):
    """The small demo city with every building's plate issued."""
    issue_plates(db.session)
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
    from platesvc.outlines import FontError, OutlineFont, find_font
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
def pdftoppm():
    """poppler's pdftoppm, to rasterise printed sheets as a scanner or a phone camera sees them."""
    return _required_outside_ci(shutil.which("pdftoppm"), "pdftoppm", "apt-get install poppler-utils")
