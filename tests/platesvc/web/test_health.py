"""Health, readiness, hosts and the answers every route gives when the database is away."""

from urllib.parse import urlsplit

import pytest

from platesvc.config import allowed_hosts
from platesvc.store import migrations
from platesvc.store.database import db


def test_healthz_answers_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"] == "Not Found"


def test_static_assets_are_served_locally(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"


def test_readyz_says_whether_the_schema_is_current(app, client):
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["schema"] == migrations.head_revision()
    migrations.downgrade(db.engine, "0003")
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.json["expected"] == migrations.head_revision()
    assert "db upgrade" in behind.json["message"]


def test_every_answer_carries_the_security_headers(client):
    for path in ("/healthz", "/api/v1/nothing-here", "/static/favicon.svg", "/p/not-a-plate"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"] and "unsafe-inline" not in headers[
            "Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in headers
    secure = client.get("/healthz", base_url="https://plates.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_unreachable_database_answers_503_with_retry_after_everywhere(tmp_path):
    """PostgreSQL restarting, or out of reach: every route says so, in its own shape, and when to try again."""
    from platesvc import create_app
    from tests.conftest import OwnContextClient, app_config

    app = create_app(app_config("postgresql+psycopg://postgres@127.0.0.1:1/gone", tmp_path,
                                PROPAGATE_EXCEPTIONS=False))
    app.test_client_class = OwnContextClient
    with app.app_context():
        _answer_503_everywhere(app.test_client())


def _answer_503_everywhere(client):
    shapes = {"/healthz": "status", "/readyz": "status", "/api/v1/plates/640104000040": "error",
              "/api/v1/nearby?lon=106.2&lat=38.4": "error", "/ogc/collections": "code",
              "/ogc/collections/plates/items": "code", "/tiles/plates/15/26063/12575.mvt": "error",
              "/open311/v2/requests.json": 0, "/api/v1/staff/me": "error"}
    for path, key in shapes.items():
        headers = {"Authorization": "Bearer pst_anything"} if "/staff/" in path else {}
        answer = client.get(path, headers=headers)
        assert answer.status_code == 503 and answer.headers["Retry-After"], (path, answer.status_code)
        assert key in answer.json if key != 0 else answer.json[0]["code"] == 503, (path, answer.json)
    page = client.get("/P/640104000040", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Retry-After"] and "稍后再试" in page.text


def test_links_are_never_written_with_a_host_the_service_does_not_go_by(client):
    """A Host header is the client's to send: an unknown one is refused, so no link echoes it."""
    assert client.get("/ogc", headers={"Host": "evil.example"}).status_code == 400
    links = client.get("/ogc", base_url="https://plates.example").json["links"]
    assert all(link["href"].startswith("https://plates.example/") for link in links)
    assert client.get("/healthz", base_url="http://127.0.0.1:8000").status_code == 200  # loopback, for probes


@pytest.mark.parametrize(("host", "taken"), [
    ("plates.example:6666", False), ("plates.example:8443", False), ("10.0.0.5:9000", False),
    ("plates.example", True), ("plates.example:80", True), ("localhost:6666", True), ("10.0.0.5:8000", True),
    ("10.0.0.5", True)])
def test_no_link_is_written_with_a_port_the_service_is_not_served_on(app, host, taken):
    """werkzeug's trusted hosts check a Host's name, not its port: `plates.example:6666` passed and every link
    went to port 6666. Only the public URL's port, loopback's any port, or a listed `name:port` is taken."""
    app.config.update(PUBLIC_URL="https://plates.example", ALLOWED_HOSTS="10.0.0.5:8000,10.0.0.5")
    app.config["TRUSTED_HOSTS"] = allowed_hosts(app.config)
    answer = app.test_client().get("/ogc", headers={"Host": host})
    if taken:
        assert answer.status_code == 200
        assert {urlsplit(link["href"]).netloc for link in answer.json["links"]} == {host.removesuffix(":80")}
    else:
        assert answer.status_code == 400 and answer.json["code"]  # in OGC's shape, and no link at all
        assert host not in answer.text


def test_the_public_urls_own_port_is_taken(app):
    app.config.update(PUBLIC_URL="https://plates.example")
    app.config["TRUSTED_HOSTS"] = allowed_hosts(app.config)
    client = app.test_client()
    assert client.get("/ogc", headers={"Host": "plates.example:443"}, base_url="https://plates.example").status_code \
        == 200
    page = client.get("/staff/sign-in", headers={"Host": "plates.example:6666", "Accept": "text/html"})
    assert page.status_code == 400 and "地址" in page.text


def test_a_value_the_database_cannot_store_is_a_400_not_a_500(app, signed_in):
    """A NUL typed into a staff form (PostgreSQL stores no NUL in text): refused, nothing stored."""
    from platesvc.registry.audit import RESIDENT
    from platesvc.staff import reports
    from platesvc.store.models import Role

    report = reports.submit_report(db.session, RESIDENT, "plate_damaged", reports.Place(None, None, None, "某处"))
    db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client, csrf = signed_in(Role.OPERATOR)
    answer = client.post(f"/staff/reports/{reports.display_ticket(report.ticket)}",
                         data={"csrf_token": csrf, "public_notes": "已处理\x00", "status": "assigned"})
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert answer.status_code == 303  # SQLite stores a NUL as it stores any character
    else:
        assert answer.status_code == 400 and "无法保存的值" in answer.json["message"]
        db.session.rollback()
        assert db.session.get(type(report), report.id).public_notes is None  # nothing was stored
