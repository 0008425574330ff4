"""Rate limits per client (Flask-Limiter): generous on scans, tight on public writes and sign-in.

Each limit is a setting (PLATESVC_RATELIMIT_SCANS …, in Flask-Limiter's notation such as
"600 per minute"); PLATESVC_RATELIMIT_ENABLED=0 turns them all off (load tests). Counts
are shared when PLATESVC_RATELIMIT_STORAGE_URI names a store such as redis://127.0.0.1:6379/0;
in memory, each of the server's workers (SERVER_WORKERS, which `platesvc serve` sets) counts
its share of each limit, so the limit holds for the whole server either way. A client is its
address as the app sees it: behind a reverse proxy set PLATESVC_TRUSTED_PROXIES, or every
resident shares the proxy's.

The limits are put on the views here, when the app is made, and only when they are on:
Flask-Limiter's decorator costs a request some 100 µs even with the limiter disabled.
"""

from collections.abc import Callable
from functools import cache

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

limiter = Limiter(get_remote_address)  # one per process, like the app it serves


def _setting(name: str):
    """The limit a setting names, as this process must count it (see `share`)."""
    def limit() -> str:
        config = current_app.config
        separate = config["RATELIMIT_STORAGE_URI"].startswith("memory://")
        return share(config[name], config["SERVER_WORKERS"]) if separate else config[name]
    return limit


@cache
def share(limit: str, workers: int) -> str:
    """`limit` for one of `workers` processes that each count in their own memory: a share of every amount
    such that all the shares together allow no more than the limit. An amount that divides into whole
    shares is divided (10 a minute over 5 workers: 2 each); a smaller one is one request over a longer
    window (3 a minute over 5 workers: 1 each per 100 s, 3 a minute together). A client whose requests land
    unevenly is refused a little early, never late; a shared store (Redis) counts exactly."""
    if workers <= 1:
        return limit
    shares = []
    for item in parse_many(limit):
        if item.amount >= workers:
            shares.append(f"{item.amount // workers} per {item.multiples} {item.GRANULARITY.name}")
        else:  # at most `amount` a window from all together: each worker 1 per window × workers / amount
            seconds = -(-item.multiples * item.GRANULARITY.seconds * workers // item.amount)
            shares.append(f"1 per {seconds} second")
    return ";".join(shares)


def _account() -> str:
    """Sign-in guesses at one account, from however many addresses (the form's username as sign-in reads it)."""
    return "account:" + request.form.get("username", "").strip().lower()


def _failed(response) -> bool:
    """A sign-in that did not let anyone in: only guesses count against an account, so its owner signing in
    (and out) all day is never locked out by their own successes."""
    return response.status_code >= 400


@cache
def _limits(open311_client: Callable[[], str | None]) -> dict[str, object]:
    """Endpoint → its limit, made once: the limiter keeps each limit it is given, app after app.

    Plate pages and plate JSON share one budget: many residents share a carrier-NAT address,
    so it is generous.
    """
    scans = limiter.shared_limit(_setting("RATELIMIT_SCANS"), scope="scans")
    reports = limiter.shared_limit(_setting("RATELIMIT_REPORTS"), scope="reports")
    return {
        "pages.plate": scans,
        "api.plate": scans,
        "reports.submit": reports,
        "reports.add_to": reports,
        "open311.create_request": limiter.limit(_setting("RATELIMIT_OPEN311"),
                                                key_func=lambda: open311_client() or get_remote_address()),
        "staff.sign_in.sign_in": (limiter.limit(_setting("RATELIMIT_SIGN_IN")),
                                  limiter.limit(_setting("RATELIMIT_SIGN_IN_ACCOUNT"), key_func=_account,
                                                deduct_when=_failed)),
    }


def init_app(app: Flask, open311_client: Callable[[], str | None]) -> None:
    """Bind the limiter and put each limit on its view; call it once the blueprints are registered.

    `open311_client` names the account an Open311 request authenticates as, or None: a 12345
    system sends a whole city's reports from one address, so it is counted by its account,
    however it spells its key.
    """
    limiter.init_app(app)
    if not app.config["RATELIMIT_ENABLED"]:
        return
    for endpoint, limits in _limits(open311_client).items():
        for limit in limits if isinstance(limits, tuple) else (limits,):
            app.view_functions[endpoint] = limit(app.view_functions[endpoint])
