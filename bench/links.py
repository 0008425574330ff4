"""The cost of walking links at write time against straight-line links, measured in one run.

Seeds the demo city (55,000 buildings unless --buildings) into SQLite or, with --database, a fresh
PostGIS database beside that URL, then times, on the same stored city, one after the other and
`--rounds` times each: every building's links by the straight line alone (the baseline), making
the street network from every road, and every building's links by walking (pgRouting on PostGIS,
scipy's Dijkstra on SQLite). Prints the seconds and the ratio of network + walking links to the
straight-line links (target ≤ 3), the median over the rounds, and the network's size.

    python bench/links.py [--buildings N] [--database URL] [--rounds R]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).parent))
from harness import postgis_database  # noqa: E402

from gis.synthetic import DEFAULT_BUILDINGS  # noqa: E402
from platesvc import create_app  # noqa: E402
from platesvc.intake.demo import seed_demo_city  # noqa: E402
from platesvc.reference import links, streets  # noqa: E402
from platesvc.store import migrations  # noqa: E402
from platesvc.store.database import db  # noqa: E402

TARGET = 3.0


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--database", help="a PostGIS URL (a fresh database is made beside it); default SQLite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.database:
            url = make_url(args.database)
            url = postgis_database(url.set(database=f"{url.database}_links_{args.buildings}")
                                   .render_as_string(hide_password=False), fresh=True)
        else:
            url = f"sqlite:///{folder}/links.sqlite3"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        with app.app_context():
            migrations.upgrade(db.engine)
            print(f"seeding {args.buildings} buildings…", flush=True)
            seconds, _ = timed(lambda: seed_demo_city(db.session, buildings=args.buildings, seed=1))
            print(f"seeded (with walking links) in {seconds:.1f} s", flush=True)
            ratios = []
            for round_ in range(args.rounds):
                straight, count = timed(lambda: links.refresh_links(db.session, walking=False))
                network, made = timed(lambda: streets.rebuild_streets(db.session))
                walking, _ = timed(lambda: links.refresh_links(db.session))
                db.session.commit()
                ratio = (network + walking) / straight
                ratios.append(ratio)
                print(f"round {round_ + 1}: straight-line links {straight:.1f} s; network {network:.1f} s "
                      f"({made.edges} edges, {made.components} components, {len(made.gaps)} gaps closed); "
                      f"walking links {walking:.1f} s; (network + walking) / straight = {ratio:.2f}", flush=True)
            backend = "PostGIS (pgRouting)" if args.database else "SQLite (scipy)"
            print(f"{backend}, {count} buildings: walking links cost {statistics.median(ratios):.2f}× the "
                  f"straight-line ones (target ≤ {TARGET:.0f}×)")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
