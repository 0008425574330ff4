"""Backups that restore: taken while residents file reports, restored into an empty database, they hold
every plate, audit event and report committed before the backup began, and nothing half-written."""

import threading
import uuid

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from platesvc import create_app
from platesvc.registry.audit import RESIDENT
from platesvc.staff.reports import Place, submit_report
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, Plate, ResidentReport
from tests.conftest import app_config


@pytest.fixture
def empty_database_url(database_url, tmp_path, request):
    """A new database on the same backend, with nothing in it."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    server = request.getfixturevalue("postgis_server")
    name = f"platesvc_restore_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _contents(url: str) -> dict:
    engine = create_engine(url)
    with Session(engine) as session:
        found = {"plates": set(session.scalars(select(Plate.id))),
                 "events": set(session.scalars(select(AuditEvent.id))),
                 "reports": set(session.scalars(select(ResidentReport.ticket)))}
    engine.dispose()
    return found


def test_a_backup_taken_under_write_load_restores_all_that_was_committed(issued_app, database_url,
                                                                          empty_database_url, tmp_path):
    plate_ids = list(db.session.scalars(select(Plate.id).limit(20)))
    db.session.rollback()
    writer_engine, stop, filed = create_engine(database_url), threading.Event(), []

    def file_reports():
        with Session(writer_engine) as session:
            while not stop.is_set():
                try:
                    report = submit_report(session, RESIDENT, "plate_damaged",
                                           Place(plate_ids[len(filed) % len(plate_ids)], None, None, None))
                    session.commit()
                    filed.append(report.ticket)
                except OperationalError:  # SQLite: locked for the moment the backup reads
                    session.rollback()

    writer = threading.Thread(target=file_reports)
    writer.start()
    try:
        while len(filed) < 5:
            stop.wait(0.01)
        before = _contents(database_url)  # committed before the backup began
        backup = tmp_path / "city.backup"
        made = issued_app.test_cli_runner().invoke(args=["db", "backup", str(backup)])
        assert made.exit_code == 0, made.output
        while len(filed) < len(before["reports"]) + 5:  # and the writes went on
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
        writer_engine.dispose()
    after = _contents(database_url)

    restored_app = create_app(app_config(empty_database_url, tmp_path))
    with restored_app.app_context():
        done = restored_app.test_cli_runner().invoke(args=["db", "restore", str(backup)])
        assert done.exit_code == 0, done.output
        again = restored_app.test_cli_runner().invoke(args=["db", "restore", str(backup)])
        assert again.exit_code != 0 and "not empty" in again.output  # never over a database in use
        db.engine.dispose()
    restored = _contents(empty_database_url)
    assert restored["plates"] == before["plates"] == after["plates"]
    for kind in ("events", "reports"):
        assert before[kind] <= restored[kind] <= after[kind]
    # One moment's snapshot: the event of every report it holds, and no event of a report it lacks.
    engine = create_engine(empty_database_url)
    with Session(engine) as session:
        received = set(session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "report.received")))
    engine.dispose()
    assert received >= restored["reports"] and not (received & (after["reports"] - restored["reports"]))


def test_restoring_a_file_that_is_no_backup_says_so(app, tmp_path):
    missing = app.test_cli_runner().invoke(args=["db", "restore", str(tmp_path / "nothing.backup")])
    assert missing.exit_code != 0 and "no backup at" in missing.output
