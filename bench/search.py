"""Search as people type it: top-1 accuracy of the generated query set by spelling kind, and search-as-you-type
requests per second under gunicorn as a ratio to bare Flask measured in the same run, with p99.

The demo city is seeded into SQLite (or --database is reused; --postgis URL seeds and serves a PostGIS database
of --buildings instead, kept for the next run). The query set is made from the city (platesvc/search/query_set.py):
for a sample of plates each spelling people use, and queries that must find nothing; its top-1 accuracy is
printed by kind (target ≥ 95% each). The load asks `/api/v1/search` for every prefix of typed queries (Chinese,
Pinyin, initials: what a box sends as each key is pressed), at random, each round paired with a bare run just
before it; the median ratio is printed (target ≥ 0.3) with our p99 (target on 1,000,000 plates: ≤ 100 ms), for
answers each worker has kept (every prefix asked once before: people type the same beginnings) and, for
information, for answers made afresh every time (PLATESVC_SEARCH_CACHE_MB=0).

With --addok, addok (installed on first use into .venv-addok, its index in Redis db 13 of --redis) is loaded with
the same addresses and measured on the same query set and the same load, printed beside ours.

    python bench/search.py [--buildings N] [--database FILE | --postgis URL] [--addok] [--seconds S] [--rounds R]

Needs wrk (Debian: apt-get install wrk).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import (
    BENCH_DIR,
    PICK_SCRIPT,
    WALK_SCRIPT,
    app_environment,
    pinned,
    postgis_database,
    require_wrk,
    run_wrk,
    seed,
    start_gunicorn,
    stop,
)

from gis.synthetic import DEFAULT_BUILDINGS
from platesvc import create_app
from platesvc.registry.addresses import format_address
from platesvc.search import query_set
from platesvc.store.database import db
from platesvc.store.models import SearchEntry

SAMPLE, NAMED = 300, 50
TARGET_ACCURACY, TARGET_RATIO, TARGET_P99_MS = 0.95, 0.3, 100
TYPED_KINDS = ("chinese", "pinyin", "initials", "no_generic")
TYPED = 2000  # prefixes asked at random (of the set's typed queries)
WARM_SECONDS = 20
ADDOK_VENV = BENCH_DIR.parent / ".venv-addok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--database", help="reuse this SQLite file (seeded on first use)")
    parser.add_argument("--postgis", help="a PostGIS server's URL: database platesvc_search_<N> there, kept")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--addok", action="store_true", help="compare with addok on the same addresses")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="addok's Redis (its db is used whole)")
    args = parser.parse_args()
    require_wrk()

    with tempfile.TemporaryDirectory() as tmp:
        if args.postgis:
            from sqlalchemy import make_url
            url = postgis_database(make_url(args.postgis).set(database=f"platesvc_search_{args.buildings}")
                                   .render_as_string(hide_password=False))
        else:
            url = f"sqlite:///{args.database or Path(tmp) / 'bench.sqlite3'}"
        started = time.monotonic()
        seed(url, args.buildings)
        print(f"city of {args.buildings:,} buildings ready in {time.monotonic() - started:.0f} s", flush=True)
        queries, typed, addresses = _query_set(url, args.addok)
        ours = _accuracy(url, queries)
        addok = _Addok(args.redis, tmp) if args.addok else None
        if addok:
            addok.load(addresses)
            theirs = addok.accuracy(queries)
        print(f"\ntop-1 accuracy on {len(queries)} queries ({SAMPLE} plates' spellings, {NAMED} names, "
              f"{len(query_set.NOTHING)} that must find nothing):")
        for kind, value in ours.items():
            beside = f"   addok {theirs.get(kind, 0):6.1%}" if addok else ""
            print(f"  {kind:16} {value:6.1%}{beside}  {'ok' if value >= TARGET_ACCURACY else 'BELOW TARGET'}")

        script = Path(tmp) / "typed.lua"
        script.write_text(PICK_SCRIPT % (",".join(f'"{q}"' for q in typed), "/api/v1/search?limit=10&q="))
        walk = Path(tmp) / "walk.lua"
        walk.write_text(WALK_SCRIPT % (",".join(f'"{q}"' for q in typed), "/api/v1/search?limit=10&q="))
        env = app_environment(url, tmp)
        bare, bare_url = start_gunicorn("bare_flask:app", args.workers, env)
        app, app_url = start_gunicorn("platesvc:create_app()", args.workers, env)
        fresh, fresh_url = start_gunicorn("platesvc:create_app()", args.workers,
                                          app_environment(url, tmp, SEARCH_CACHE_MB="0"))
        servers = [bare, app, fresh]
        if addok:
            servers.append(addok.serve(args.workers))
            addok_script = Path(tmp) / "addok.lua"
            addok_script.write_text(PICK_SCRIPT % (",".join(f'"{q}"' for q in typed), "/search/?limit=10&q="))
        try:
            for base in (app_url, fresh_url):  # every worker's pypinyin, OpenCC and connections, unhurried
                _warm(base, typed)
            run_wrk(app_url, WARM_SECONDS, args.connections, walk, "0")  # each prefix asked of the workers once or so
            rounds, afresh = [], []
            for number in range(1, args.rounds + 1):
                bare_rate = run_wrk(bare_url + "/", args.seconds, args.connections).rate
                load = run_wrk(app_url, args.seconds, args.connections, script)
                theirs_load = run_wrk(addok.url, args.seconds, args.connections, addok_script) if addok else None
                rounds.append((bare_rate, load, theirs_load))
                bare_again = run_wrk(bare_url + "/", args.seconds, args.connections).rate
                made = run_wrk(fresh_url, args.seconds, args.connections, script)
                afresh.append((bare_again, made))
                print(f"round {number}: search {load.rate:.0f}/s p99 {load.p99_ms:.1f} ms "
                      f"({load.rate / bare_rate:.2f} of bare {bare_rate:.0f}/s); made afresh {made.rate:.0f}/s p99 "
                      f"{made.p99_ms:.1f} ms ({made.rate / bare_again:.2f} of bare {bare_again:.0f}/s)"
                      + (f"; addok {theirs_load.rate:.0f}/s p99 {theirs_load.p99_ms:.1f} ms" if addok else ""),
                      flush=True)
        finally:
            stop(*servers)

    ratio = statistics.median(load.rate / bare_rate for bare_rate, load, _ in rounds)
    p99 = statistics.median(load.p99_ms for _, load, _ in rounds)
    print(f"\ngunicorn, {args.workers} gevent workers (as platesvc serve), wrk 1 thread × {args.connections} "
          f"connections ({pinned()}), {args.rounds} rounds of {args.seconds} s, each paired with a bare run; "
          f"{len(typed)} search-as-you-type queries at random; medians; {'PostGIS' if args.postgis else 'SQLite'}, "
          f"{args.buildings:,} buildings")
    print(f"  GET /api/v1/search   {statistics.median(load.rate for _, load, _ in rounds):8.0f} req/s   ratio "
          f"{ratio:.2f} to bare {statistics.median(b for b, _, _ in rounds):.0f}/s (target ≥ {TARGET_RATIO})  "
          f"{'ok' if ratio >= TARGET_RATIO else 'BELOW TARGET'}; p99 {p99:.1f} ms (target ≤ {TARGET_P99_MS})")
    made_ratio = statistics.median(m.rate / b for b, m in afresh)
    print(f"  the same, made afresh {statistics.median(m.rate for _, m in afresh):8.0f} req/s   ratio {made_ratio:.2f} "
          f"to bare {statistics.median(b for b, _ in afresh):.0f}/s (for information); p99 "
          f"{statistics.median(m.p99_ms for _, m in afresh):.1f} ms")
    if addok:
        print(f"  addok /search/       {statistics.median(t.rate for _, _, t in rounds):8.0f} req/s   p99 "
              f"{statistics.median(t.p99_ms for _, _, t in rounds):.1f} ms")
    low = [kind for kind, value in ours.items() if value < TARGET_ACCURACY]
    sys.exit(1 if low or ratio < TARGET_RATIO else 0)


def _warm(base: str, typed: list[str]) -> None:
    """A few queries of each kind from several connections at once, so every worker has loaded what it reads
    Chinese and Pinyin with (a second or so each) before anything is timed."""
    def ask(query: str) -> None:
        urllib.request.urlopen(f"{base}/api/v1/search?limit=10&q={query}", timeout=60).read()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(ask, typed[:64]))


def _query_set(url: str, for_addok: bool) -> tuple[list[query_set.Query], list[str], list[dict]]:
    """The query set, the search-as-you-type load (every prefix of typed queries, URL-encoded), and (for addok)
    every address as addok takes it."""
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        queries = query_set.make_queries(query_set.sample_entries(db.session, SAMPLE),
                                         query_set.named_entries(db.session, NAMED))
        addresses = []
        for entry in db.session.scalars(_entries()) if for_addok else ():
            full, _ = format_address(app.config, entry.district, entry.subdistrict, entry.community, entry.road,
                                     entry.number, entry.name)
            addresses.append({"id": entry.plate_id, "type": "housenumber", "name": full, "importance": 0.5,
                              "pinyin": f"{entry.road_pinyin or ''} {entry.number or ''}",  # its fair chance
                              "lat": entry.latitude, "lon": entry.longitude})
        db.engine.dispose()
    typed = sorted({urllib.parse.quote(q.text[:end]) for q in queries if q.kind in TYPED_KINDS
                    for end in range(2, len(q.text) + 1)})
    random.Random(1).shuffle(typed)
    return queries, typed[:TYPED], addresses


def _entries():
    from sqlalchemy import select
    return select(SearchEntry).execution_options(yield_per=10_000)


def _accuracy(url: str, queries: list[query_set.Query]) -> dict[str, float]:
    app = create_app({"DATABASE_URL": url})
    results: dict[str, list[bool]] = {}
    with app.app_context():
        for query in queries:
            results.setdefault(query.kind, []).append(query_set.hit(query, query_set.answer(db.session, app.config,
                                                                                             query)))
        db.engine.dispose()
    return query_set.accuracy(results)


class _Addok:
    """addok 1.x in a virtualenv of its own, its index in one Redis database."""

    def __init__(self, redis_url: str, folder: str):
        parts = urllib.parse.urlsplit(redis_url)
        self.db = int(parts.path.strip("/") or 0)
        self.config = Path(folder) / "addok_config.py"
        self.config.write_text(
            f"REDIS = {{'host': {parts.hostname!r}, 'port': {parts.port or 6379}, "
            f"'indexes': {{'db': {self.db}}}, 'documents': {{'db': {self.db}}}}}\n"
            "FIELDS = [{'key': 'name', 'boost': 4, 'null': False}, {'key': 'pinyin', 'boost': 2}]\n")
        self.env = {**os.environ, "ADDOK_CONFIG_MODULE": str(self.config)}
        if not (ADDOK_VENV / "bin" / "addok").exists():
            subprocess.run([sys.executable, "-m", "venv", str(ADDOK_VENV)], check=True)
            subprocess.run([str(ADDOK_VENV / "bin" / "pip"), "install", "-q", "addok", "gunicorn"], check=True)
        self.url = ""

    def _addok(self, *arguments: str, given: str | None = None) -> str:
        return subprocess.run([str(ADDOK_VENV / "bin" / "addok"), *arguments], input=given, text=True,
                              capture_output=True, check=True, env=self.env).stdout

    def load(self, addresses: list[dict]) -> None:
        started = time.monotonic()
        self._addok("reset", "--force")
        path = self.config.with_name("addresses.json")
        path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in addresses))
        self._addok("batch", str(path))
        self._addok("ngrams")
        print(f"addok loaded {len(addresses):,} addresses in {time.monotonic() - started:.0f} s", flush=True)

    def accuracy(self, queries: list[query_set.Query]) -> dict[str, float]:
        """addok's own search in its own Python, one query a line, its first result's id."""
        program = ("import sys, json\nfrom addok.config import config\nconfig.load()\nfrom addok.core import search\n"
                   "for line in sys.stdin:\n    found = search(json.loads(line), limit=1)\n"
                   "    print('answer', json.dumps(found[0].id if found else None))\n")
        answers = subprocess.run([str(ADDOK_VENV / "bin" / "python"), "-c", program],
                                 input="\n".join(json.dumps(q.text) for q in queries), text=True,
                                 capture_output=True, check=True, env=self.env).stdout.splitlines()
        answers = [line.removeprefix("answer ") for line in answers if line.startswith("answer ")]  # not its notes
        results: dict[str, list[bool]] = {}
        for query, answer in zip(queries, answers, strict=True):
            plate = json.loads(answer)
            results.setdefault(query.kind, []).append(query_set.hit(query, [plate] if plate else []))
        return query_set.accuracy(results)

    def serve(self, workers: int) -> subprocess.Popen:
        server, self.url = start_gunicorn("addok.http.wsgi:application", workers, self.env,
                                          gunicorn=ADDOK_VENV / "bin" / "gunicorn", ready_path="/search/?q=x",
                                          settings=None)
        return server


if __name__ == "__main__":
    main()
