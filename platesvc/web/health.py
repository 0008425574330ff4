"""Liveness and readiness: is the service up, can it reach its database, is the schema current."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from platesvc import schema
from platesvc.database import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/readyz")
def readyz():
    """Ready for traffic: the database answers and its schema is at the code's latest migration."""
    try:
        current = schema.current_revision(db.engine)
    except SQLAlchemyError:
        return jsonify(status="not ready", database="unreachable"), 503
    head = schema.head_revision()
    if current != head:
        return jsonify(status="not ready", database="ok", schema=current, expected=head,
                       message="run `platesvc db upgrade`"), 503
    return jsonify(status="ready", database="ok", schema=current)
