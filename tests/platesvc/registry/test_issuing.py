"""Issuing plate IDs: one valid, unique, permanent ID per building, on every backend."""

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from platesvc.intake.loading import load_buildings
from platesvc.registry import plate_ids
from platesvc.registry.audit import SYSTEM
from platesvc.registry.lifecycle import retire_building
from platesvc.registry.plate_ids import issue_plates, next_issuable_serials, parse_plate_id
from platesvc.store.database import db
from platesvc.store.models import Building, Plate, PlateSeries, PlateStatus


def _plates():
    return db.session.execute(select(Plate.id, Plate.prefix, Plate.serial, Plate.building_id)).all()


def assert_every_building_has_one_valid_plate():
    buildings = db.session.scalar(select(func.count()).select_from(Building))
    plates = _plates()
    assert len(plates) == buildings
    assert len({p.building_id for p in plates}) == buildings
    assert len({p.id for p in plates}) == buildings
    for plate in plates:
        parsed = parse_plate_id(plate.id)
        assert (parsed.prefix, parsed.serial, parsed.canonical) == (plate.prefix, plate.serial, plate.id)


def assert_serials_have_no_gaps():
    """Each series hands out exactly its first issuable serials: nothing half-issued."""
    by_prefix = defaultdict(set)
    for plate in _plates():
        by_prefix[plate.prefix].add(plate.serial)
    for prefix, serials in by_prefix.items():
        expected, after = next_issuable_serials(prefix, 0, len(serials))
        assert serials == set(expected)
        assert db.session.get(PlateSeries, prefix).next_serial == after


def test_every_building_gets_exactly_one_valid_plate(seeded_app, small_city):
    result = issue_plates(db.session, batch_size=400)
    assert result.total == len(small_city.buildings) and not result.refused
    assert result.issued.keys() == set(small_city.buildings["division_code"])
    assert_every_building_has_one_valid_plate()
    assert_serials_have_no_gaps()
    assert plate_ids.issue_plates(db.session).total == 0


def test_the_plate_prefix_is_the_issuing_district(seeded_app):
    issue_plates(db.session)
    rows = db.session.execute(select(Plate.prefix, Building.division_code).join(Building)).all()
    assert all(prefix == code for prefix, code in rows)


def test_a_retired_building_keeps_its_id_and_it_is_never_reissued(seeded_app, small_city):
    issue_plates(db.session)
    building = db.session.scalars(select(Building).order_by(Building.id).limit(1)).one()
    retired_id = building.plate.id
    retire_building(db.session, building, SYSTEM, "demolished")
    db.session.commit()

    new_buildings = small_city.buildings.iloc[:50].copy()
    new_buildings["source_id"] = new_buildings["source_id"] + "-NEW"
    load_buildings(db.session, new_buildings)
    db.session.commit()
    result = issue_plates(db.session)

    assert result.total == 50
    plate = db.session.get(Plate, retired_id)
    assert plate.status == PlateStatus.RETIRED and plate.building_id == building.id
    new_ids = db.session.scalars(
        select(Plate.id).join(Building).where(Building.source_id.like("%-NEW"))).all()
    assert retired_id not in new_ids
    assert_serials_have_no_gaps()


def test_a_failed_batch_issues_nothing(seeded_app, monkeypatch):
    def duplicate_serials(prefix, start, count):
        serials, after = next_issuable_serials(prefix, start, count)
        return [serials[0]] * count, after  # violates the (prefix, serial) unique constraint

    monkeypatch.setattr(plate_ids, "next_issuable_serials", duplicate_serials)
    with pytest.raises(IntegrityError):
        issue_plates(db.session, batch_size=100)
    assert _plates() == []
    assert set(db.session.scalars(select(PlateSeries.next_serial))) == {0}


def test_buildings_in_a_division_without_series_are_refused(seeded_app, small_city):
    stray = small_city.buildings.iloc[:3].copy()
    stray["source_id"] = stray["source_id"] + "-X"
    stray["division_code"] = "640199"
    load_buildings(db.session, stray)
    db.session.commit()
    result = issue_plates(db.session)
    assert "640199" in result.refused and "no plate series" in str(result.refused["640199"])
    assert result.total == len(small_city.buildings)


ISSUER = """
import os, sys, time
from pathlib import Path
from platesvc import create_app
from platesvc.store.database import db
from platesvc.registry.plate_ids import issue_plates
app = create_app({"DATABASE_URL": sys.argv[1]})
with app.app_context():
    db.session.connection()  # connect before the start line, so both really start together
    Path(sys.argv[2] + ".ready").touch()
    while not Path(sys.argv[2]).exists():
        time.sleep(0.01)
    print(issue_plates(db.session, batch_size=int(sys.argv[3])).total)
"""


def test_two_concurrent_issuers_never_duplicate_or_skip(seeded_app, database_url, tmp_path, small_city):
    start_line = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    issuers = [
        subprocess.Popen([sys.executable, "-c", ISSUER, database_url, str(start_line), "37"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    deadline = time.monotonic() + 60
    while not Path(str(start_line) + ".ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    start_line.touch()
    outputs = [issuer.communicate(timeout=120) for issuer in issuers]
    for issuer, (_, err) in zip(issuers, outputs):
        assert issuer.returncode == 0, err
    totals = [int(out.strip()) for out, _ in outputs]
    assert sum(totals) == len(small_city.buildings)
    db.session.expire_all()
    assert_every_building_has_one_valid_plate()
    assert_serials_have_no_gaps()


@pytest.mark.slow
def test_the_full_demo_city_gets_a_plate_for_every_building(runner):
    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    issued = runner.invoke(args=["plates", "issue"])
    assert issued.exit_code == 0, issued.output
    assert db.session.scalar(select(func.count()).select_from(Building)) >= 55_000
    assert_every_building_has_one_valid_plate()
    assert_serials_have_no_gaps()
