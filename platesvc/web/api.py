"""The JSON API: plates (the same resolution the resident page shows) and nearby services."""

import math

import orjson
from flask import Blueprint, Response, request

from platesvc.errors import BadParameterError
from platesvc.maps.nearby import MAX_RADIUS_M, nearby_services
from platesvc.store.models import ServiceCategory
from platesvc.web import read_store, rendered, resolve
from platesvc.web.caching import revalidated
from platesvc.web.parameters import number

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_NEARBY = 10
MAX_NEARBY = 100


@bp.get("/plates/<plate_text>")
def plate(plate_text: str):
    resolution = resolve(plate_text)
    return revalidated(rendered(resolution, "json", render=resolution.to_json), "application/json", request)


@bp.get("/nearby")
def nearby():
    """Service points near lon/lat as GeoJSON, nearest first; `limit` above the maximum is capped."""
    args = request.args
    lon = number(args, "lon", -180, 180)
    lat = number(args, "lat", -90, 90)
    radius = number(args, "radius", 0, MAX_RADIUS_M, required=False)
    limit = min(int(number(args, "limit", 1, math.inf, required=False) or DEFAULT_NEARBY), MAX_NEARBY)  # capped
    category = args.get("category") or None
    if category is not None and category not in set(ServiceCategory):
        raise BadParameterError("category", f"{category!r} is none of {', '.join(ServiceCategory)}")
    found = read_store(lambda engine: nearby_services(engine, lon, lat, limit, radius, category))
    features = [_with_distance(item.service.shown.feature, item.distance_m) for item in found]
    return Response(orjson.dumps({"type": "FeatureCollection", "numberReturned": len(features), "limit": limit,
                                  "features": features}), mimetype="application/geo+json")


def _with_distance(feature: dict, metres: float) -> dict:
    return {**feature, "properties": {**feature["properties"], "distance_m": round(metres, 1)}}
