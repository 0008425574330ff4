"""The JSON API: plates (the same resolution the resident page shows), nearby services, walking routes, and
finding plates by what people type (search) or where they stand (reverse)."""


import orjson
from flask import Response, current_app, request
from marshmallow import Schema, fields, validate

from platesvc.errors import BadParameterError, RetiredPlateError, UnknownPlateError
from platesvc.maps.nearby import MAX_RADIUS_M, nearby_services
from platesvc.maps.walking import nearby_on_foot, route_between
from platesvc.messages import Message
from platesvc.scan.walking import RoadNames
from platesvc.search.engine import (
    MAX_QUERY,
    MAX_REVERSE_RADIUS_M,
    feature_collection,
    reverse_plates,
    search_plates,
)
from platesvc.store.models import ServiceCategory
from platesvc.web import read_store, reference_snapshot, rendered, resolve, worker
from platesvc.web.caching import revalidated
from platesvc.web.openapi import PLATE_ID, Blueprint
from platesvc.web.parameters import Choice, Decimal, Place, PlaceOrId, Text, Whole

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Plates, the services near a place, and walking routes")

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
    distance_m = fields.Float(required=True, metadata={"description": "Geodesic metres, in a straight line"})
    walk_m = fields.Float(metadata={"description": "Metres on foot along the streets, door to door (the straight "
                                                   "line where on_network is false)"})
    walk_minutes = fields.Integer(metadata={"description": "Minutes on foot at an older person's pace "
                                                           "(PLATESVC_WALK_SPEED_KMH, 3 km/h by default)"})
    on_network = fields.Boolean(allow_none=True, metadata={
        "description": "False where the streets do not join the two: walk_m is then the straight line (null: linked "
                       "before walking was, until `platesvc streets rebuild`)"})
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
                          metadata={"description": "By category, nearest on foot first"})
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
    by = Choice(["air", "walk"], load_default="air", metadata={
        "description": "Nearest in a straight line (air), or on foot along the streets (walk: each feature also "
                       "has walk_m, walk_minutes and on_network; the place must lie within "
                       "PLATESVC_WALK_MAX_ACCESS_M, 500 m by default, of a street, or the answer is a 422)"})


class RouteQuery(Schema):
    start = PlaceOrId(data_key="from", required=True, metadata={
        "description": "Where the walk begins: a plate ID (its door), or lon,lat", "example": "106.28,38.47"})
    end = PlaceOrId(data_key="to", required=True, metadata={
        "description": "Where it ends: a service point's id, or lon,lat", "example": "106.285,38.472"})


class RouteProperties(Schema):
    walk_m = fields.Float(required=True, metadata={"description": "Metres on foot, door to door (the straight line "
                                                                  "where on_network is false)"})
    walk_minutes = fields.Integer(required=True, metadata={"description": "At speed_kmh"})
    distance_m = fields.Float(required=True, metadata={"description": "Geodesic metres in a straight line"})
    on_network = fields.Boolean(required=True, metadata={"description": "False where no walk along the streets "
                                                                        "joins the two: the line is then straight"})
    speed_kmh = fields.Float(required=True,
                             metadata={"description": "An older person's pace (PLATESVC_WALK_SPEED_KMH)"})
    steps = fields.List(fields.String(), required=True, metadata={"description": "The turns, in words"})


class LineString(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["LineString"]))
    coordinates = fields.List(fields.List(fields.Float()), required=True)


class RouteFeature(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["Feature"]))
    geometry = fields.Nested(LineString, required=True)
    properties = fields.Nested(RouteProperties, required=True)


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
@bp.refuses(422, "by=walk, and the place lies farther from every street than PLATESVC_WALK_MAX_ACCESS_M")
def nearby(lon: float, lat: float, limit: int, by: str, category: str | None = None, radius: float | None = None):
    """Service points near a place, nearest first: in a straight line, or on foot (by=walk)."""
    if by == "walk":
        config = current_app.config
        walked = read_store(lambda engine: nearby_on_foot(engine, lon, lat, limit, radius, category,
                                                          config["WALK_MAX_ACCESS_M"]))
        metres_a_minute = config["WALK_SPEED_KMH"] * 1000 / 60
        features = [_with_walk(_with_distance(item.service.shown.feature, item.distance_m), item.walk_m,
                               metres_a_minute, item.on_network) for item in walked]
    else:
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


def _with_walk(feature: dict, walk_m: float, metres_a_minute: float, on_network: bool) -> dict:
    return {**feature, "properties": {**feature["properties"], "walk_m": round(walk_m, 1),
                                      "walk_minutes": max(1, round(walk_m / metres_a_minute)),
                                      "on_network": on_network}}


@bp.get("/route")
@bp.arguments(RouteQuery, location="query", as_kwargs=True)
@bp.answers(200, RouteFeature, "GeoJSON Feature: the walk as a LineString, with its length, time and turns",
            content_type="application/geo+json")
@bp.refuses(422, "A place given as lon,lat lies farther from every street than PLATESVC_WALK_MAX_ACCESS_M")
def route(start, end):
    """The walking route between two places (a plate's door or lon,lat; a service point or lon,lat)."""
    config = current_app.config
    (start_at, _, walk_m), (end_at, end_name, _) = _place("from", start), _place("to", end)
    walk_m = walk_m.get(int(end)) if walk_m is not None and not isinstance(end, tuple) else None
    # A place given by coordinates must be near a street; a plate's door or a service point is walked from its own.
    limits = tuple(config["WALK_MAX_ACCESS_M"] if isinstance(given, tuple) else float("inf") for given in (start, end))
    road_names = RoadNames(reference_snapshot().roads)
    walk = read_store(lambda engine: route_between(engine, start_at, end_at, road_names, end_name, limits, walk_m))
    return Response(orjson.dumps(walk.feature(config["WALK_SPEED_KMH"])), mimetype="application/geo+json")


def _place(parameter: str, given) -> tuple[tuple[float, float], str | None, dict | None]:
    """Where a route's end is (lon, lat), its name, and (a plate) its walks to its listed services by id."""
    if isinstance(given, tuple):
        return given, None, None
    if parameter == "from":
        try:
            document = resolve(given).document
        except (UnknownPlateError, RetiredPlateError) as error:
            raise BadParameterError("from", Message("%(value)s is no plate in service here (give a plate ID or "
                                                    "lon,lat)", value=repr(given))) from error
        walks = {entry["id"]: entry["walk_m"] for entries in document["nearest"].values() for entry in entries}
        return tuple(document["location"]["wgs84"]), None, walks
    service = reference_snapshot().services.get(int(given)) if given.isdecimal() and len(given) < 12 else None
    if service is None:
        raise BadParameterError("to", Message("%(value)s is no service point here (give its id or lon,lat)",
                                              value=repr(given)))
    return (service.lon, service.lat), service.name, None
