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
