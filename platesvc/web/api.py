"""The JSON API for plates: the same resolution the resident page shows."""

from flask import Blueprint, request

from platesvc.web import resolve
from platesvc.web.caching import revalidated

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/plates/<plate_text>")
def plate(plate_text: str):
    return revalidated(resolve(plate_text).to_json(), "application/json", request)
