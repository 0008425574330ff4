"""Lighthouse (from npm, with Debian's Chromium) on the resident pages as a cheap phone on a slow link
loads them: mobile, simulated Slow 4G (150 ms, 1.6 Mbit/s), CPU 6× slower.

Prints performance and accessibility for the plate page, its care mode and the report form (with
an open report on it, as a second resident finds it), the bytes sent (compressed, every request)
and any request to another host. Targets: performance >= 95, accessibility 100, at most 12 KB,
nothing from another host. Lighthouse's simulated throttling leaves little to the machine, but a
shared one still drifts: each page is run --runs times (the median is reported), and a page with
nothing on it, served by the same gunicorn from bare Flask, is measured in the same run as the
baseline: its score is the best this machine gives, and each page's is shown beside it.

    python bench/lighthouse.py [--buildings N] [--database FILE] [--runs R]

Needs Node with `npm ci` run (make install) and Chromium (apt-get install chromium).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import BENCH_DIR, app_environment, seed, start_gunicorn, stop

from platesvc import create_app
from platesvc.registry.audit import RESIDENT
from platesvc.staff import reports
from platesvc.store.database import db

LIGHTHOUSE = BENCH_DIR.parent / "node_modules" / ".bin" / "lighthouse"
CPU_SLOWDOWN = 6
TARGETS = {"performance": 95, "accessibility": 100, "kilobytes": 12}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=5000)
    parser.add_argument("--database", help="reuse this SQLite file (seeded on first use)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not LIGHTHOUSE.exists():
        raise SystemExit("needs chromium (apt-get install chromium) and Lighthouse (npm ci, or make install)")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.database or Path(tmp) / 'bench.sqlite3'}"
        plate_id = seed(url, args.buildings)[0]
        _open_a_report(url, plate_id)
        env = app_environment(url, tmp)
        bare, bare_url = start_gunicorn("bare_flask:app", 1, env)
        app, app_url = start_gunicorn("platesvc:create_app()", 1, env)
        pages = {"an empty page (baseline)": f"{bare_url}/page", "plate page": f"{app_url}/P/{plate_id}",
                 "care mode": f"{app_url}/P/{plate_id}?care=1", "report form": f"{app_url}/P/{plate_id}/report"}
        try:
            results = {name: [_lighthouse(page, chromium, tmp) for _ in range(args.runs)]
                       for name, page in pages.items()}
        finally:
            stop(bare, app)

    print(f"\nLighthouse {_version()}, mobile, Slow 4G, {CPU_SLOWDOWN}× CPU, {args.runs} runs each, medians; "
          f"targets: performance ≥ {TARGETS['performance']}, accessibility {TARGETS['accessibility']}, "
          f"≤ {TARGETS['kilobytes']} KB, no other host")
    baseline = statistics.median(run["performance"] for run in results["an empty page (baseline)"])
    missed = []
    for name, runs in results.items():
        performance = statistics.median(run["performance"] for run in runs)
        accessibility = statistics.median(run["accessibility"] for run in runs)
        kilobytes = statistics.median(run["bytes"] for run in runs) / 1024
        elsewhere = sorted({host for run in runs for host in run["elsewhere"]})
        line = (f"  {name:26} performance {performance:3.0f} ({performance / baseline:.2f} of the baseline's "
                f"{baseline:.0f})  accessibility {accessibility:3.0f}  {kilobytes:5.1f} KB  "
                f"LCP {statistics.median(run['lcp_ms'] for run in runs):5.0f} ms  "
                f"{'other hosts: ' + ', '.join(elsewhere) if elsewhere else 'this host only'}")
        if name.endswith("(baseline)"):
            print(line)
            continue
        ok = (performance >= TARGETS["performance"] and accessibility >= TARGETS["accessibility"]
              and kilobytes <= TARGETS["kilobytes"] and not elsewhere)
        print(f"{line}  {'ok' if ok else 'BELOW TARGET'}")
        if not ok:
            missed.append(name)
    sys.exit(1 if missed else 0)


def _open_a_report(url: str, plate_id: str) -> None:
    """An open report on the plate, so its form offers to add to it."""
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        if not reports.open_reports_of(db.session, plate_id):
            reports.submit_report(db.session, RESIDENT, "plate_damaged", reports.Place(plate_id, None, None, None))
            db.session.commit()
        db.engine.dispose()


def _lighthouse(page: str, chromium: str, folder: str) -> dict:
    """One Lighthouse run: its scores (0–100), the bytes sent, the largest paint and the other hosts asked."""
    report = Path(folder) / "lighthouse.json"
    subprocess.run([str(LIGHTHOUSE), page, "--quiet", "--output=json", f"--output-path={report}",
                    "--only-categories=performance,accessibility", "--form-factor=mobile",
                    f"--throttling.cpuSlowdownMultiplier={CPU_SLOWDOWN}",
                    "--chrome-flags=--headless=new --no-sandbox"], check=True,
                   env={**os.environ, "CHROME_PATH": chromium})
    result = json.loads(report.read_text())
    origin = page.split("/", 3)[:3]
    requests = result["audits"]["network-requests"]["details"]["items"]
    return {"performance": result["categories"]["performance"]["score"] * 100,
            "accessibility": result["categories"]["accessibility"]["score"] * 100,
            "bytes": result["audits"]["total-byte-weight"]["numericValue"],
            "lcp_ms": result["audits"]["largest-contentful-paint"]["numericValue"],
            "elsewhere": [item["url"].split("/")[2] for item in requests
                          if item["url"].split("/", 3)[:3] != origin and not item["url"].startswith("data:")]}


def _version() -> str:
    return subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
