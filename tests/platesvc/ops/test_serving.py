"""`platesvc serve` under slow clients: connections that trickle their head or body in cost a greenlet
each, so the service keeps answering everyone else."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate
from tests.conftest import _free_port, _required_outside_ci

PROXY_EXAMPLE = Path(__file__).parents[3] / "deploy" / "nginx.conf"

SLOW_HEADS, SLOW_BODIES = 50, 10


def _trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """A byte a second on every socket, as a slowloris does."""
    while not stop.wait(1):
        for sock in sockets:
            try:
                sock.send(b"a")
            except OSError:
                pass


def _slow(base: str, head: bytes, count: int) -> list[socket.socket]:
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.send(head)
        sockets.append(sock)
    return sockets


def _answer_time(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
    return time.monotonic() - started


def _under_slow_clients(base: str, plate_id: str) -> None:
    """/healthz and a plate page answer within a second while one client trickles 50 heads and 10 bodies."""
    heads = _slow(base, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", SLOW_HEADS)
    bodies = _slow(base, b"POST /staff/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nu=",
                   SLOW_BODIES)
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(heads + bodies, stop), daemon=True)
    trickler.start()
    try:
        time.sleep(2)  # every slow connection has been taken in and is trickling
        for _ in range(3):
            assert _answer_time(f"{base}/healthz") < 1
            assert _answer_time(f"{base}/P/{plate_id}") < 1
    finally:
        stop.set()
        trickler.join()
        for sock in heads + bodies:
            sock.close()


@pytest.fixture
def plate_id(issued_app) -> str:
    return db.session.scalar(select(Plate.id).limit(1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the serving is the server's, not the store's
def test_slow_heads_and_bodies_from_one_client_do_not_keep_others_waiting(database_url, served, plate_id):
    _under_slow_clients(served(workers=2), plate_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_reverse_proxy_example_serves_the_app_and_holds_off_slow_clients(database_url, served, plate_id,
                                                                             tmp_path):
    nginx = _required_outside_ci(shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx"),
                                 "nginx", "apt install nginx")
    app_port = served(workers=2, TRUSTED_PROXIES=1).rsplit(":", 1)[1]
    proxy_port = _free_port()
    site = (PROXY_EXAMPLE.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
            .replace("listen 80;", f"listen 127.0.0.1:{proxy_port};"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;\n"
        f"fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s;\n{site}\n}}\n")
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"])
    try:
        base = f"http://127.0.0.1:{proxy_port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and proxy.poll() is None, (tmp_path / "error.log").read_text()
                time.sleep(0.1)
        with urllib.request.urlopen(f"{base}/P/{plate_id}") as page:  # the app's own answer, through the proxy
            assert page.status == 200 and page.headers["X-Request-ID"] and 'lang="zh-CN"' in page.read().decode()
        _under_slow_clients(base, plate_id)
    finally:
        proxy.terminate()
        proxy.wait(10)


def _job_worker_pid(port: str) -> int | None:
    """The `platesvc worker` that the server on `port` started, from /proc."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            processes[int(entry.name)] = (command, parent)
    masters = {pid for pid, (command, _) in processes.items() if f"127.0.0.1:{port}".encode() in command}
    return next((pid for pid, (command, parent) in processes.items()
                 if parent in masters and command[-2:] == [b"worker", b""]), None)


def _readiness(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as answer:
        return json.loads(answer.read())


def _until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_job_worker_is_started_again_and_readiness_says_how_it_is(database_url, served):
    """`platesvc serve` started its job worker once: killed, no job was taken again until the server restarted."""
    base = served(workers=1)
    port = base.rsplit(":", 1)[1]
    _until(lambda: _readiness(base)["jobs"] == "ok", 60, "the job worker's first heartbeat")
    first = _until(lambda: _job_worker_pid(port), 10, "the job worker")
    os.kill(first, signal.SIGKILL)
    _until(lambda: _readiness(base)["jobs"] == "down", 5, "readiness saying the job worker is down")
    second = _until(lambda: _job_worker_pid(port) not in (None, first) and _job_worker_pid(port), 30,
                    "a new job worker")
    _until(lambda: _readiness(base)["jobs"] == "ok", 60, "the new job worker's heartbeat")
    assert _readiness(base)["status"] == "ready" and second != first
