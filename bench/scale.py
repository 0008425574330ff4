"""A million plates served as fast as 55,000: throughput, latency and worker memory at two sizes on PostGIS.

Seeds N buildings (default 1,000,000) and 55,000 into PostGIS (databases platesvc_scale_<N>,
reused when already seeded; --fresh seeds them again), each with `platesvc demo seed` then
`platesvc plates issue` as processes of their own, whose time, linking stage and peak
memory are printed. Then serves each database with the same gunicorn workers and loads it
with wrk, every run paired with a run of the bare Flask app just before it:

- repeat JSON scans and pages among 1,000 plates every worker has rendered;
- nearby with k = 5 at random places; OGC items for random 1 km boxes, limit 100; zoom-15
  plate tiles over the urban core;
- then items and JSON scans again while staff change one plate's status every second.

Prints requests per second and p99 for each, the ratio to bare (targets: JSON ≥ 0.7, page ≥ 0.5,
nearby ≥ 0.5, items ≥ 0.25) and of N to 55,000 (target ≥ 0.9 each), each worker's resident
memory after the load (target ≤ 300 MB at N, within 10% of 55,000's), and the p99 under churn
against steady (target ≤ 2). Exits 1 if a target is missed.

With --replica (a URL of a streaming replica of the same server), N's scans, nearby and items
are loaded once more with public reads on the replica.

    python bench/scale.py [--buildings N] [--database-prefix URL] [--fresh] [--replica URL] [--workers W]
                          [--seconds S] [--rounds R]

Needs wrk and a PostgreSQL server with PostGIS where the user may create databases.
"""

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    NEARBY_SCRIPT,
    PICK_SCRIPT,
    app_environment,
    items_script,
    pinned,
    postgis_database,
    require_wrk,
    run_wrk,
    start_gunicorn,
    stop,
    tile_script,
    workers_rss_mb,
)
from sqlalchemy import create_engine, make_url, select, text

from platesvc import create_app
from platesvc.registry import lifecycle
from platesvc.registry.audit import Actor
from platesvc.store.database import db
from platesvc.store.models import Plate, PlateStatus

SMALL = 55_000
PLATESVC = Path(sys.executable).with_name("platesvc")
TO_BARE = {"json": 0.7, "html": 0.5, "nearby": 0.5, "items": 0.25}
TO_SMALL = 0.9
RSS_LIMIT_MB = 300
RSS_SPREAD = 0.10
CHURN_LIMIT = 2.0
LABELS = {"json": "JSON scan", "html": "page", "nearby": "nearby k=5", "items": "items 1 km, limit 100",
          "tile": "z15 plate tile"}
WARM_SECONDS = 10
# The next status a bench "staff member" gives a plate, so that every change is a real transition.
CHURN_NEXT = {PlateStatus.ISSUED: PlateStatus.PRINTED, PlateStatus.PRINTED: PlateStatus.INSTALLED,
              PlateStatus.INSTALLED: PlateStatus.MISSING, PlateStatus.MISSING: PlateStatus.INSTALLED,
              PlateStatus.DAMAGED: PlateStatus.REPLACED, PlateStatus.REPLACED: PlateStatus.INSTALLED}


@dataclass
class Size:
    buildings: int
    url: str
    timings: dict[str, str] = field(default_factory=dict)  # stage → what it took, for the report
    rates: dict[str, list[float]] = field(default_factory=dict)
    bares: dict[str, list[float]] = field(default_factory=dict)
    p99: dict[str, list[float]] = field(default_factory=dict)
    churn_p99: dict[str, list[float]] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)
    replica_rates: dict[str, list[float]] = field(default_factory=dict)


def run_command(*arguments: str, env: dict) -> tuple[float, float, str]:
    """A platesvc command as its own process: seconds, its peak resident MiB, and what it printed."""
    started = time.monotonic()
    process = subprocess.Popen([str(PLATESVC), *arguments], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"platesvc {' '.join(arguments)} failed:\n{output}")
    return time.monotonic() - started, usage.ru_maxrss / 1024, output


def prepare(size: Size, fresh: bool) -> None:
    """Seed and issue the city unless the database has it already; note how long each took."""
    postgis_database(size.url, fresh)
    env = {**os.environ, "PLATESVC_DATABASE_URL": size.url}
    subprocess.run([str(PLATESVC), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    app = create_app({"DATABASE_URL": size.url})
    with app.app_context():
        present = db.session.scalar(select(Plate.id).limit(1)) is not None
        db.engine.dispose()
    if present:
        size.timings["seed and issue"] = "already seeded (--fresh to measure)"
        return
    print(f"seeding {size.buildings} buildings into {make_url(size.url).database}…", flush=True)
    seconds, peak, output = run_command("demo", "seed", "--buildings", str(size.buildings), env=env)
    stages = {match[1]: float(match[0]) for match in re.findall(r"\[\s*([\d.]+)s\] (\w+)", output)}
    linking = seconds - stages.get("linking", seconds)
    size.timings["seed"] = f"{seconds:.0f} s, peak {peak:.0f} MiB (of which linking {linking:.0f} s)"
    issue_seconds, issue_peak, _ = run_command("plates", "issue", env=env)
    size.timings["issue"] = f"{issue_seconds:.0f} s, peak {issue_peak:.0f} MiB"
    size.timings["seed and issue"] = f"{seconds + issue_seconds:.0f} s (target ≤ 600 s at 1,000,000)"
    subprocess.run(["psql", _libpq_url(size.url), "-qc", "VACUUM ANALYZE"], check=True)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def plate_ids(url: str, count: int) -> list[str]:
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        chosen = list(db.session.scalars(select(Plate.id).order_by(Plate.id)))
        db.engine.dispose()
    return random.Random(1).sample(chosen, min(count, len(chosen)))


class Churn:
    """One plate status change a second, as staff marking plates would make them, on a thread of its own."""

    def __init__(self, url: str, plates: list[str]):
        self._app = create_app({"DATABASE_URL": url})
        self._plates = plates
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.changes = 0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pick = random.Random(2)
        with self._app.app_context():
            while not self._stop.wait(1.0):
                plate = db.session.get(Plate, pick.choice(self._plates))
                target = CHURN_NEXT.get(PlateStatus(plate.status))
                if target is not None:
                    lifecycle.change_plate_status(db.session, plate, target, Actor("bench"), reason="bench churn")
                    db.session.commit()
                    self.changes += 1
            db.session.remove()
            db.engine.dispose()


def load_on_replica(size: Size, args, tmp: Path, scripts: dict[str, Path]) -> None:
    """The same loads with public reads on the replica (--replica): what it takes off the primary."""
    replica = make_url(args.replica).set(database=make_url(size.url).database).render_as_string(hide_password=False)
    primary, standby = create_engine(size.url), create_engine(replica)
    with primary.connect() as connection:
        target = connection.scalar(text("SELECT pg_current_wal_lsn()"))
    with standby.connect() as connection:  # the replica has replayed the seeding
        while not connection.scalar(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": target}):
            time.sleep(1)
    primary.dispose()
    standby.dispose()
    server, url = start_gunicorn("platesvc:create_app()", args.workers,
                                 app_environment(size.url, str(tmp), DATABASE_REPLICA_URLS=replica))
    try:
        for kind in ("json", "nearby", "items"):
            run_wrk(url, 2, args.connections, scripts[kind])
            for _ in range(args.rounds):
                size.replica_rates.setdefault(kind, []).append(run_wrk(url, args.seconds, args.connections,
                                                                       scripts[kind]).rate)
    finally:
        stop(server)


def load(size: Size, args, tmp: Path, bare_url: str) -> None:
    hot = plate_ids(size.url, 1000)
    scripts = {}
    for kind, prefix in (("json", "/api/v1/plates/"), ("html", "/P/")):
        scripts[kind] = tmp / f"{kind}-{size.buildings}.lua"
        scripts[kind].write_text(PICK_SCRIPT % (",".join(f'"{i}"' for i in hot), prefix))
    for kind, lua in (("nearby", NEARBY_SCRIPT), ("items", items_script("/ogc", "&limit=100")),
                      ("tile", tile_script())):
        scripts[kind] = tmp / f"{kind}.lua"
        scripts[kind].write_text(lua)
    server, url = start_gunicorn("platesvc:create_app()", args.workers, app_environment(size.url, str(tmp)))
    try:
        for kind, script in scripts.items():  # every worker's connection, snapshot and hot plates
            run_wrk(url, WARM_SECONDS if kind in ("json", "html") else 2, args.connections, script)
        for round_number in range(1, args.rounds + 1):
            for kind, script in scripts.items():
                size.bares.setdefault(kind, []).append(run_wrk(bare_url + "/", args.seconds, args.connections).rate)
                result = run_wrk(url, args.seconds, args.connections, script)
                size.rates.setdefault(kind, []).append(result.rate)
                size.p99.setdefault(kind, []).append(result.p99_ms)
            print(f"{size.buildings}, round {round_number}: " + ", ".join(
                f"{kind} {size.rates[kind][-1]:.0f}/s p99 {size.p99[kind][-1]:.1f} ms" for kind in scripts), flush=True)
        size.rss_mb = workers_rss_mb(server)
        with Churn(size.url, hot) as churn:
            for _ in range(args.rounds):
                for kind in ("items", "json"):
                    size.churn_p99.setdefault(kind, []).append(
                        run_wrk(url, args.seconds, args.connections, scripts[kind]).p99_ms)
        print(f"{size.buildings}: {churn.changes} plate status changes during the churn runs", flush=True)
    finally:
        stop(server)
    if args.replica and size.buildings == args.buildings:
        load_on_replica(size, args, tmp, scripts)


def report(large: Size, small: Size, args) -> bool:
    ok = True
    print(f"\nPostGIS, gunicorn {args.workers} gevent workers, wrk 1 thread × {args.connections} connections "
          f"({pinned()}), {args.rounds} rounds of {args.seconds} s, each paired with a bare run; medians")
    for size in (large, small):
        for stage, what in size.timings.items():
            print(f"  {size.buildings:>9,} {stage}: {what}")
    print(f"\n  {'':24}{large.buildings:>10,}  p99 ms {small.buildings:>10,}  p99 ms   to bare (bare/s)   "
          f"{large.buildings:,} ÷ {small.buildings:,}")
    for kind, label in LABELS.items():
        rate_large, rate_small = statistics.median(large.rates[kind]), statistics.median(small.rates[kind])
        to_bare = statistics.median(r / b for r, b in zip(large.rates[kind], large.bares[kind], strict=True))
        to_small = rate_large / rate_small
        verdicts = []
        if kind in TO_BARE and to_bare < TO_BARE[kind]:
            verdicts.append(f"BELOW {TO_BARE[kind]} to bare")
        if to_small < TO_SMALL:
            verdicts.append(f"BELOW {TO_SMALL} of 55,000")
        ok &= not verdicts
        print(f"  {label:24}{rate_large:>10.0f}  {statistics.median(large.p99[kind]):6.1f} {rate_small:>10.0f}  "
              f"{statistics.median(small.p99[kind]):6.1f}   {to_bare:.2f} ({statistics.median(large.bares[kind]):.0f})"
              f"{' (target ≥ ' + str(TO_BARE[kind]) + ')' if kind in TO_BARE else ''}   {to_small:.2f}"
              f"  {'; '.join(verdicts) or 'ok'}")
    most_large, most_small = max(large.rss_mb), max(small.rss_mb)
    spread = most_large / most_small - 1
    rss_ok = most_large <= RSS_LIMIT_MB and abs(spread) <= RSS_SPREAD
    ok &= rss_ok
    print(f"\n  worker RSS after the load: {', '.join(f'{v:.0f}' for v in large.rss_mb)} MiB at {large.buildings:,}, "
          f"{', '.join(f'{v:.0f}' for v in small.rss_mb)} MiB at {small.buildings:,}: largest {spread:+.0%} "
          f"(targets ≤ {RSS_LIMIT_MB} MiB, within ±{RSS_SPREAD:.0%})  {'ok' if rss_ok else 'MISSED'}")
    for kind, rates in large.replica_rates.items():
        print(f"  {large.buildings:>9,} {LABELS[kind]} with reads on the replica: "
              f"{statistics.median(rates):.0f} req/s, "
              f"{statistics.median(rates) / statistics.median(large.rates[kind]):.2f}× the primary alone")
    for size in (large, small):
        for kind in ("items", "json"):
            ratio = statistics.median(size.churn_p99[kind]) / statistics.median(size.p99[kind])
            ok &= ratio <= CHURN_LIMIT
            print(f"  {size.buildings:>9,} {LABELS[kind]} p99 with a plate change a second: "
                  f"{statistics.median(size.churn_p99[kind]):.1f} ms, {ratio:.2f}× steady "
                  f"(target ≤ {CHURN_LIMIT})  {'ok' if ratio <= CHURN_LIMIT else 'MISSED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--database-prefix", default=os.environ.get(
        "PLATESVC_BENCH_POSTGIS_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/platesvc_scale"),
        help="a PostGIS URL; each size's database is this name with _<buildings> after it")
    parser.add_argument("--fresh", action="store_true", help="seed both databases again, timing it")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--replica", help="a streaming replica's server URL: load N again with reads on it")
    args = parser.parse_args()
    require_wrk()
    prefix = make_url(args.database_prefix)
    sizes = [Size(n, prefix.set(database=f"{prefix.database}_{n}").render_as_string(hide_password=False))
             for n in (args.buildings, SMALL)]
    for size in sizes:
        prepare(size, args.fresh)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        bare, bare_url = start_gunicorn("bare_flask:app", args.workers, app_environment(sizes[1].url, folder))
        try:
            for size in sizes:
                load(size, args, tmp, bare_url)
        finally:
            stop(bare)
    sys.exit(0 if report(*sizes, args) else 1)


if __name__ == "__main__":
    main()
