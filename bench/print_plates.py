"""Print every plate of the 55,000-building demo city, against the QR library alone.

The baseline is what the qrcode library needs, on one core, to encode the same payloads
into the same symbols (level Q, version 8 and up, as plates use): the floor of any plate
pipeline. It is measured in this run as the CPU time of that encoding, spread over as many
processes as the pipeline has workers to keep the bench short (CPU time is what one core
would spend). The whole pipeline (choosing plates, drawing PDF sheets and SVG files across
the workers, the CSV and XLSX manifests, the ZIP and recording the batch) must finish within
1.5 × baseline ÷ workers. Prints that ratio and plates per second; exits 1 above target.

    python bench/print_plates.py [--buildings N] [--workers W]
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import qrcode

from gis.synthetic import DEFAULT_BUILDINGS, generate_city
from platesvc import create_app
from platesvc.intake.demo import store_city
from platesvc.printing.artwork import ERROR_CORRECTION, MIN_QR_VERSION, PlateStyle
from platesvc.printing.batches import PrintSettings, Selection, print_plates
from platesvc.registry.plate_ids import issue_plates, plate_url
from platesvc.store import migrations
from platesvc.store.database import db
from platesvc.store.models import Plate

TARGET_RATIO = 1.5


def encode_with_qrcode_alone(payloads: list[str]) -> float:
    """CPU seconds the qrcode library takes to encode `payloads` into the symbols plates carry."""
    started = time.process_time()
    for payload in payloads:
        code = qrcode.QRCode(version=MIN_QR_VERSION, error_correction=ERROR_CORRECTION["Q"], border=0)
        code.add_data(payload)
        code.make(fit=True)
        code.get_matrix()
    return time.process_time() - started


def baseline_seconds(payloads: list[str], processes: int) -> float:
    shares = [payloads[start::processes] for start in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        return sum(pool.map(encode_with_qrcode_alone, shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=DEFAULT_BUILDINGS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "PUBLIC_URL": "https://mp.yinchuan.gov.cn"})
        with app.app_context():
            migrations.upgrade(db.engine)
            print(f"seeding {args.buildings} buildings and issuing their plates…", file=sys.stderr)
            store_city(db.session, generate_city(buildings=args.buildings, seed=1))
            issue_plates(db.session)
            payloads = [plate_url(app.config["PUBLIC_URL"], plate_id) for plate_id in db.session.scalars(
                db.select(Plate.id))]

            print(f"encoding {len(payloads)} payloads with qrcode alone…", file=sys.stderr)
            baseline = baseline_seconds(payloads, args.workers)

            print(f"printing them with {args.workers} workers…", file=sys.stderr)
            settings = PrintSettings(PlateStyle(), workers=args.workers)
            started = time.perf_counter()

            def stage(message: str) -> None:
                print(f"  [{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr)

            result = print_plates(db.session, app.config, f"{tmp}/out", Selection(), settings, stage=stage)
            pipeline = time.perf_counter() - started
            archive_mb = result.archive.stat().st_size / 1e6

    floor = baseline / args.workers
    ratio = pipeline / floor
    print(f"plates printed: {result.printed} in {result.files} PDF files, with SVG, CSV, XLSX; "
          f"ZIP {archive_mb:.0f} MB; {len(result.refused)} refused")
    print(f"qrcode alone, one core:    {baseline:8.1f} s  ({len(payloads) / baseline:7.1f} codes/s)")
    print(f"  ÷ {args.workers} workers:              {floor:8.1f} s")
    print(f"whole print pipeline:      {pipeline:8.1f} s  ({result.printed / pipeline:7.1f} plates/s)")
    print(f"ratio pipeline / (qrcode ÷ workers): {ratio:.2f} (target ≤ {TARGET_RATIO})")
    sys.exit(0 if ratio <= TARGET_RATIO else 1)


if __name__ == "__main__":
    main()
