"""The JSON API: plates (the same resolution the resident page shows) and nearby services."""

import math

from flask import Blueprint, Response, request

from platesvc import rate_limits
from platesvc.database import db
from platesvc.errors import BadParameterError
from platesvc.models import ServiceCategory
from platesvc.nearby import MAX_RADIUS_M, nearby_services
from platesvc.web import reference_snapshot, rendered, resolve
from platesvc.web.caching import revalidated

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_NEARBY = 10
MAX_NEARBY = 100


@bp.get("/plates/<plate_text>")
@rate_limits.scans()
def plate(plate_text: str):
    resolution = resolve(plate_text)
    return revalidated(rendered(resolution, "json", render=resolution.to_json), "application/json", request)


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
    encoded = reference_snapshot().services_geojson  # service points as features, but for their distance
    features = [f'{encoded[item.service_id]},"distance_m":{round(item.distance_m, 1)!r}}}}}' for item in found
                if item.service_id in encoded]
    return Response(f'{{"type":"FeatureCollection","numberReturned":{len(features)},"limit":{limit},'
                    f'"features":[{",".join(features)}]}}', mimetype="application/geo+json")


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
