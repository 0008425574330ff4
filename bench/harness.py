"""What the load benches share: seeding, servers under gunicorn, wrk with its scripts, and worker memory.

wrk runs on a core of its own where the machine has more than one (taskset), so the
servers it loads are measured against each other on the cores left, not against wrk.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, select, text

from platesvc import create_app
from platesvc.intake.demo import seed_demo_city
from platesvc.registry.plate_ids import issue_plates
from platesvc.store import migrations
from platesvc.store.database import db
from platesvc.store.models import Plate

BENCH_DIR = Path(__file__).resolve().parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
SERVING = "python:platesvc.ops.serving"

# Lua for wrk. Plates: at random among a list (repeat scans), or walking it (first scans).
PICK_SCRIPT = """
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
# Places at random in the urban core: nearby with k = 5, and OGC items in a box 1 km on a side (at
# Yinchuan's latitude) with the page size given.
NEARBY_SCRIPT = """
request = function()
  local lon = 106.15 + math.random() * 0.25
  local lat = 38.40 + math.random() * 0.15
  return wrk.format("GET", string.format("/api/v1/nearby?lon=%.6f&lat=%.6f&limit=5", lon, lat))
end
"""
ITEMS_SCRIPT = """
request = function()
  local lon = 106.20 + math.random() * 0.12
  local lat = 38.44 + math.random() * 0.06
  return wrk.format("GET", string.format("%s/collections/%s/items?bbox=%%.6f,%%.6f,%%.6f,%%.6f%s",
                                         lon, lat, lon + 0.01148, lat + 0.00899))
end
"""
# Zoom-15 tiles over the urban core (the box the items are asked in: x 26,050–26,061, y 12,581–12,587).
TILE_SCRIPT = """
request = function()
  return wrk.format("GET", string.format("%s/%%d/%%d/%%d.mvt", 15, 26050 + math.random(0, 11),
                                         12581 + math.random(0, 6)))
end
"""


def items_script(prefix: str = "/ogc", query: str = "", collection: str = "plates") -> str:
    """ITEMS_SCRIPT for a server whose collections live under `prefix`, with more query (say "&limit=100")."""
    return ITEMS_SCRIPT % (prefix, collection, query)


def tile_script(prefix: str = "/tiles/plates", suffix: str = ".mvt") -> str:
    return TILE_SCRIPT.replace(".mvt", suffix) % prefix


# The plates as a view, for the servers we are compared with (pygeoapi, tipg) to serve the same.
PLATE_VIEW = """
CREATE OR REPLACE VIEW plate_features AS
SELECT p.id, p.status, r.name AS road, b.number, b.division_code, d.name AS district, c.name AS community,
       b.point AS geom
FROM plates p JOIN buildings b ON b.id = p.building_id
LEFT JOIN roads r ON r.id = b.road_id
LEFT JOIN divisions d ON d.code = b.division_code
LEFT JOIN divisions c ON c.id = b.community_id
WHERE b.status = 'active' AND p.status <> 'retired'
"""


def plate_view(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(PLATE_VIEW))
    engine.dispose()


def postgis_database(url: str, fresh: bool = False) -> str:
    """Make the PostGIS database `url` names (empty again when `fresh`), with the extension; returns url."""
    database = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if fresh:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}):
            connection.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return url


def seed(url: str, buildings: int) -> list[str]:
    """The demo city of that size in the database (seeded and issued unless there), and its plate IDs."""
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        migrations.upgrade(db.engine)
        if not db.session.scalar(select(Plate.id).limit(1)):
            print(f"seeding {buildings} buildings and issuing their plates…", flush=True)
            seed_demo_city(db.session, buildings=buildings, seed=1)
            issue_plates(db.session)
        plates = list(db.session.scalars(select(Plate.id)))
        db.engine.dispose()
        return plates


def app_environment(database_url: str, folder: str, **settings: str) -> dict:
    """The environment our app runs in under load, as `platesvc serve` runs it but for two things.

    Rate limits are off (PLATESVC_RATELIMIT_ENABLED=0, the load-test switch: one load
    generator is one client), and so is the access log, which the bare baseline's gunicorn
    does not write either. Metrics stay on, in multiprocess mode as in production.
    """
    metrics = Path(folder) / f"metrics-{len(list(Path(folder).glob('metrics-*')))}"
    metrics.mkdir()
    return {**os.environ, "PLATESVC_DATABASE_URL": database_url, "PYTHONPATH": str(BENCH_DIR.parent),
            "PLATESVC_RATELIMIT_ENABLED": "0", "PLATESVC_ACCESS_LOG": "0", "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "PLATESVC_SECRET_KEY": "bench", **{f"PLATESVC_{name}": value for name, value in settings.items()}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, workers: int, env: dict, gunicorn: Path = GUNICORN, ready_path: str = "/healthz",
                   settings: str | None = SERVING) -> tuple[subprocess.Popen, str]:
    """A gunicorn serving `target` on a free port once it answers `ready_path`; (process, base URL).

    `settings`: gunicorn's config, by default the one `platesvc serve` runs with (its gevent workers), so
    the bare baseline and our app are served alike and as in production.
    """
    port = free_port()
    command = [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--chdir", str(BENCH_DIR),
               "--log-level", "warning", "--timeout", "120"]
    if settings:
        command += ["--config", settings]
    server = subprocess.Popen([*_servers_cores(), *command, target], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + ready_path, timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    return server, base


def stop(*servers: subprocess.Popen) -> None:
    for server in servers:
        server.terminate()
        server.wait()


@dataclass(frozen=True)
class Load:
    rate: float  # requests per second
    p99_ms: float


def run_wrk(url: str, seconds: int, connections: int, script: Path | None = None, *script_args: str) -> Load:
    """wrk on its own core where there is one: requests per second and the 99th percentile latency."""
    command = [*_wrk_core(), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[-1:-1] = ["-s", str(script)]
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"errors while loading {url}:\n{output}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return Load(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), float(p99.group(1)) * scale)


def _cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _wrk_core() -> list[str]:
    cores = _cores()
    return ["taskset", "-c", str(cores[-1])] if len(cores) > 1 and shutil.which("taskset") else []


def _servers_cores() -> list[str]:
    cores = _cores()
    return (["taskset", "-c", ",".join(map(str, cores[:-1]))]
            if len(cores) > 2 and shutil.which("taskset") else [])


def pinned() -> str:
    """How the load is placed on this machine's cores, for the report."""
    cores = _cores()
    if not _wrk_core():
        return "wrk shares the only core with the servers"
    servers = "the other cores" if _servers_cores() else f"every core (wrk's too: only {len(cores)})"
    return f"wrk pinned to core {cores[-1]}, the servers on {servers}"


def memory_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its peak since exec or the last reset (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024


def workers_rss_mb(server: subprocess.Popen) -> list[float]:
    """The resident memory of each of a gunicorn's workers, in MiB."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    # taskset execs gunicorn in place, so the master is `server` itself.
    return [memory_mb(pid) for pid in children]


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
