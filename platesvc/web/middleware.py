"""WSGI middleware around the app: security headers, and the id, metrics and access line of every request.

At the WSGI layer headers are a plain list: looking each one up in a Response's
Headers would cost a scan as much as its database read.
"""

import itertools
import os
import re
import time

from platesvc.ops.logs import access_log, request_id
from platesvc.ops.metrics import Metrics

# Everything comes from this host; no inline script or style anywhere. The map's library
# starts its workers from blob: URLs of its own module, and draws tiles into blob: images.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self'; "
                           "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # a plate's URL says which door was scanned
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")
_SECURE_HEADERS = (*SECURITY_HEADERS, HSTS)
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


class RequestWrapper:
    """Around each request: an id (kept from the client when sane, answered as X-Request-ID), the
    security headers a response does not set itself (HSTS only over HTTPS), its count and time
    by route in the metrics, and its access line. One start_response wrapper does it all: a
    scan is a few hundred microseconds, and each layer costs a few of them.
    """

    def __init__(self, wsgi_app, metrics: Metrics | None, access: bool):
        self.wsgi_app = wsgi_app
        self.metrics = metrics
        self.access = access
        # A random prefix of this process and a count: unique across workers and machines,
        # and cheaper than drawing random bytes for every request.
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count(1)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID")
        rid = given if given and _CLIENT_REQUEST_ID.fullmatch(given) else f"{self._prefix}{next(self._count):08x}"
        environ["platesvc.request_id"] = rid
        added = _SECURE_HEADERS if environ.get("wsgi.url_scheme") == "https" else SECURITY_HEADERS
        answered = []

        def start_with_headers(status, headers, exc_info=None):
            present = {name for name, _ in headers}  # as the app spells them, which is how we do
            headers.extend(header for header in added if header[0] not in present)
            headers.append(("X-Request-ID", rid))
            # By the route's rule, never the path: a path holds a plate ID. The request (and
            # the rule it matched) is in the environ until Flask's context ends, after this.
            rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
            answered.append((status, headers, rule.rule if rule is not None else "unmatched"))
            return start_response(status, headers, exc_info)

        token = request_id.set(rid)
        try:
            body = self.wsgi_app(environ, start_with_headers)
            self._record(environ, answered, time.perf_counter() - started, rid)
            return body
        finally:
            request_id.reset(token)

    def _record(self, environ, answered: list, seconds: float, rid: str) -> None:
        # Timed to the body's making; a streamed file goes on after, but none of ours is slow to stream.
        status, headers, route = answered[0] if answered else ("500", [], "unmatched")
        status = int(status[:3])
        method = environ["REQUEST_METHOD"]
        if self.metrics is not None:
            self.metrics.observe(route, method, status, seconds)
        if self.access:
            length = next((value for name, value in headers if name == "Content-Length"), None)
            path = environ.get("PATH_INFO", "")
            access_log.info("%s %s %d", method, path, status, extra={"request_id": rid, "http": {
                "method": method, "path": path, "route": route, "status": status, "bytes": length,
                "ms": round(seconds * 1000, 2)}})
