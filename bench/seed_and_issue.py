"""Seed the 55,000-building demo city and issue its plates on SQLite, and time it.

Prints each stage's seconds (storing includes precomputing every building's links),
the total against the one-minute budget, and the ratio of storing the buildings to
a bare sqlite3 executemany of the same rows measured in this same run (the floor any
store of them pays on this machine).

    python bench/seed_and_issue.py [--buildings N] [--seed S]
"""

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import shapely

from gis.shapes import representative_points, to_multipolygons
from gis.synthetic import DEFAULT_BUILDINGS, generate_city
from platesvc import create_app
from platesvc.intake.demo import store_city
from platesvc.registry.plate_ids import issue_plates
from platesvc.store import migrations
from platesvc.store.database import db

BUDGET_SECONDS = 60.0


def bare_sqlite_insert(buildings, path: Path) -> float:
    """Seconds for sqlite3 alone to store the same building rows in a plain indexed table."""
    footprints = shapely.to_wkb(to_multipolygons(buildings.geometry))
    points = shapely.to_wkb(representative_points(buildings.geometry.to_numpy()))
    rows = list(zip(buildings["source_id"], buildings["number"], buildings["division_code"],
                    footprints, points))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, source_id TEXT UNIQUE, number TEXT, "
                       "division_code TEXT, footprint BLOB, point BLOB)")
    started = time.perf_counter()
    with connection:
        connection.executemany("INSERT INTO b (source_id, number, division_code, footprint, point) "
                               "VALUES (?, ?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"})
        with app.app_context():
            timings = {}
            started = time.perf_counter()
            migrations.upgrade(db.engine)
            timings["migrate"] = time.perf_counter() - started

            started = time.perf_counter()
            city = generate_city(buildings=args.buildings, seed=args.seed)
            timings["generate"] = time.perf_counter() - started

            stage_starts = []  # store_city's stages: divisions and roads, buildings, the rest, links
            started = time.perf_counter()
            store_city(db.session, city, stage=lambda _: stage_starts.append(time.perf_counter()))
            timings["store"] = time.perf_counter() - started
            buildings_seconds = stage_starts[2] - stage_starts[1]
            links_seconds = started + timings["store"] - stage_starts[3]

            started = time.perf_counter()
            result = issue_plates(db.session)
            timings["issue"] = time.perf_counter() - started

        baseline = bare_sqlite_insert(city.buildings, Path(tmp) / "baseline.sqlite3")

    total = sum(timings.values())
    print(f"demo city: {len(city.buildings)} buildings, {result.total} plates issued (SQLite)")
    for stage, seconds in timings.items():
        print(f"  {stage:<9} {seconds:7.2f} s")
    print(f"  {'total':<9} {total:7.2f} s   budget {BUDGET_SECONDS:.0f} s   ratio {total / BUDGET_SECONDS:.2f} "
          f"({'within' if total < BUDGET_SECONDS else 'OVER'} budget)")
    print(f"storing buildings {buildings_seconds:.2f} s vs bare sqlite3 executemany {baseline:.2f} s: "
          f"ratio {buildings_seconds / baseline:.1f}x (spatial index, triggers, typed columns)")
    print(f"links (beat, zones, {len(city.services)} services' nearest) for every building: "
          f"{links_seconds:.2f} s of the store stage")
    print(f"issuing: {result.total / timings['issue']:,.0f} plates/s")


if __name__ == "__main__":
    main()
