"""`platesvc serve` under slow clients: connections that trickle their head or body in cost a greenlet
each, so the service keeps answering everyone else."""

import shutil
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
