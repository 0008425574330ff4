"""OGC items and vector tiles beside tipg, both serving the same plates from the same PostGIS.

The demo city is seeded into a PostGIS database (reused when already there; --buildings picks
its size). tipg, in a virtualenv of its own (made on first use), serves a view of the same
plates through uvicorn with the same number of workers as our gunicorn. wrk asks each, in
alternating rounds, for items in random 1 km boxes of the urban core (limit 100) and for
zoom-15 tiles over it. Prints requests per second and ours ÷ tipg's for each (target ≥ 1.5);
exits 1 below it.

    python bench/ogc_vs_tipg.py [--database URL] [--buildings N] [--workers W] [--seconds S] [--rounds R]

Needs wrk and a PostgreSQL server with PostGIS where the user may create databases.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import (
    app_environment,
    free_port,
    items_script,
    pinned,
    plate_view,
    postgis_database,
    require_wrk,
    run_wrk,
    seed,
    start_gunicorn,
    stop,
    tile_script,
)
from sqlalchemy import make_url

from gis.synthetic import DEFAULT_BUILDINGS

TARGET = 1.5
TIPG_VERSION = "1.6.1"
TIPG_VENV = Path(__file__).resolve().parents[1] / ".venv-tipg"
COLLECTION = "public.plate_features"


def tipg_venv() -> Path:
    if not (TIPG_VENV / "bin" / "uvicorn").exists():
        print(f"making {TIPG_VENV} with tipg {TIPG_VERSION}…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(TIPG_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        f"tipg=={TIPG_VERSION}", "uvicorn"], check=True)
    return TIPG_VENV / "bin"


def start_tipg(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DATABASE_URL": make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
           "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "1000"}
    uvicorn = str(tipg_venv() / "uvicorn")
    server = subprocess.Popen([uvicorn, "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                              env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{base}/collections/{COLLECTION}", timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def matched(url: str) -> set[str]:
    """The ids of the plates in a box 200 m on a side (small enough for one page at any size here)."""
    box = "106.26,38.46,106.2623,38.4618"
    features = json.load(urllib.request.urlopen(f"{url}/items?bbox={box}&limit=1000"))["features"]
    if len(features) >= 1000:
        raise SystemExit("the check box holds a page or more: make it smaller")
    return {str(feature["id"]) for feature in features}


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
    require_wrk()
    seed(postgis_database(args.database), args.buildings)
    plate_view(args.database)
    with tempfile.TemporaryDirectory() as tmp:
        ours, ours_url = start_gunicorn("platesvc:create_app()", args.workers, app_environment(args.database, tmp))
        theirs, theirs_url = start_tipg(args.database, args.workers)
        try:
            counts = matched(f"{ours_url}/ogc/collections/plates"), matched(f"{theirs_url}/collections/{COLLECTION}")
            print(f"the same 200 m box holds {len(counts[0])} plates here and {len(counts[1])} in tipg")
            if counts[0] != counts[1] or not counts[0]:
                raise SystemExit("the two servers do not serve the same plates")
            scripts = {}
            for name, text in (("ours-items", items_script("/ogc", "&limit=100")),
                               ("tipg-items", items_script("", "&limit=100", COLLECTION)),
                               ("ours-tile", tile_script("/tiles/plates")),
                               ("tipg-tile", tile_script(f"/collections/{COLLECTION}/tiles/WebMercatorQuad", ""))):
                scripts[name] = Path(tmp) / f"{name}.lua"
                scripts[name].write_text(text)
            servers = {"ours": ours_url, "tipg": theirs_url}
            for name, script in scripts.items():  # warm up
                run_wrk(servers[name.split("-")[0]], 2, args.connections, script)
            rates = {name: [] for name in scripts}
            for round_number in range(1, args.rounds + 1):
                for name, script in scripts.items():
                    rates[name].append(run_wrk(servers[name.split("-")[0]], args.seconds, args.connections,
                                               script).rate)
                print(f"round {round_number}: " + ", ".join(f"{name} {rates[name][-1]:.0f}/s" for name in scripts),
                      flush=True)
        finally:
            stop(ours, theirs)

    print(f"\nPostGIS, {args.buildings} buildings; gunicorn {args.workers} gevent workers against uvicorn "
          f"{args.workers} workers; wrk ({pinned()}); {args.rounds} rounds of {args.seconds} s; medians")
    ok = True
    for kind, label in (("items", "items, 1 km box, limit 100"), ("tile", "z15 plate tile")):
        ours_rate, theirs_rate = statistics.median(rates[f"ours-{kind}"]), statistics.median(rates[f"tipg-{kind}"])
        ratio = ours_rate / theirs_rate
        ok &= ratio >= TARGET
        print(f"  {label:28} platesvc {ours_rate:7.0f} req/s   tipg {TIPG_VERSION} {theirs_rate:7.0f} req/s   "
              f"ratio {ratio:.2f} (target ≥ {TARGET})  {'ok' if ratio >= TARGET else 'BELOW TARGET'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
