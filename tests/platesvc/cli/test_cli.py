import re

import pytest
import shapely
import shapely.affinity
from sqlalchemy import func, select

from platesvc.store.database import db
from platesvc.store.models import Building, Plate, PoliceBeat, Road, ServicePoint


def test_demo_seed_then_issue(runner):
    seeded = runner.invoke(args=["demo", "seed", "--buildings", "600", "--seed", "3"])
    assert seeded.exit_code == 0, seeded.output
    assert "600 buildings" in seeded.output
    assert db.session.scalar(select(func.count()).select_from(Building)) == 600
    assert db.session.scalar(select(func.count()).select_from(PoliceBeat)) > 0
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) > 0

    issued = runner.invoke(args=["plates", "issue"])
    assert issued.exit_code == 0, issued.output
    assert "issued 600 plate IDs" in issued.output
    assert db.session.scalar(select(func.count()).select_from(Plate)) == 600


def test_demo_seed_refuses_a_database_with_buildings(runner):
    assert runner.invoke(args=["demo", "seed", "--buildings", "300"]).exit_code == 0
    again = runner.invoke(args=["demo", "seed", "--buildings", "300"])
    assert again.exit_code == 1
    assert "already holds 300 buildings" in again.output
    skipped = runner.invoke(args=["demo", "seed", "--buildings", "300", "--if-empty"])
    assert skipped.exit_code == 0 and "nothing seeded" in skipped.output
    assert db.session.scalar(select(func.count()).select_from(Building)) == 300


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # refused before any is stored
def test_demo_seed_rejects_bad_arguments(runner):
    result = runner.invoke(args=["demo", "seed", "--buildings", "lots"])
    assert result.exit_code == 2 and "lots" in result.output
    tiny = runner.invoke(args=["demo", "seed", "--buildings", "2"])
    assert tiny.exit_code == 2 and "x>=6" in tiny.output
    huge = runner.invoke(args=["demo", "seed", "--buildings", "10000000"])
    assert huge.exit_code == 1 and "ask for fewer" in huge.output
    assert db.session.scalar(select(func.count()).select_from(Building)) == 0


def test_every_command_explains_itself(runner):
    for command in (["db", "upgrade"], ["demo", "seed"], ["plates", "issue"], ["serve"], ["streets", "rebuild"]):
        result = runner.invoke(args=[*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_streets_rebuild_reports_the_network_and_relinks_only_what_changed(seeded_app, runner):
    road = db.session.scalars(select(Road).order_by(Road.id).limit(1)).one()
    unchanged = runner.invoke(args=["streets", "rebuild"])
    assert unchanged.exit_code == 0, unchanged.output
    assert re.search(r"street network: \d+ edges in \d+ connected components; \d+ gaps closed; 0 edges changed; "
                     r"0 buildings relinked", unchanged.output)
    road.geom = shapely.affinity.translate(road.geom, 0.0004, 0.0004)
    db.session.commit()
    moved = runner.invoke(args=["streets", "rebuild"])
    changed, relinked = map(int, re.search(r"(\d+) edges changed; (\d+) buildings relinked", moved.output).groups())
    assert changed > 0 and 0 < relinked < db.session.scalar(select(func.count()).select_from(Building))
