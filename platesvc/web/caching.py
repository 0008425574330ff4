"""Validators on what a plate shows, so a repeat scan is a 304 and a change is seen at once;
and the finished bodies of the most asked-for plates, so a scan renders nothing twice.

A cached body is kept gzipped beside its plain form, compressed once for its first client
that takes gzip (a plate's JSON shrinks from some 17 KiB to 3, its page from 7 to 2:
residents are often on a slow link); Flask-Compress compresses every other answer.
Validators and 304s are werkzeug's.
"""

import gzip
import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property

from cachetools import LRUCache
from flask import Request, Response

GZIP_FROM_BYTES = 1024  # below this gzip's own header and the work outweigh what it saves


@dataclass
class Tagged:
    body: bytes
    etag: str  # a hash of the body

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)


def tagged(body: str | bytes) -> Tagged:
    data = body.encode() if isinstance(body, str) else body
    return Tagged(data, hashlib.sha1(data).hexdigest())


def revalidated(body: Tagged, mimetype: str, request: Request, status: int = 200, vary: str | None = None,
                cache_control: str = "public, no-cache") -> Response:
    """The body with its tag, gzipped when the client takes that, or a bodiless 304 when it has it already.

    By default `no-cache` lets phones keep the page but ask every time, so a changed officer
    or service point shows on the next scan (and every scan reaches the counter). Each
    encoding has its own tag: a validator names one representation.
    """
    compress = len(body.body) >= GZIP_FROM_BYTES and request.accept_encodings["gzip"] > 0
    response = Response(body.gzipped if compress else body.body, status, mimetype=mimetype)
    response.set_etag(f"{body.etag}-gzip" if compress else body.etag)
    response.headers["Cache-Control"] = cache_control
    if compress:
        response.content_encoding = "gzip"  # so Flask-Compress leaves it be
    if vary:
        response.vary.add(vary)
    if len(body.body) >= GZIP_FROM_BYTES:
        response.vary.add("Accept-Encoding")
    if status == 200 and "HTTP_IF_NONE_MATCH" in request.environ:  # the scan's hot path asks nothing
        response.make_conditional(request)
    return response


class RenderCache:
    """Finished bodies by what they were made of, within a byte budget, least recently used out first.

    Every body is made from one shared basis (the reference snapshot) and a key; a new
    basis empties the cache, so nothing made from an older one is ever served. The budget
    counts plain bodies: the gzip copies kept with them add about a quarter.
    """

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._bodies: LRUCache[Hashable, Tagged] = LRUCache(maxsize=max_bytes, getsizeof=lambda made: len(made.body))
        self._basis = None
        self._lock = threading.Lock()

    def get(self, basis: object, key: Hashable, render: Callable[[], str | bytes]) -> Tagged:
        with self._lock:
            if basis is self._basis:
                found = self._bodies.get(key)
                if found is not None:
                    return found
            else:
                self._bodies.clear()
                self._basis = basis
        made = tagged(render())
        with self._lock:
            if basis is self._basis and key not in self._bodies and len(made.body) <= self._max_bytes:
                self._bodies[key] = made  # the least recently used go until it fits
        return made
