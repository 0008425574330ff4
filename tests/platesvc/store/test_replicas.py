"""Public reads on a real streaming replica: they go there, staff read their own writes on the
primary, a replica that lags too far is skipped, and stopping it under load fails no request.

Needs PLATESVC_TEST_REPLICA_URL, a URL of the replica server (a streaming replica of the
PostGIS server of PLATESVC_TEST_POSTGIS_URL; `scripts/start-replica` makes one), and the
right to stop and start it with pg_ctlcluster (cluster PLATESVC_TEST_REPLICA_CLUSTER,
default "15 replica"); without the URL the tests are skipped, except under CI.
"""

import logging
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import create_engine, make_url, select, text
from werkzeug.serving import make_server

from platesvc import create_app
from platesvc.ops.metrics import process_metrics
from platesvc.store.database import db
from platesvc.store.models import Plate, Role, ServicePoint
from tests.conftest import OwnContextClient, _required_outside_ci, app_config

REPLICA_START_SECONDS = 90
# One at a time, in one worker: a test stops the replica or pauses its replay.
pytestmark = [pytest.mark.parametrize("database_url", ["postgis"], indirect=True), pytest.mark.xdist_group("replica")]


@pytest.fixture
def replica(database_url):
    """The URL of the test database on the replica, once the replica has replayed all of it so far."""
    server = _required_outside_ci(os.environ.get("PLATESVC_TEST_REPLICA_URL"), "PLATESVC_TEST_REPLICA_URL (a "
                                  "streaming replica)", "run scripts/start-replica and set it")
    url = make_url(server).set(database=make_url(database_url).database).render_as_string(hide_password=False)
    yield url
    _control("start")  # whatever a test did to it


def _control(action: str) -> None:
    version, name = os.environ.get("PLATESVC_TEST_REPLICA_CLUSTER", "15 replica").split()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *(
        ["-m", "immediate"] if action == "stop" else [])], check=False, capture_output=True)
    if action == "start":
        # After an immediate stop the replica recovers before it takes connections: on a busy machine
        # that has taken more than 10 s, and the next test then found it refusing them.
        for _ in range(REPLICA_START_SECONDS * 10):
            if subprocess.run(["pg_isready", "-q", "-h", make_url(os.environ["PLATESVC_TEST_REPLICA_URL"]).host,
                               "-p", str(make_url(os.environ["PLATESVC_TEST_REPLICA_URL"]).port)]).returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"the replica did not take connections within {REPLICA_START_SECONDS} s of starting")


def _caught_up(primary_url: str, replica_url: str, stage: str = "replay") -> None:
    """Wait until the replica has replayed (or, with stage="receive", received) everything the primary
    has committed."""
    with create_engine(primary_url).connect() as primary:
        target = primary.scalar(text("SELECT pg_current_wal_lsn()"))
    server = make_url(replica_url).set(database="postgres")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(300):
            with engine.connect() as connection:
                if connection.scalar(text(f"SELECT pg_last_wal_{stage}_lsn() >= CAST(:lsn AS pg_lsn)"),
                                     {"lsn": target}):
                    return
            time.sleep(0.1)
        raise AssertionError("the replica did not catch up in 30 s")
    finally:
        engine.dispose()


def _replay(replica_url: str, paused: bool, primary_url: str | None = None) -> None:
    """Pause or resume the replica's replay. With `primary_url`, a pause is held until a commit on the
    primary is received and not replayed: a standby idle for WAL may say "paused" and still replay
    the next records it gets (seen once right after a restart)."""
    engine = create_engine(make_url(replica_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()"))
        while paused and connection.scalar(text("SELECT pg_get_wal_replay_pause_state()")) != "paused":
            time.sleep(0.05)
        writer = create_engine(primary_url) if paused and primary_url else None
        for _ in range(100 if writer else 0):
            with writer.connect() as primary:
                primary.execute(text("SELECT txid_current()"))  # a commit of its own in the WAL
                primary.commit()
                target = primary.scalar(text("SELECT pg_current_wal_lsn()"))
            _caught_up(primary_url, replica_url, stage="receive")
            if not connection.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"),
                                     {"lsn": target}):
                break
            time.sleep(0.1)
        else:
            if writer:
                raise AssertionError("the replica kept replaying after its replay was paused")
        if writer:
            writer.dispose()
    engine.dispose()


def _replicated(database_url: str, replica_url: str, folder, **settings):
    _caught_up(database_url, replica_url)
    app = create_app(app_config(database_url, folder, **{"DATABASE_REPLICA_URLS": replica_url,
                                                         "REPLICA_CHECK_SECONDS": 0, **settings}))
    app.test_client_class = OwnContextClient
    return app


def _rename_first_service(name: str) -> ServicePoint:
    service = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).first()
    service.name = name
    db.session.commit()
    return service


def _nearest_name(client, service: ServicePoint, **headers) -> str:
    answer = client.get(f"/api/v1/nearby?lon={service.geom.x}&lat={service.geom.y}&limit=1", headers=headers)
    assert answer.status_code == 200
    return answer.json["features"][0]["properties"]["name"]


def test_public_reads_go_to_the_replica_and_staff_read_their_own_writes(issued_app, tokens, database_url,
                                                                       replica, tmp_path):
    app = _replicated(database_url, replica, tmp_path, REPLICA_MAX_LAG_SECONDS=3600)
    client = app.test_client()
    _replay(replica, paused=True, primary_url=database_url)
    try:
        service = _rename_first_service("主库上的新名字")
        with app.app_context():
            assert _nearest_name(client, service) != "主库上的新名字"  # the replica has not replayed it
            staff = {"Authorization": f"Bearer {tokens[Role.VIEWER]}"}
            assert _nearest_name(client, service, **staff) == "主库上的新名字"
    finally:
        _replay(replica, paused=False)
    _caught_up(database_url, replica)
    with app.app_context():
        assert _nearest_name(client, service) == "主库上的新名字"
    app.extensions["platesvc"].reads.dispose()


def test_a_replica_behind_the_bound_is_skipped_with_a_log_line_and_a_metric(issued_app, database_url, replica,
                                                                            tmp_path, caplog):
    app = _replicated(database_url, replica, tmp_path, REPLICA_MAX_LAG_SECONDS=0.5)
    client = app.test_client()
    usable = process_metrics().replica_usable.labels(make_url(replica).render_as_string(hide_password=True))
    _replay(replica, paused=True, primary_url=database_url)
    try:
        service = _rename_first_service("落后的副本不读")
        _caught_up(database_url, replica, stage="receive")  # streamed, not replayed: on a busy server, not at once
        time.sleep(1.0)  # the replica is now more than the bound behind
        with caplog.at_level(logging.WARNING, logger="platesvc.store.replicas"), app.app_context():
            assert _nearest_name(client, service) == "落后的副本不读"
        assert usable._value.get() == 0
        assert any("behind the primary" in record.getMessage() for record in caplog.records)
    finally:
        _replay(replica, paused=False)
    _caught_up(database_url, replica)
    # In use again once within the bound: other tests' writes to the server can keep it a moment behind.
    with app.app_context():
        for _ in range(100):
            _nearest_name(client, service)
            if usable._value.get() == 1:
                break
            time.sleep(0.1)
    assert usable._value.get() == 1
    app.extensions["platesvc"].reads.dispose()


def test_stopping_the_replica_under_load_fails_no_request(issued_app, database_url, replica, tmp_path):
    with issued_app.app_context():
        plate_ids = list(db.session.scalars(select(Plate.id).limit(50)))
    app = _replicated(database_url, replica, tmp_path, REPLICA_CHECK_SECONDS=0.2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    paths = [f"/api/v1/plates/{plate_ids[0]}", f"/P/{plate_ids[1]}", "/api/v1/nearby?lon=106.28&lat=38.47&limit=5",
             "/ogc/collections/plates/items?bbox=106.25,38.45,106.30,38.49&limit=100",
             "/tiles/plates/15/26055/12583.mvt"]
    failures, answered, stop = [], [], threading.Event()

    def load(path: str) -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(base + path, timeout=10) as answer:
                    answered.append(answer.status)
            except (urllib.error.URLError, OSError) as error:
                failures.append(f"{path}: {error}")

    threads = [threading.Thread(target=load, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        before = len(answered)
        _control("stop")
        time.sleep(2.5)
        after_stop = len(answered) - before
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.shutdown()
        app.extensions["platesvc"].reads.dispose()
    assert not failures, failures[:5]
    assert before > 20 and after_stop > 20  # reads went on, from the primary
    assert set(answered) <= {200, 204}
