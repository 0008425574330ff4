"""The map page on a fresh worker: how long the first GET /map takes in a worker that has just started
(and answered only its readiness check), against the first page of a bare Flask app started the same
way, in the same run.

The page learns the map's bounds from the store's index (its extent) and where to open from the
worker's reference snapshot (service points), so it costs the same at 5,000 plates or 1,000,000;
it once built a feature index of every plate first (4–20 s at 55,000). Target: under 100 ms.
Each round starts both servers afresh; the medians of --rounds rounds are printed, with the
lowest and highest, and the ratio of ours to the bare app's.

    python bench/map_page.py [--buildings N] [--database FILE] [--rounds R]
"""

import argparse
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import app_environment, seed, start_gunicorn, stop

TARGET_MS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=55_000)
    parser.add_argument("--database", help="reuse this SQLite file (seeded on first use)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.database or Path(tmp) / 'bench.sqlite3'}"
        seed(url, args.buildings)
        env = app_environment(url, tmp)
        times = {"bare Flask, first /page": [], "our /map, first": [], "our /map, second": []}
        for _ in range(args.rounds):
            bare, bare_url = start_gunicorn("bare_flask:app", 1, env)
            try:
                times["bare Flask, first /page"].append(_get_ms(f"{bare_url}/page"))
            finally:
                stop(bare)
            app, app_url = start_gunicorn("platesvc:create_app()", 1, env)
            try:
                times["our /map, first"].append(_get_ms(f"{app_url}/map"))
                times["our /map, second"].append(_get_ms(f"{app_url}/map"))
            finally:
                stop(app)
    print(f"\nThe map page on a fresh worker ({args.buildings:,} buildings, SQLite, {args.rounds} rounds; "
          f"medians, lowest–highest; target: under {TARGET_MS} ms)")
    bare = statistics.median(times["bare Flask, first /page"])
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"  {name:26} {median:7.1f} ms ({min(measured):.1f}–{max(measured):.1f})  {median / bare:5.1f}× the bare")
    first = statistics.median(times["our /map, first"])
    print(f"  {'ok' if first < TARGET_MS else 'ABOVE TARGET'}")


def _get_ms(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
