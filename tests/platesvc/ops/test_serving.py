"""`platesvc serve` under slow clients: connections that trickle their head or body in cost a greenlet
each, so the service keeps answering everyone else."""

import collections
import concurrent.futures
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
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


def _proxy(tmp_path: Path, app_port: str) -> tuple[subprocess.Popen, str]:
    """nginx serving the example in front of the app on `app_port`, logging as nginx does unless told otherwise
    (every access line in the combined format, with the client's address; error lines down to info); its URL."""
    nginx = _required_outside_ci(shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx"),
                                 "nginx", "apt install nginx")
    proxy_port = _free_port()
    site = (PROXY_EXAMPLE.read_text().replace("127.0.0.1:8000", f"127.0.0.1:{app_port}")
            .replace("listen 80;", f"listen 127.0.0.1:{proxy_port};").replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "nginx.conf").write_text(
        # As root, nginx's workers would be nobody, who cannot reach the test's folder to buffer a body in.
        f"{'user root; ' if os.geteuid() == 0 else ''}pid {tmp_path}/nginx.pid; "
        f"error_log {tmp_path}/main-error.log info; events {{}}\n"
        f"http {{ access_log {tmp_path}/main-access.log combined; client_body_temp_path {tmp_path}/body;\n"
        f"proxy_temp_path {tmp_path}/proxy; fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u;\n"
        f"scgi_temp_path {tmp_path}/s;\n{site}\n}}\n")
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"])
    base = f"http://127.0.0.1:{proxy_port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return proxy, base
        except OSError:
            assert time.monotonic() < deadline and proxy.poll() is None, (tmp_path / "main-error.log").read_text()
            time.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_reverse_proxy_example_serves_the_app_and_holds_off_slow_clients(database_url, served, plate_id,
                                                                             tmp_path):
    proxy, base = _proxy(tmp_path, served(workers=2, TRUSTED_PROXIES=1).rsplit(":", 1)[1])
    try:
        with urllib.request.urlopen(f"{base}/P/{plate_id}") as page:  # the app's own answer, through the proxy
            assert page.status == 200 and page.headers["X-Request-ID"] and 'lang="zh-CN"' in page.read().decode()
        _under_slow_clients(base, plate_id)
    finally:
        proxy.terminate()
        proxy.wait(10)


RESIDENT = "127.0.0.77"  # the client's own address: any 127/8 address reaches loopback on Linux


def _from_resident(base: str, method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(RESIDENT, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    except (BrokenPipeError, ConnectionResetError):  # refused before the whole body was sent
        return 413, b"nginx"
    finally:
        connection.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sends from another loopback address")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_proxy_limits_each_client_and_no_log_line_ties_its_address_to_a_plate(database_url, served, plate_id,
                                                                                  tmp_path):
    """A scan burst from one address meets the proxy's limit and the app's; every line nginx and the app write
    about it (nginx's access and error logs as the example keeps them, and the app's) is read, and none holds the
    address. Bodies are refused by size where they are sent, unread, and connections beyond the cap are 429s."""
    app_log = tmp_path / "app.log"
    proxy, base = _proxy(tmp_path, served(workers=2, log=app_log, TRUSTED_PROXIES=1, ACCESS_LOG=True,
                                          RATELIMIT_ENABLED=True, RATELIMIT_SCANS="30 per minute").rsplit(":", 1)[1])
    try:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, body = _from_resident(base, "POST", "/staff/sign-in", b"u=" + b"x" * 2 ** 21, form)
        assert status == 413 and b"nginx" in body  # over 1 MiB: refused by the proxy, unread
        status, body = _from_resident(base, "POST", f"/P/{plate_id}/report", b"x" * 2 ** 21,
                                      {"Content-Type": "multipart/form-data; boundary=b"})
        assert b"nginx" not in body  # a photo's room: the app answers
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            burst = [status for status, _ in pool.map(lambda _: _from_resident(base, "GET", f"/P/{plate_id}"),
                                                      range(300))]
        assert 15 <= burst.count(200) <= 30 and burst.count(429) >= 150, collections.Counter(burst)  # 2 shares of 15
        assert set(burst) <= {200, 429}
        held = _slow(base, b"POST /api/v1/staff/plates/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", 60)
        try:
            time.sleep(1)
            refused = 0
            for sock in held:  # past the cap nginx answers at once; the rest wait for their bodies
                sock.settimeout(0.2)
                with contextlib.suppress(TimeoutError):
                    refused += sock.recv(100).startswith(b"HTTP/1.1 429")
            assert refused == 10
        finally:
            for sock in held:
                sock.close()
    finally:
        proxy.terminate()
        proxy.wait(10)
    served_lines = {name: (tmp_path / name).read_text().splitlines()
                    for name in ("platesvc.access.log", "platesvc.error.log", "main-access.log", "main-error.log",
                                 "app.log") if (tmp_path / name).exists()}
    assert sum(f"GET /P/{plate_id} " in line for line in served_lines["platesvc.access.log"]) == 300  # each
    assert any('"status": 429' in line for line in served_lines["app.log"])  # the app's limit was met too
    assert any("ratelimit" in line for line in served_lines["app.log"])  # and logged
    assert not served_lines.get("main-access.log")  # the example keeps its own access log
    assert not [(name, line) for name, lines in served_lines.items() for line in lines if RESIDENT in line]


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
