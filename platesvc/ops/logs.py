"""Structured logs: a JSON object a line (plain text on a terminal), each with the id of the request it came from.

The id comes from the client's X-Request-ID when it is a sane token (a proxy's), else a
new one; every answer carries it back, so a resident's or an operator's complaint can
be matched to its log lines. Access lines leave out the client's address: with a
plate's path and the time it would say who stood at which door.
"""

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("platesvc_request_id", default=None)
access_log = logging.getLogger("platesvc.access")
_FIELDS = ("http", "job")  # structured extras a record may carry


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        current = getattr(record, "request_id", None) or request_id.get()
        if current:
            entry["request_id"] = current
        for name in _FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class WithoutClientKey(logging.Filter):
    """Flask-Limiter's line for a breached limit names the client's key (its address) beside the
    request id, whose access line holds the plate: the key is left out (the 429 is counted in metrics)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg.startswith("ratelimit ") and isinstance(record.args, tuple) and len(record.args) == 3:
            record.args = (record.args[0], "a client", record.args[2])
        return True


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id.get() or "-"
        return True


def init_app(app: Flask) -> None:
    """Send logs to stderr in the configured format, unless something (a test runner) already takes them."""
    limiter_log = logging.getLogger("flask-limiter")  # whoever takes its records: ours, gunicorn's, a test's
    if not any(isinstance(existing, WithoutClientKey) for existing in limiter_log.filters):
        limiter_log.addFilter(WithoutClientKey())
    root = logging.getLogger()
    if root.handlers:
        return
    form = app.config["LOG_FORMAT"]
    if form == "auto":
        form = "text" if sys.stderr.isatty() else "json"
    if form not in ("json", "text"):
        raise ValueError(f"PLATESVC_LOG_FORMAT={form!r}: choose json, text or auto")
    handler = logging.StreamHandler(sys.stderr)
    if form == "json":
        handler.setFormatter(JsonFormatter())  # a line outside any request has no request_id at all
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
        handler.addFilter(_RequestIdFilter())  # "-" outside any request
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"].upper() or ("WARNING" if app.config.get("COMMAND_LINE") else "INFO"))
    # Alembic narrates each migration step at INFO; `platesvc db upgrade` says what it did itself.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
