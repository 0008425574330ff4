"""WSGI middleware around the app: security headers, and the id, metrics and access line of every request.

At the WSGI layer headers are a plain list: looking each one up in a Response's
Headers would cost a scan as much as its database read.
"""

import re
import time
import uuid

from platesvc.logs import access_log, request_id
from platesvc.metrics import Metrics

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
ROUTE_KEY = "platesvc.route"  # the matched URL rule, set by the app (see web.init_app)
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


class SecurityHeaders:
    """Adds the security headers a response does not set itself; HSTS only over HTTPS."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        secure = environ.get("wsgi.url_scheme") == "https"

        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for header in (*SECURITY_HEADERS, *((HSTS,) if secure else ()))
                           if header[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


class RequestObserver:
    """Gives each request an id (answered as X-Request-ID), counts and times it by route, and logs it."""

    def __init__(self, wsgi_app, metrics: Metrics | None, access: bool):
        self.wsgi_app = wsgi_app
        self.metrics = metrics
        self.access = access

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID")
        rid = given if given and _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ["platesvc.request_id"] = rid
        token = request_id.set(rid)
        answered = []

        def start_with_id(status, headers, exc_info=None):
            headers.append(("X-Request-ID", rid))
            answered.append((status, headers))
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start_with_id)
            self._record(environ, answered, time.perf_counter() - started, rid)
            return body
        finally:
            request_id.reset(token)

    def _record(self, environ, answered: list, seconds: float, rid: str) -> None:
        # Timed to the body's making; a streamed file goes on after, but none of ours is slow to stream.
        status = int(answered[0][0][:3]) if answered else 500
        route = environ.get(ROUTE_KEY) or "unmatched"
        method = environ["REQUEST_METHOD"]
        if self.metrics is not None:
            self.metrics.observe(route, method, status, seconds)
        if self.access:
            length = next((value for name, value in answered[0][1] if name == "Content-Length"), None) \
                if answered else None
            path = environ.get("PATH_INFO", "")
            access_log.info("%s %s %d", method, path, status, extra={"request_id": rid, "http": {
                "method": method, "path": path, "route": route, "status": status, "bytes": length,
                "ms": round(seconds * 1000, 2)}})
