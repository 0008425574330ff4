"""Requests per second of the plate resolve (JSON), the plate page (HTML), nearby (k=5) and
OGC items in a 1 km box under gunicorn, as ratios to a bare Flask endpoint returning a
constant JSON, all measured in this run.

The demo city is seeded into a fresh SQLite database (or --database is reused), then
each server runs with the same gunicorn worker count and class, and wrk asks for
random plates (or random places in the city). A shared machine's speed drifts by tens of
per cent within a minute, so each endpoint's run is paired with a run of the bare app
just before it, and each ratio is taken within its pair; the median of the rounds'
ratios is reported. Targets: JSON >= 0.7, HTML >= 0.5, nearby >= 0.5, items >= 0.5.

Plates are asked for in two ways. "Repeat" scans pick at random among --hot-plates
plates that every worker has rendered once already (its render cache holds them):
the targets apply to these. "First" scans walk through every other plate once, so
each is read, built and rendered from scratch: printed for information, the cost of
a plate no worker has shown since the data last changed.

    python bench/resolve.py [--buildings N] [--workers W] [--seconds S] [--rounds R]

Needs wrk (Debian: apt-get install wrk).
"""

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from gis.synthetic import DEFAULT_BUILDINGS
from platesvc import create_app, schema
from platesvc.database import db
from platesvc.demo import seed_demo_city
from platesvc.models import Plate
from platesvc.plate_ids import issue_plates

TARGETS = {"json": 0.7, "html": 0.5, "nearby": 0.5, "items": 0.5}
LABELS = {"json": "GET /api/v1/plates/<id>", "json-first": "  the same, first scans",
          "html": "GET /P/<id> (page)", "html-first": "  the same, first scans",
          "nearby": "GET /api/v1/nearby k=5", "items": "GET /ogc/…/items, 1 km box"}
WARM_SECONDS = 10  # each hot plate is asked for some ten times: every worker has rendered it
BENCH_DIR = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
NEARBY_SCRIPT = """
request = function()
  local lon = 106.15 + math.random() * 0.25
  local lat = 38.40 + math.random() * 0.15
  return wrk.format("GET", string.format("/api/v1/nearby?lon=%.6f&lat=%.6f&limit=5", lon, lat))
end
"""
# A box 1 km on a side (at Yinchuan's latitude) somewhere in the urban core, default page size.
ITEMS_SCRIPT = """
request = function()
  local lon = 106.20 + math.random() * 0.12
  local lat = 38.44 + math.random() * 0.06
  return wrk.format("GET", string.format("/ogc/collections/plates/items?bbox=%.6f,%.6f,%.6f,%.6f",
                                         lon, lat, lon + 0.01148, lat + 0.00899))
end
"""
WRK_SCRIPT = """
ids = {%s}
request = function()
  return wrk.format("GET", "%s" .. ids[math.random(#ids)])
end
"""
WALK_SCRIPT = """
ids = {%s}
init = function(args)
  n = tonumber(args[1])
end
request = function()
  n = n + 1
  return wrk.format("GET", "%s" .. ids[(n - 1) %% #ids + 1])
end
"""


def seed(url: str, buildings: int) -> list[str]:
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        schema.upgrade(db.engine)
        if not db.session.scalar(select(Plate.id).limit(1)):
            print(f"seeding {buildings} buildings and issuing their plates…", flush=True)
            seed_demo_city(db.session, buildings=buildings, seed=1)
            issue_plates(db.session)
        return list(db.session.scalars(select(Plate.id)))


def app_environment(database_url: str, folder: str) -> dict:
    """The environment our app runs in under load, as `platesvc serve` runs it but for two things.

    Rate limits are off (PLATESVC_RATELIMIT_ENABLED=0, the load-test switch: one load
    generator is one client), and so is the access log, which the bare baseline's gunicorn
    does not write either. Metrics stay on, in multiprocess mode as in production.
    """
    metrics = Path(folder) / "metrics"
    metrics.mkdir(exist_ok=True)
    return {**os.environ, "PLATESVC_DATABASE_URL": database_url, "PYTHONPATH": str(BENCH_DIR.parent),
            "PLATESVC_RATELIMIT_ENABLED": "0", "PLATESVC_ACCESS_LOG": "0", "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "PLATESVC_SECRET_KEY": "bench"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, workers: int, env: dict, gunicorn: Path = GUNICORN,
                   ready_path: str = "/healthz") -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                               "--chdir", str(BENCH_DIR), "--log-level", "warning", target],
                              env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + ready_path, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None, *script_args: str) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if script:
        command[1:1] = ["-s", str(script)]
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"errors while loading {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--database", help="reuse this SQLite file (seeded on first use)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--hot-plates", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.database or Path(tmp) / 'bench.sqlite3'}"
        every_plate = seed(url, args.buildings)
        random.Random(1).shuffle(every_plate)
        hot, first = every_plate[:args.hot_plates], every_plate[args.hot_plates:]
        scripts = {}
        for kind, prefix in (("json", "/api/v1/plates/"), ("html", "/P/")):
            scripts[kind] = Path(tmp) / f"{kind}.lua"
            scripts[kind].write_text(WRK_SCRIPT % (",".join(f'"{i}"' for i in hot), prefix))
            # A worker's first scan of each of these: a whole round never comes round to one twice.
            scripts[f"{kind}-first"] = Path(tmp) / f"{kind}-first.lua"
            scripts[f"{kind}-first"].write_text(WALK_SCRIPT % (",".join(f'"{i}"' for i in first), prefix))
        for kind, text in (("nearby", NEARBY_SCRIPT), ("items", ITEMS_SCRIPT)):
            scripts[kind] = Path(tmp) / f"{kind}.lua"
            scripts[kind].write_text(text)

        env = app_environment(url, tmp)
        bare, bare_url = start_gunicorn("bare_flask:app", args.workers, env)
        app, app_url = start_gunicorn("platesvc:create_app()", args.workers, env)
        try:
            for kind, script in scripts.items():  # warm every worker's snapshot, connection and hot plates
                if not kind.endswith("-first"):
                    run_wrk(app_url, WARM_SECONDS if kind in ("json", "html") else 1, args.connections, script)
            rates = {"bare": [], **{kind: [] for kind in scripts}}
            ratios = {kind: [] for kind in scripts}
            for round_number in range(1, args.rounds + 1):
                for kind, script in scripts.items():
                    bare_rate = run_wrk(bare_url + "/", args.seconds, args.connections)
                    # Each round walks on from where the last one stopped.
                    start = str((round_number - 1) * len(first) // args.rounds)
                    rate = run_wrk(app_url, args.seconds, args.connections, script, start)
                    rates["bare"].append(bare_rate)
                    rates[kind].append(rate)
                    ratios[kind].append(rate / bare_rate)
                print(f"round {round_number}: " + ", ".join(
                    f"{kind} {rates[kind][-1]:.0f}/s ({ratios[kind][-1]:.2f})" for kind in scripts), flush=True)
        finally:
            for server in (bare, app):
                server.terminate()
                server.wait()

    median = {kind: statistics.median(values) for kind, values in rates.items()}
    print(f"\ngunicorn, {args.workers} sync workers, wrk 1 thread × {args.connections} connections, "
          f"{args.rounds} rounds of {args.seconds} s each, every one paired with a bare run; "
          f"repeat scans among {len(hot)} plates; medians")
    print(f"  bare Flask constant JSON   {median['bare']:8.0f} req/s")
    below = []
    for kind, label in LABELS.items():
        ratio = statistics.median(ratios[kind])
        if kind not in TARGETS:
            print(f"  {label:26} {median[kind]:8.0f} req/s   ratio {ratio:.2f} (for information)")
            continue
        verdict = "ok" if ratio >= TARGETS[kind] else "BELOW TARGET"
        print(f"  {label:26} {median[kind]:8.0f} req/s   ratio {ratio:.2f} (target ≥ {TARGETS[kind]})  {verdict}")
        if ratio < TARGETS[kind]:
            below.append(kind)
    sys.exit(1 if below else 0)


if __name__ == "__main__":
    main()
