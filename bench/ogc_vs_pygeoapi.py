"""OGC API - Features items throughput beside pygeoapi, both serving the same plates from PostGIS.

The demo city is seeded into a PostGIS database (reused when already there). pygeoapi,
in a virtualenv of its own (made on first use: its pins are not ours), serves a view of the
same plates (id, status, road, number, district, community, point) through its PostgreSQL
provider. Both run under gunicorn with the same workers; wrk asks each for a random 1 km box
in the urban core, default page size, in alternating rounds. Prints requests per second and
ours ÷ pygeoapi's (target ≥ 2); exits 1 below it.

    python bench/ogc_vs_pygeoapi.py [--database URL] [--workers W] [--seconds S] [--rounds R]

Needs wrk and a PostgreSQL server with PostGIS where the user may create databases.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from harness import (
    app_environment,
    items_script,
    plate_view,
    postgis_database,
    run_wrk,
    seed,
    start_gunicorn,
    stop,
)
from sqlalchemy import make_url

from gis.synthetic import DEFAULT_BUILDINGS

TARGET = 2.0
PYGEOAPI_VERSION = "0.21.0"
PYGEOAPI_VENV = Path(__file__).resolve().parents[1] / ".venv-pygeoapi"
def prepare_database(url: str, buildings: int) -> None:
    seed(postgis_database(url), buildings)
    plate_view(url)


def pygeoapi_venv() -> Path:
    python = PYGEOAPI_VENV / "bin" / "python"
    if not (PYGEOAPI_VENV / "bin" / "gunicorn").exists():
        print(f"making {PYGEOAPI_VENV} with pygeoapi {PYGEOAPI_VERSION}…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"pygeoapi=={PYGEOAPI_VERSION}",
                        "psycopg2-binary", "geoalchemy2", "gunicorn"], check=True)
    return PYGEOAPI_VENV / "bin"


def pygeoapi_config(url: str, base: str) -> dict:
    parts = make_url(url)
    return {
        "server": {"bind": {"host": "127.0.0.1", "port": 0}, "url": base, "mimetype": "application/json; charset=UTF-8",
                   "encoding": "utf-8", "languages": ["en-US"], "limits": {"default_items": 10, "max_items": 1000},
                   "map": {"url": "", "attribution": ""}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "plates", "description": "the same plates", "keywords": ["plates"],
                               "keywords_type": "theme", "terms_of_service": "", "url": base},
            "license": {"name": "none", "url": base}, "provider": {"name": "bench", "url": base},
            "contact": {"name": "bench", "email": "bench@example.org"}},
        "resources": {"plates": {
            "type": "collection", "title": "Door plates", "description": "Every plate in use",
            "keywords": ["plates"],
            "extents": {"spatial": {"bbox": [105.5, 37.5, 107.5, 39.5],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", "name": "PostgreSQL", "id_field": "id", "table": "plate_features",
                           "geom_field": "geom",
                           "data": {"host": parts.host or "127.0.0.1", "port": parts.port or 5432,
                                    "dbname": parts.database, "user": parts.username or "postgres",
                                    "password": parts.password or "", "search_path": ["public"]}}],
        }},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get(
        "PLATESVC_BENCH_POSTGIS_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/platesvc_bench"))
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    prepare_database(args.database, args.buildings)
    tools = pygeoapi_venv()
    with tempfile.TemporaryDirectory() as tmp:
        ours_env = app_environment(args.database, tmp)
        ours, ours_url = start_gunicorn("platesvc:create_app()", args.workers, ours_env)
        config, openapi = Path(tmp) / "pygeoapi.yml", Path(tmp) / "openapi.yml"
        # pygeoapi reads YAML; JSON is YAML.
        config.write_text(json.dumps(pygeoapi_config(args.database, "http://127.0.0.1")))
        theirs_env = {"PATH": os.environ["PATH"], "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        subprocess.run([str(tools / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
                       env=theirs_env, check=True, stdout=subprocess.DEVNULL)
        theirs, theirs_url = start_gunicorn("pygeoapi.flask_app:APP", args.workers, theirs_env,
                                            gunicorn=tools / "gunicorn", ready_path="/conformance",
                                            settings=None)  # its own venv: gunicorn's sync workers
        try:
            box = "106.26,38.46,106.27148,38.46899"
            # A page that can hold them all, so that both count every match.
            matched = [json.load(urllib.request.urlopen(f"{base}/collections/plates/items?bbox={box}&limit=1000")
                                 )["numberMatched"] for base in (f"{ours_url}/ogc", theirs_url)]
            print(f"the same 1 km box matches {matched[0]} plates here and {matched[1]} in pygeoapi")
            if matched[0] != matched[1]:
                raise SystemExit("the two servers do not serve the same plates")
            ours_script = Path(tmp) / "ours.lua"
            ours_script.write_text(items_script("/ogc"))
            theirs_script = Path(tmp) / "theirs.lua"
            theirs_script.write_text(items_script(""))
            for url, lua in ((ours_url, ours_script), (theirs_url, theirs_script)):
                run_wrk(url, 1, args.connections, lua)  # warm up
            rates = {"ours": [], "pygeoapi": []}
            for round_number in range(1, args.rounds + 1):
                rates["ours"].append(run_wrk(ours_url, args.seconds, args.connections, ours_script).rate)
                rates["pygeoapi"].append(run_wrk(theirs_url, args.seconds, args.connections, theirs_script).rate)
                print(f"round {round_number}: ours {rates['ours'][-1]:.0f}/s, pygeoapi {rates['pygeoapi'][-1]:.0f}/s",
                      flush=True)
        finally:
            stop(ours, theirs)

    ours_rate, theirs_rate = statistics.median(rates["ours"]), statistics.median(rates["pygeoapi"])
    ratio = ours_rate / theirs_rate
    print(f"\ngunicorn, {args.workers} workers each (ours gevent, theirs sync), PostGIS, 1 km boxes, "
          f"{args.rounds} rounds of {args.seconds} s")
    print(f"  platesvc /ogc items   {ours_rate:8.0f} req/s")
    print(f"  pygeoapi {PYGEOAPI_VERSION} items {theirs_rate:8.0f} req/s")
    print(f"  ratio {ratio:.2f} (target ≥ {TARGET})  {'ok' if ratio >= TARGET else 'BELOW TARGET'}")
    sys.exit(0 if ratio >= TARGET else 1)


if __name__ == "__main__":
    main()
