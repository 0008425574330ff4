"""`platesvc serve` under slow clients: connections that trickle their head or body in cost a greenlet
each, so the service keeps answering everyone else."""

import socket
import threading
import time
import urllib.request

import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate

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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the serving is the server's, not the store's
def test_slow_heads_and_bodies_from_one_client_do_not_keep_others_waiting(issued_app, database_url, served):
    plate_id = db.session.scalar(select(Plate.id).limit(1))
    base = served(workers=2)
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
