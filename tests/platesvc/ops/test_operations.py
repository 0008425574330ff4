"""Running it: request ids on every answer and in the logs, structured logs without client
addresses, Prometheus metrics, no stack trace to a client, and request size limits."""

import json
import logging
import re

from sqlalchemy import select

from platesvc.intake import importers
from platesvc.ops.logs import JsonFormatter
from platesvc.store.database import db
from platesvc.store.models import Plate, Role


def _plate_id() -> str:
    return db.session.scalar(select(Plate.id).order_by(Plate.id).limit(1))


def test_every_answer_carries_a_request_id_and_keeps_a_sane_one_given(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{24,}", made) and made != client.get("/healthz").headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c01"}).headers["X-Request-ID"] == "lb-7f3a9c01"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{24,}", odd)


def test_each_request_has_one_structured_access_line_without_the_client_address(issued_app, client, caplog):
    plate_id = _plate_id()
    with caplog.at_level(logging.INFO, logger="platesvc.access"):
        answer = client.get(f"/P/{plate_id}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    [record] = [r for r in caplog.records if r.name == "platesvc.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == answer.headers["X-Request-ID"]
    assert line["http"] == {"method": "GET", "path": f"/P/{plate_id}", "route": "/P/<plate_text>", "status": 200,
                            "bytes": answer.headers["Content-Length"], "ms": line["http"]["ms"]}
    assert "203.0.113.9" not in json.dumps(line)


def test_an_unexpected_error_answers_500_with_the_request_id_and_no_trace(app, client, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("secret internals /etc/passwd")

    app.add_url_rule("/api/v1/broken", view_func=broken)
    app.add_url_rule("/broken", "broken_page", view_func=broken)
    with caplog.at_level(logging.ERROR):
        answer = client.get("/api/v1/broken")
        page = client.get("/broken", headers={"Accept": "text/html"})
    assert answer.status_code == 500 and answer.json["request_id"] == answer.headers["X-Request-ID"]
    assert page.status_code == 500 and "服务出了点问题" in page.text and page.headers["X-Request-ID"] in page.text
    for body in (answer.text, page.text):
        assert "secret internals" not in body and "Traceback" not in body
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret internals" in logging.Formatter().formatException(logged[0].exc_info)


def test_a_body_over_the_limit_is_refused_before_it_is_read(app, client, tokens):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    answer = client.post("/api/v1/staff/plates/status", json={"status": "installed", "plates": ["x" * 2000]},
                         headers={"Authorization": f"Bearer {tokens[Role.OPERATOR]}"})
    assert answer.status_code == 413 and answer.json["error"] == "Request Entity Too Large"


def test_metrics_count_requests_by_route_scans_plates_and_imports(issued_app, client, tokens, tmp_path):
    assert client.get("/metrics").status_code == 401
    page = 'method="GET",route="/P/<plate_text>",status="200"'
    page_count = r"platesvc_http_request_duration_seconds_count\{" + re.escape(page) + r"\} ([\d.]+)"

    def counted(pattern: str, text: str) -> float:  # the metrics are the process's: other tests count too
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    viewer = {"Authorization": f"Bearer {tokens[Role.VIEWER]}"}
    before = client.get("/metrics", headers=viewer).text
    plate_id = _plate_id()
    client.get(f"/P/{plate_id}")
    client.get(f"/P/{plate_id}")
    services = tmp_path / "services.csv"
    services.write_text("source_id,name,category,lon,lat\nM-1,点,meal_point,106.28,38.47\n", encoding="utf-8")
    importers.import_file(db.session, "services", services)
    text = client.get("/metrics", headers=viewer).text
    assert counted(page_count, text) - counted(page_count, before) == 2
    assert re.search(r'platesvc_http_request_duration_seconds_bucket\{le="0.1",' + re.escape(page), text)
    scans = r"^platesvc_scans_total ([\d.]+)"
    assert counted(scans, text) - counted(scans, before) == 2
    assert re.search(r'platesvc_plates\{status="issued"\} \d+', text)
    assert 'platesvc_imports_total{kind="services"} 1.0' in text
    assert plate_id not in text  # routes, never paths: a path names a door


def test_metrics_are_open_to_the_monitoring_network(app, client):
    app.config["METRICS_NETWORKS"] = "10.0.0.0/8, 127.0.0.1/32"
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 401
    app.config["METRICS_ENABLED"] = False
    assert client.get("/metrics").status_code == 404
