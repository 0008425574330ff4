"""Rate limits per client (Flask-Limiter): generous on scans, tight on public writes and sign-in.

Each limit is a setting (PLATESVC_RATELIMIT_SCANS …, in Flask-Limiter's notation such as
"600 per minute"); PLATESVC_RATELIMIT_ENABLED=0 turns them all off (load tests). Counts
live in memory, per worker, unless PLATESVC_RATELIMIT_STORAGE_URI names a shared store
such as redis://127.0.0.1:6379/0. A client is its address as the app sees it: behind a
reverse proxy set PLATESVC_TRUSTED_PROXIES, or every resident shares the proxy's.
"""

import hashlib

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address)


def scans():
    """One budget for a client's plate pages and plate JSON together; many residents share a carrier NAT address."""
    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_SCANS"], scope="scans")


def public_writes():
    """Residents' reports, from the page or through Open311."""
    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_REPORTS"], scope="reports",
                                methods=["POST"])


def open311_writes():
    """Reports from city systems, limited per API key: a 12345 system sends a whole city's from one address."""
    return limiter.limit(lambda: current_app.config["RATELIMIT_OPEN311"], key_func=_api_key, methods=["POST"])


def _api_key() -> str:
    key = request.values.get("api_key") or request.headers.get("Authorization", "")
    return "key:" + hashlib.sha256(key.encode()).hexdigest() if key else get_remote_address()


def init_app(app) -> None:
    limiter.init_app(app)
