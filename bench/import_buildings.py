"""Import the demo city's buildings from a Shapefile, as a GIS desk would hand it over
(CGCS2000 Gauss-Kruger, GBK text), then import the same file again: at 55,000 buildings and,
with --buildings N, at N too.

Prints each import's seconds (against the one-minute budget at 55,000), its ratio to reading
the same file with pyogrio alone, and the importing process's peak memory; with N, the ratio
of N's peak to 55,000's (the file streams in chunks: target ≤ 1.25). Each import runs in a
process of its own, so that its peak is its own.

    python bench/import_buildings.py [--buildings N] [--database URL]

`--database` names a PostGIS server database (a fresh one is made per size, its name with
_import_<size> after it); SQLite in a temporary folder otherwise.
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import pyogrio
from harness import memory_mb, postgis_database
from sqlalchemy.engine import make_url

from gis.synthetic import DEFAULT_BUILDINGS, generate_city

BUDGET_SECONDS = 60.0
PEAK_RATIO_TARGET = 1.25
CHUNK_ROWS = 50_000  # rows the file is written a chunk at a time


def write_city(buildings: int, folder: Path) -> Path:
    """The city's divisions and roads as GeoPackages and its buildings as a GBK Shapefile."""
    city = generate_city(buildings=buildings, seed=1)
    city.divisions.to_file(folder / "divisions.gpkg")
    city.roads.to_file(folder / "roads.gpkg")
    shapefile = folder / "buildings.shp"
    for i, chunk in enumerate(city.building_chunks(CHUNK_ROWS)):
        chunk = chunk.drop(columns=["subdistrict", "division_code"])  # found from where they stand
        pyogrio.write_dataframe(chunk.to_crs("EPSG:4544"), shapefile, encoding="GBK", append=i > 0)
    shapefile.with_suffix(".cpg").unlink(missing_ok=True)
    return shapefile


def fresh_database(server: str | None, folder: Path, size: int) -> str:
    if server is None:
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    url = make_url(server)
    return postgis_database(url.set(database=f"{url.database}_import_{size}").render_as_string(hide_password=False),
                            fresh=True)


def import_twice(database_url: str, folder: Path, results) -> None:
    """In a process of its own: the registry, then the buildings twice; timings and the buildings'
    peak memory (getrusage's would include the parent's, which Linux carries across exec)."""
    from platesvc import create_app
    from platesvc.intake import importers
    from platesvc.store import migrations
    from platesvc.store.database import db

    app = create_app({"DATABASE_URL": database_url})
    with app.app_context():
        migrations.upgrade(db.engine)
        importers.import_file(db.session, "divisions", folder / "divisions.gpkg")
        importers.import_file(db.session, "roads", folder / "roads.gpkg")
        floor = memory_mb()
        Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
        timings = {}
        for run in ("first import", "re-import"):
            started = time.perf_counter()
            result = importers.import_file(db.session, "buildings", folder / "buildings.shp")
            timings[run] = time.perf_counter() - started
            print(f"  {run}: read {result.read}, imported {result.imported}, updated {result.updated}, "
                  f"refused {result.refused}", flush=True)
    results.put((timings, floor, memory_mb(field="VmHWM")))


def measure(size: int, server: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"writing a {size}-building city…", flush=True)
        shapefile = write_city(size, folder)
        started = time.perf_counter()
        pyogrio.read_dataframe(shapefile, encoding="GB18030")
        read_only = time.perf_counter() - started
        results = multiprocessing.get_context("spawn").Queue()
        process = multiprocessing.get_context("spawn").Process(
            target=import_twice, args=(fresh_database(server, folder, size), folder, results))
        process.start()
        timings, floor, peak = results.get()
        process.join()
    return {"size": size, "read_only": read_only, "timings": timings, "floor": floor, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--database", help="a PostGIS URL (default: SQLite)")
    args = parser.parse_args()

    sizes = sorted({DEFAULT_BUILDINGS, args.buildings})
    measured = [measure(size, args.database) for size in sizes]
    backend = "PostGIS" if args.database else "SQLite"
    for result in measured:
        print(f"\n{result['size']} buildings, GBK Shapefile in EPSG:4544, {backend}")
        print(f"  pyogrio reading the file alone   {result['read_only']:7.1f} s")
        for run, seconds in result["timings"].items():
            verdict = ""
            if result["size"] == DEFAULT_BUILDINGS:
                verdict = (f"   {seconds / BUDGET_SECONDS:.2f} of the {BUDGET_SECONDS:.0f} s budget  "
                           f"{'ok' if seconds <= BUDGET_SECONDS else 'OVER BUDGET'}")
            print(f"  {run:32} {seconds:7.1f} s   {seconds / result['read_only']:5.1f}× reading alone{verdict}")
        print(f"  peak memory {result['peak']:.0f} MiB (the process before the buildings: {result['floor']:.0f} MiB)")
    if len(measured) == 2:
        ratio = measured[1]["peak"] / measured[0]["peak"]
        print(f"\npeak memory at {measured[1]['size']} / at {measured[0]['size']}: {ratio:.2f} "
              f"(target ≤ {PEAK_RATIO_TARGET}) {'ok' if ratio <= PEAK_RATIO_TARGET else 'OVER'}")


if __name__ == "__main__":
    main()
