"""Import the 55,000 buildings of the demo city from a Shapefile, as a GIS desk would hand it
over (CGCS2000 Gauss-Kruger, GBK text), into SQLite; then import the same file again.

Prints each import's seconds against the one-minute budget, and its ratio to reading
the same file with pyogrio alone, measured in this run (the floor any import pays).

    python bench/import_buildings.py [--buildings N]
"""

import argparse
import tempfile
import time
from pathlib import Path

import pyogrio

from gis.synthetic import DEFAULT_BUILDINGS, generate_city
from platesvc import create_app, importers, schema
from platesvc.database import db

BUDGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        city = generate_city(buildings=args.buildings, seed=1)
        city.divisions.to_file(folder / "divisions.gpkg")
        city.roads.to_file(folder / "roads.gpkg")
        shapefile = folder / "buildings.shp"
        buildings = city.buildings.drop(columns=["subdistrict", "division_code"])  # found from where they stand
        buildings.to_crs("EPSG:4544").to_file(shapefile, encoding="GBK")
        shapefile.with_suffix(".cpg").unlink()

        started = time.perf_counter()
        pyogrio.read_dataframe(shapefile, encoding="GB18030")
        read_only = time.perf_counter() - started

        app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}"})
        with app.app_context():
            schema.upgrade(db.engine)
            importers.import_file(db.session, "divisions", folder / "divisions.gpkg")
            importers.import_file(db.session, "roads", folder / "roads.gpkg")
            timings = {}
            for run in ("first import", "re-import"):
                started = time.perf_counter()
                report = importers.import_file(db.session, "buildings", shapefile)
                timings[run] = time.perf_counter() - started
                print(f"{run}: read {report.read}, imported {report.imported}, updated {report.updated}, "
                      f"refused {report.refused}", flush=True)

    print(f"\n{args.buildings} buildings, GBK Shapefile in EPSG:4544, SQLite")
    print(f"  pyogrio reading the file alone   {read_only:6.1f} s")
    for run, seconds in timings.items():
        verdict = "ok" if seconds <= BUDGET_SECONDS else "OVER BUDGET"
        print(f"  {run:32} {seconds:6.1f} s   {seconds / read_only:5.1f}× reading alone   "
              f"{seconds / BUDGET_SECONDS:.2f} of the {BUDGET_SECONDS:.0f} s budget  {verdict}")


if __name__ == "__main__":
    main()
