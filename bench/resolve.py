"""Requests per second of the plate resolve (JSON), the plate page (HTML), nearby (k=5) and
OGC items in a 1 km box under gunicorn, as ratios to a bare Flask endpoint returning a
constant JSON, all measured in this run.

The demo city is seeded into a fresh SQLite database (or --database is reused), then
each server runs with the same gunicorn worker count and class, and wrk asks for
random plates (or random places in the city). A shared machine's speed drifts by tens of
per cent within a minute, so each endpoint's run is paired with a run of the bare app
just before it, and each ratio is taken within its pair; the median of the rounds'
ratios is reported, each beside its bare rate. Targets: JSON >= 0.7, HTML >= 0.5, nearby >= 0.5,
items >= 0.25 (a page is read from the store on every request, not from the worker's memory).

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
import statistics
import sys
import tempfile
from pathlib import Path

from harness import (
    NEARBY_SCRIPT,
    PICK_SCRIPT,
    WALK_SCRIPT,
    app_environment,
    items_script,
    pinned,
    require_wrk,
    run_wrk,
    seed,
    start_gunicorn,
    stop,
)

from gis.synthetic import DEFAULT_BUILDINGS

TARGETS = {"json": 0.7, "html": 0.5, "nearby": 0.5, "items": 0.25}
LABELS = {"json": "GET /api/v1/plates/<id>", "json-first": "  the same, first scans",
          "html": "GET /P/<id> (page)", "html-first": "  the same, first scans",
          "nearby": "GET /api/v1/nearby k=5", "items": "GET /ogc/…/items, 1 km box"}
WARM_SECONDS = 10  # each hot plate is asked for some ten times: every worker has rendered it


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
    require_wrk()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.database or Path(tmp) / 'bench.sqlite3'}"
        every_plate = seed(url, args.buildings)
        random.Random(1).shuffle(every_plate)
        hot, first = every_plate[:args.hot_plates], every_plate[args.hot_plates:]
        scripts = {}
        for kind, prefix in (("json", "/api/v1/plates/"), ("html", "/P/")):
            scripts[kind] = Path(tmp) / f"{kind}.lua"
            scripts[kind].write_text(PICK_SCRIPT % (",".join(f'"{i}"' for i in hot), prefix))
            # A worker's first scan of each of these: a whole round never comes round to one twice.
            scripts[f"{kind}-first"] = Path(tmp) / f"{kind}-first.lua"
            scripts[f"{kind}-first"].write_text(WALK_SCRIPT % (",".join(f'"{i}"' for i in first), prefix))
        for kind, text in (("nearby", NEARBY_SCRIPT), ("items", items_script())):
            scripts[kind] = Path(tmp) / f"{kind}.lua"
            scripts[kind].write_text(text)

        env = app_environment(url, tmp)
        bare, bare_url = start_gunicorn("bare_flask:app", args.workers, env)
        app, app_url = start_gunicorn("platesvc:create_app()", args.workers, env)
        try:
            for kind, script in scripts.items():  # warm every worker's snapshot, connection and hot plates
                if not kind.endswith("-first"):
                    run_wrk(app_url, WARM_SECONDS if kind in ("json", "html") else 1, args.connections, script)
            rates = {kind: [] for kind in scripts}
            bares = {kind: [] for kind in scripts}  # the bare run paired with each
            for round_number in range(1, args.rounds + 1):
                for kind, script in scripts.items():
                    bares[kind].append(run_wrk(bare_url + "/", args.seconds, args.connections).rate)
                    # Each round walks on from where the last one stopped.
                    start = str((round_number - 1) * len(first) // args.rounds)
                    rates[kind].append(run_wrk(app_url, args.seconds, args.connections, script, start).rate)
                print(f"round {round_number}: " + ", ".join(
                    f"{kind} {rates[kind][-1]:.0f}/s ({rates[kind][-1] / bares[kind][-1]:.2f} of bare "
                    f"{bares[kind][-1]:.0f}/s)" for kind in scripts), flush=True)
        finally:
            stop(bare, app)

    print(f"\ngunicorn, {args.workers} gevent workers (as platesvc serve), wrk 1 thread × {args.connections} "
          f"connections ({pinned()}), {args.rounds} rounds of {args.seconds} s each, every one paired with a bare run; "
          f"repeat scans among {len(hot)} plates; medians")
    below = []
    for kind, label in LABELS.items():
        ratio = statistics.median(rate / bare for rate, bare in zip(rates[kind], bares[kind], strict=True))
        line = (f"  {label:26} {statistics.median(rates[kind]):8.0f} req/s   ratio {ratio:.2f} to bare "
                f"{statistics.median(bares[kind]):.0f}/s")
        if kind not in TARGETS:
            print(f"{line} (for information)")
            continue
        print(f"{line} (target ≥ {TARGETS[kind]})  {'ok' if ratio >= TARGETS[kind] else 'BELOW TARGET'}")
        if ratio < TARGETS[kind]:
            below.append(kind)
    sys.exit(1 if below else 0)


if __name__ == "__main__":
    main()
