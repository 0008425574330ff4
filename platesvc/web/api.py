"""The JSON API: plates (the same resolution the resident page shows) and nearby services."""

import math

from flask import Blueprint, jsonify, request

from platesvc.database import db
from platesvc.errors import BadParameterError
from platesvc.models import ServiceCategory
from platesvc.nearby import MAX_RADIUS_M, nearby_services
from platesvc.web import reference_snapshot, resolve
from platesvc.web.caching import revalidated

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_NEARBY = 10
MAX_NEARBY = 100


@bp.get("/plates/<plate_text>")
def plate(plate_text: str):
    return revalidated(resolve(plate_text).to_json(), "application/json", request)


@bp.get("/nearby")
def nearby():
    """Service points near lon/lat as GeoJSON, nearest first; `limit` above the maximum is capped."""
    lon = _number("lon", -180, 180)
    lat = _number("lat", -90, 90)
    radius = _number("radius", 0, MAX_RADIUS_M, required=False)
    limit = min(int(_number("limit", 1, math.inf, required=False) or DEFAULT_NEARBY), MAX_NEARBY)
    category = request.args.get("category") or None
    if category is not None and category not in set(ServiceCategory):
        raise BadParameterError("category", f"{category!r} is none of {', '.join(ServiceCategory)}")
    found = nearby_services(db.engine, lon, lat, limit, category, radius)
    services = reference_snapshot().services
    response = jsonify({
        "type": "FeatureCollection",
        "features": [_feature(services[item.service_id], item.distance_m) for item in found
                     if item.service_id in services],
        "numberReturned": len(found),
        "limit": limit,
    })
    response.mimetype = "application/geo+json"
    return response


def _number(name: str, low: float, high: float, required: bool = True) -> float | None:
    text = request.args.get(name, "").strip()
    if not text:
        if required:
            raise BadParameterError(name, "is required")
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadParameterError(name, f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadParameterError(name, f"must be between {low:g} and {high:g}")
    return value


def _feature(service: dict, distance_m: float) -> dict:
    """A service point's snapshot entry (location and map links made once) as a GeoJSON feature."""
    properties = {key: value for key, value in service.items() if key != "id"}
    return {
        "type": "Feature",
        "id": service["id"],
        "geometry": {"type": "Point", "coordinates": service["location"]["wgs84"]},
        "properties": {**properties, "distance_m": round(distance_m, 1)},
    }
