"""The JSON API: plates (the same resolution the resident page shows), nearby services, and finding plates
by what people type (search) or where they stand (reverse)."""

import orjson
from flask import Response, current_app, request
from marshmallow import Schema, fields, validate

from platesvc.maps.nearby import MAX_RADIUS_M, nearby_services
from platesvc.search.engine import (
    MAX_QUERY,
    MAX_REVERSE_RADIUS_M,
    feature_collection,
    reverse_plates,
    search_plates,
)
from platesvc.store.models import ServiceCategory
from platesvc.web import read_store, rendered, resolve, worker
from platesvc.web.caching import revalidated
from platesvc.web.openapi import PLATE_ID, Blueprint
from platesvc.web.parameters import Choice, Decimal, Place, Text, Whole

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Plates and the services near a place")

DEFAULT_NEARBY = 10
MAX_NEARBY = 100
DEFAULT_FOUND = 10
MAX_FOUND = 50
DEFAULT_REVERSE_RADIUS_M = 100


class LonLat(fields.List):
    def __init__(self, **kwargs):
        super().__init__(fields.Float(), validate=validate.Length(2, 2),
                         metadata={"description": "[longitude, latitude]"}, **kwargs)


class Location(Schema):
    wgs84 = LonLat(required=True)
    gcj02 = LonLat(required=True)
    bd09 = LonLat(required=True)


class AppUrls(fields.Dict):
    """A link into each map app, carrying the datum it expects."""

    def __init__(self, description: str = "A link into each map app (amap, baidu, tencent, apple, geo), in the "
                                          "datum it expects", **kwargs):
        super().__init__(keys=fields.String(), values=fields.String(), metadata={"description": description},
                         **kwargs)


class Service(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(list(ServiceCategory)))
    distance_m = fields.Float(required=True, metadata={"description": "Geodesic metres"})
    phone = fields.String(allow_none=True)
    hours = fields.String(allow_none=True)
    location = fields.Nested(Location, required=True)
    navigation = AppUrls(required=True)


class Address(Schema):
    full = fields.String(required=True)
    short = fields.String()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    division_code = fields.String(required=True, allow_none=True)
    district = fields.String(required=True, allow_none=True)
    subdistrict = fields.String(required=True, allow_none=True)
    community = fields.String(required=True, allow_none=True)
    road = fields.String(required=True, allow_none=True)
    road_pinyin = fields.String(required=True, allow_none=True)
    number = fields.String(required=True, allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "The building's name, if it has one"})


class Officer(Schema):
    name = fields.String()
    phone = fields.String(allow_none=True)


class Police(Schema):
    beat = fields.String()
    station = fields.String()
    officer = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    officers = fields.List(fields.Dict())


class Note(Schema):
    title = fields.String()
    body = fields.String()


class Hotline(Schema):
    name = fields.String()
    phone = fields.String()


class AssistanceApp(Schema):
    name = fields.String(required=True, metadata={"description": "The app residents apply in (a WeChat mini-program)"})
    name_en = fields.String()
    url = fields.String(allow_none=True, metadata={"description": "A link that opens it, where there is one"})


class AssistanceWindow(Schema):
    name = fields.String(required=True)
    address = fields.String(allow_none=True)
    hours = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    navigation = AppUrls(allow_none=True)


class Assistance(Schema):
    app = fields.Nested(AssistanceApp, required=True)
    window = fields.Nested(AssistanceWindow, required=True, allow_none=True,
                           metadata={"description": "The subdistrict's one-stop window (else the district's)"})
    hotline = fields.String(required=True, metadata={"description": "The district's assistance hotline"})


class Plate(Schema):
    id = fields.String(required=True)
    display_id = fields.String(required=True)
    url = fields.String()
    status = fields.String(required=True)
    address = fields.Nested(Address, required=True)
    location = fields.Nested(Location, required=True)
    navigation = AppUrls(required=True)
    culture = fields.List(fields.Nested(Note), required=True)
    police = fields.Nested(Police, required=True, allow_none=True)
    nearest = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(Service)), required=True,
                          metadata={"description": "By category, nearest first"})
    assistance = fields.Nested(Assistance, required=True, metadata={"description": "Applying for social assistance"})
    hotlines = fields.List(fields.Nested(Hotline), required=True)


class NearbyFeatures(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["FeatureCollection"]))
    features = fields.List(fields.Dict(), required=True)
    numberReturned = fields.Integer(required=True)
    limit = fields.Integer()


class NearbyQuery(Schema):
    lon = Decimal(-180, 180, required=True, metadata={"example": 106.28})
    lat = Decimal(-90, 90, required=True, metadata={"example": 38.47})
    category = Choice(list(ServiceCategory))
    radius = Decimal(0, MAX_RADIUS_M, metadata={"description": "Metres; without it, the nearest `limit`"})
    limit = Whole(1, cut=MAX_NEARBY, load_default=DEFAULT_NEARBY)


@bp.get("/plates/<plate_text>", parameters=[PLATE_ID])
@bp.answers(200, Plate, "The plate, with an ETag (If-None-Match gives 304)")
@bp.answers(304, description="Not modified")
@bp.refuses(404, "Not a plate ID, or none issued; with suggestions")
@bp.refuses(410, "Retired; with the plate its building went to")
def plate(plate_text: str):
    """Resolve a plate: address, navigation, culture, police, nearest services."""
    resolution = resolve(plate_text)
    return revalidated(rendered(resolution, "json", render=resolution.to_json), "application/json", request)


@bp.get("/nearby")
@bp.arguments(NearbyQuery, location="query", as_kwargs=True)
@bp.answers(200, NearbyFeatures, "GeoJSON FeatureCollection, nearest first", content_type="application/geo+json")
def nearby(lon: float, lat: float, limit: int, category: str | None = None, radius: float | None = None):
    """Service points near a place, nearest first."""
    found = read_store(lambda engine: nearby_services(engine, lon, lat, limit, radius, category))
    features = [_with_distance(item.service.shown.feature, item.distance_m) for item in found]
    return Response(orjson.dumps({"type": "FeatureCollection", "numberReturned": len(features), "limit": limit,
                                  "features": features}), mimetype="application/geo+json")


def _with_distance(feature: dict, metres: float) -> dict:
    return {**feature, "properties": {**feature["properties"], "distance_m": round(metres, 1)}}


class SearchQuery(Schema):
    q = Text(max_length=MAX_QUERY, required=True, metadata={
        "description": "What a person types: a Chinese address in any order (兴庆区 上海路 501), Pinyin with or "
                       "without spaces (shanghai lu 501), initials (shl 501), with a wrong or homophone character, "
                       "traditional characters, full-width digits, a building or community name, or a plate ID "
                       "in any spelling (one character off gives the candidates); the last word may be unfinished",
        "example": "上海路501"})
    limit = Whole(1, cut=MAX_FOUND, load_default=DEFAULT_FOUND)
    near = Place(metadata={"description": "`longitude,latitude`: among matches as good, the nearest first",
                           "example": "106.28,38.47"})


class ReverseQuery(Schema):
    lon = Decimal(-180, 180, required=True, metadata={"example": 106.28})
    lat = Decimal(-90, 90, required=True, metadata={"example": 38.47})
    radius = Decimal(0, MAX_REVERSE_RADIUS_M, load_default=DEFAULT_REVERSE_RADIUS_M,
                     metadata={"description": "Metres"})
    limit = Whole(1, cut=MAX_FOUND, load_default=5)


@bp.get("/search")
@bp.arguments(SearchQuery, location="query", as_kwargs=True)
@bp.answers(200, NearbyFeatures, "GeoJSON FeatureCollection of plates, best match first: each feature's id is the "
                                 "plate ID, its properties the address, url and score",
            content_type="application/geo+json")
def search(q: str, limit: int, near: tuple[float, float] | None = None):
    """Find plates by what a person types: characters, Pinyin, initials, with a slip; or a plate ID."""
    config, cache = current_app.config, worker().searches

    def answer(engine) -> bytes:
        return cache.answer(engine, (q, limit, near), lambda: orjson.dumps(feature_collection(
            engine, config, lambda session: search_plates(session, config, q, limit, near), limit)))
    return Response(read_store(answer), mimetype="application/geo+json")


@bp.get("/reverse")
@bp.arguments(ReverseQuery, location="query", as_kwargs=True)
@bp.answers(200, NearbyFeatures, "GeoJSON FeatureCollection of plates, nearest first, each with its address and "
                                 "distance_m", content_type="application/geo+json")
def reverse(lon: float, lat: float, radius: float, limit: int):
    """The plates nearest a place ("where am I"), nearest first."""
    config = current_app.config
    return _geojson(read_store(lambda engine: feature_collection(
        engine, config, lambda session: reverse_plates(session, config, lon, lat, radius, limit), limit)))


def _geojson(collection: dict) -> Response:
    return Response(orjson.dumps(collection), mimetype="application/geo+json")
