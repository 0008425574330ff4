"""Operations: liveness, readiness (database reachable, schema current) and Prometheus metrics."""

import ipaddress

from flask import Response, abort, current_app, jsonify, request
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from platesvc.errors import AuthenticationError
from platesvc.ops import metrics as metrics_module
from platesvc.staff import queue
from platesvc.store import migrations
from platesvc.store.database import db
from platesvc.store.figures import DatabaseFigures
from platesvc.web import RETRY_AFTER_SECONDS
from platesvc.web.openapi import BEARER, Blueprint
from platesvc.web.staff import signed_in_user

bp = Blueprint("health", __name__, description="Liveness, readiness and metrics")
RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class Health(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)
    schema = fields.String(allow_none=True)
    expected = fields.String()
    message = fields.String()
    jobs = fields.String(metadata={"description": "The staff jobs' worker: ok, degraded (a thread of its own being "
                                                  "replaced), or down (no heartbeat lately)"})


@bp.get("/healthz")
@bp.answers(200, Health, "Up")
@bp.answers(503, Health, "Database unreachable")
def healthz():
    """Liveness and database reachability."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503, RETRY
    return jsonify(status="ok", database="ok")


@bp.get("/readyz")
@bp.answers(200, Health, "Ready")
@bp.answers(503, Health, "Database unreachable or schema behind")
def readyz():
    """Readiness: the database answers and its schema is at the code's latest migration."""
    try:
        current = migrations.current_revision(db.engine)
    except SQLAlchemyError:
        return jsonify(status="not ready", database="unreachable"), 503, RETRY
    head = migrations.head_revision()
    if current != head:
        return jsonify(status="not ready", database="ok", schema=current, expected=head,
                       message="run `platesvc db upgrade`"), 503
    return jsonify(status="ready", database="ok", schema=current, jobs=_job_worker())


def _job_worker() -> str:
    """The job worker's state, as its heartbeat tells it: reported, not required (a web worker serves without
    it, and it may run as a service of its own)."""
    return queue.worker_status(current_app.config)


@bp.get("/metrics")
@bp.doc(security=[*BEARER, {}])
@bp.answers(200, {"type": "string"}, "Prometheus text format", content_type="text/plain")
@bp.refuses(401, "Neither from the metrics network nor with a token")
@bp.refuses(404, "Metrics are switched off")
def metrics():
    """Prometheus metrics: requests and latency by route, scans, plates, reports, imports.

    Open to PLATESVC_METRICS_NETWORKS; elsewhere a staff API token is needed.
    """
    if not current_app.config["METRICS_ENABLED"]:
        abort(404)
    if not _from_metrics_network() and signed_in_user() is None:
        raise AuthenticationError("metrics are for the monitoring network or a staff API token")
    return Response(metrics_module.exposition(DatabaseFigures(db.engine)), content_type=CONTENT_TYPE_LATEST)


def _from_metrics_network() -> bool:
    networks = [part.strip() for part in current_app.config["METRICS_NETWORKS"].split(",") if part.strip()]
    if not networks or not request.remote_addr:
        return False
    address = ipaddress.ip_address(request.remote_addr)
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
