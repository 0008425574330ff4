"""Rate limits per client: scans share one generous budget, public writes and sign-in a small one;
each is a setting, PLATESVC_RATELIMIT_ENABLED=0 turns them all off, and Redis shares them."""

import ipaddress
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from limits import parse_many
from sqlalchemy import select

from platesvc import create_app
from platesvc.ops.logs import JsonFormatter
from platesvc.ops.rate_limits import share
from platesvc.registry.audit import SYSTEM
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import Plate, Role
from tests.conftest import STAFF_PASSWORD, app_config, csrf_token

REDIS_URL_VARIABLE = "PLATESVC_TEST_REDIS_URL"


@pytest.fixture
def limited(issued_app, database_url, tmp_path):
    """A function making an app on the issued city's database with rate limits on, as given."""
    def make(**limits):
        made = create_app(app_config(database_url, tmp_path, RATELIMIT_ENABLED=True, **limits))
        made.test_client_class = issued_app.test_client_class
        return made

    return make


def _plate_id() -> str:
    return db.session.scalar(select(Plate.id).order_by(Plate.id).limit(1))


def test_page_and_json_scans_share_one_budget_per_client(limited):
    client = limited(RATELIMIT_SCANS="5 per minute").test_client()
    plate_id = _plate_id()
    answers = [client.get(f"/P/{plate_id}").status_code for _ in range(3)]
    answers += [client.get(f"/api/v1/plates/{plate_id}").status_code for _ in range(2)]
    assert answers == [200] * 5
    refused = client.get(f"/api/v1/plates/{plate_id}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    page = client.get(f"/P/{plate_id}", headers={"Accept": "text/html"})
    assert page.status_code == 429 and "操作太频繁" in page.text
    assert client.get(f"/P/{plate_id}", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200
    assert client.get("/api/v1/nearby?lon=106.28&lat=38.47").status_code == 200  # not a scan


def test_behind_a_trusted_proxy_each_resident_is_told_apart(limited):
    client = limited(RATELIMIT_SCANS="2 per minute", TRUSTED_PROXIES=1).test_client()
    plate_id = _plate_id()
    for resident in ("1.1.1.1", "2.2.2.2"):
        codes = [client.get(f"/P/{plate_id}", headers={"X-Forwarded-For": resident}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_resident_reports_and_sign_in_are_limited_tightly(limited, staff):
    client = limited(RATELIMIT_REPORTS="2 per minute", RATELIMIT_SIGN_IN="3 per minute").test_client()
    plate_id = _plate_id()
    codes = [client.post(f"/P/{plate_id}/report", data={"kind": "plate_damaged"}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    assert client.get(f"/P/{plate_id}/report").status_code == 200  # reading the form is not a write
    guesses = [client.post("/staff/sign-in", data={"username": "admin-user", "password": "guess"}).status_code
               for _ in range(4)]
    assert guesses[-1] == 429 and 429 not in guesses[:3]


def test_open311_clients_are_limited_by_their_account_however_they_send_the_key(limited, tokens, staff):
    client = limited(RATELIMIT_OPEN311="4 per minute").test_client()
    request = {"service_code": "plate_damaged", "address_id": _plate_id()}
    key = tokens[Role.OPERATOR]
    second_key = accounts.create_token(db.session, SYSTEM, staff[Role.OPERATOR], "second", 30, 365).secret
    db.session.commit()
    ways = [{"data": {**request, "api_key": key}},
            {"data": request, "headers": {"Authorization": f"Bearer    {key}  "}},
            {"data": request, "headers": {"Authorization": f"bearer {key}"}},
            {"json": {**request, "api_key": f" {key}"}},
            {"data": {**request, "api_key": second_key}}]  # the same account's other token
    codes = [client.post("/open311/v2/requests.json", **way).status_code for way in ways]
    assert codes == [201, 201, 201, 201, 429]
    other = [client.post("/open311/v2/requests.json", data={**request, "api_key": tokens[Role.VIEWER]}).status_code
             for _ in range(5)]
    assert other == [201] * 4 + [429]


def test_sign_in_guesses_at_one_account_are_limited_from_every_address(limited, staff):
    client = limited(RATELIMIT_SIGN_IN="100 per minute", RATELIMIT_SIGN_IN_ACCOUNT="3 per hour").test_client()
    codes = [client.post("/staff/sign-in", data={"username": " Admin-User", "password": "guess"},
                         environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code for n in range(5)]
    assert 429 not in codes[:3] and codes[3:] == [429, 429]
    other = client.post("/staff/sign-in", data={"username": "viewer-user", "password": "guess"})
    assert other.status_code != 429


def test_only_failed_sign_ins_count_against_an_account(limited, staff):
    """The account's owner signing in all day is never throttled by their own successes; guesses still are."""
    app = limited(RATELIMIT_SIGN_IN="100 per minute", RATELIMIT_SIGN_IN_ACCOUNT="3 per hour")

    def sign_in(password: str) -> int:
        client = app.test_client()
        token = csrf_token(client.get("/staff/sign-in").text)
        return client.post("/staff/sign-in", data={"username": "admin-user", "password": password,
                                                   "csrf_token": token}).status_code

    assert [sign_in(STAFF_PASSWORD) for _ in range(5)] == [303] * 5
    wrong = [sign_in("guess") for _ in range(4)]
    assert 429 not in wrong[:3] and wrong[3] == 429
    assert sign_in(STAFF_PASSWORD) == 429  # a guesser is not told which is right


def test_the_environment_turns_every_limit_off(issued_app, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PLATESVC_RATELIMIT_ENABLED", "0")
    config = app_config(database_url, tmp_path, RATELIMIT_SCANS="1 per minute")
    del config["RATELIMIT_ENABLED"]  # as the environment says
    unlimited = create_app(config)
    unlimited.test_client_class = issued_app.test_client_class
    client = unlimited.test_client()
    assert {client.get(f"/P/{_plate_id()}").status_code for _ in range(5)} == {200}


def test_workers_sharing_redis_share_the_budget(limited):
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{REDIS_URL_VARIABLE} is missing: CI must run this test")
        pytest.skip(f"{REDIS_URL_VARIABLE} is missing (a Redis URL such as redis://127.0.0.1:6379/15)")
    settings = {"RATELIMIT_SCANS": "4 per minute", "RATELIMIT_STORAGE_URI": url}
    plate_id = _plate_id()
    resident = {"REMOTE_ADDR": str(ipaddress.IPv6Address(uuid.uuid4().int))}  # counted nowhere before
    first = limited(**settings).test_client()
    assert [first.get(f"/P/{plate_id}", environ_base=resident).status_code for _ in range(2)] == [200, 200]
    second = limited(**settings).test_client()  # another worker: its own app, the same store
    assert [second.get(f"/P/{plate_id}", environ_base=resident).status_code for _ in range(3)] == [200, 200, 429]


def test_no_log_line_of_a_scan_burst_names_the_client(limited, caplog):
    """The access lines hold the plates; no line of the burst, the limit's own included, holds the address."""
    client = limited(RATELIMIT_SCANS="3 per minute").test_client()
    resident = {"REMOTE_ADDR": "203.0.113.77"}
    with caplog.at_level(logging.DEBUG):
        codes = [client.get(f"/P/{_plate_id()}", environ_base=resident).status_code for _ in range(5)]
    assert codes[-1] == 429
    assert any(record.name == "flask-limiter" for record in caplog.records)  # the breach was logged…
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert not [line for line in lines if "203.0.113.77" in line]  # …without whom


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the counting is the server's, not the store's
def test_workers_counting_in_memory_each_take_their_share_so_the_limit_holds(app, database_url, tmp_path):
    """Five gunicorn workers without a shared store: 10 sign-ins a minute had become up to 50."""
    port = _free_port()
    environment = {**os.environ, "PLATESVC_DATABASE_URL": database_url, "PLATESVC_SECRET_KEY": "test",
                   "PLATESVC_RATELIMIT_SIGN_IN": "10 per minute", "PLATESVC_SERVER_WORKERS": "5",
                   "PLATESVC_JOBS_DIR": str(tmp_path / "jobs"), "PLATESVC_PRINT_DIR": str(tmp_path / "prints"),
                   "PLATESVC_ACCESS_LOG": "0"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn), "--workers", "5", "--bind", f"127.0.0.1:{port}",
                               "platesvc:create_app()"], env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz")
        codes = []
        for _ in range(30):  # a connection each: the kernel spreads them over the workers
            try:
                urllib.request.urlopen(urllib.request.Request(f"{base}/staff/sign-in", method="POST",
                                                              data=b"username=admin&password=guess"))
            except urllib.error.HTTPError as refused:
                codes.append(refused.code)
        assert 1 <= sum(code != 429 for code in codes) <= 10, codes
    finally:
        server.terminate()
        server.wait(10)
    assert share("10 per minute;100 per hour", 5) == "2 per 1 minute;20 per 1 hour"


@pytest.mark.parametrize("limit", ["1 per minute", "3 per minute", "10 per minute;100 per hour", "7 per 2 hours",
                                   "20 per hour", "600 per minute", "119 per second"])
@pytest.mark.parametrize("workers", [1, 2, 3, 5, 9, 40])
def test_the_shares_of_a_limit_together_allow_no_more_than_the_limit(limit, workers):
    """Each worker's share as a rate, times the workers: never over the limit (3 a minute over 5 workers had been
    1 a minute each, 5 in all)."""
    given = parse_many(limit)
    shares = parse_many(share(limit, workers))
    assert len(shares) == len(given)
    for whole, part in zip(given, shares, strict=True):
        assert part.amount >= 1
        assert workers * part.amount / part.get_expiry() <= whole.amount / whole.get_expiry() + 1e-12
    assert share("3 per minute", 5) == "1 per 100 second" and share("3 per minute", 1) == "3 per minute"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")
