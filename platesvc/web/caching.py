"""Validators on what a plate shows, so a repeat scan is a 304 and a change is seen at once;
and the finished bodies of the most asked-for plates, so a scan renders nothing twice."""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

from flask import Request, Response


class Tagged(NamedTuple):
    body: bytes
    etag: str  # a hash of the body


def tagged(body: str | bytes) -> Tagged:
    data = body.encode() if isinstance(body, str) else body
    return Tagged(data, hashlib.sha1(data).hexdigest())


def revalidated(body: Tagged, mimetype: str, request: Request, status: int = 200, vary: str | None = None,
                cache_control: str = "public, no-cache") -> Response:
    """The body with its tag, or a bodiless 304 when the client has it already.

    By default `no-cache` lets phones keep the page but ask every time, so a changed officer
    or service point shows on the next scan (and every scan reaches the counter).
    """
    headers = {"ETag": f'"{body.etag}"', "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    if status == 200 and body.etag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(body.body, status, headers=headers, mimetype=mimetype)


class RenderCache:
    """Finished bodies by what they were made of, within a byte budget, least recently used out first.

    Every body is made from one shared basis (the reference snapshot) and a key; a new
    basis empties the cache, so nothing made from an older one is ever served.
    """

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._bodies: OrderedDict[Hashable, Tagged] = OrderedDict()
        self._bytes = 0
        self._basis = None
        self._lock = threading.Lock()

    def get(self, basis: object, key: Hashable, render: Callable[[], str | bytes]) -> Tagged:
        with self._lock:
            if basis is self._basis:
                found = self._bodies.get(key)
                if found is not None:
                    self._bodies.move_to_end(key)
                    return found
            else:
                self._bodies.clear()
                self._bytes, self._basis = 0, basis
        made = tagged(render())
        with self._lock:
            if basis is self._basis and key not in self._bodies and len(made.body) <= self._max_bytes:
                self._bodies[key] = made
                self._bytes += len(made.body)
                while self._bytes > self._max_bytes:
                    self._bytes -= len(self._bodies.popitem(last=False)[1].body)
        return made
