"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) under /ogc, over features.py.

Errors answer as OGC clients expect: JSON with `code` and `description`, and the HTTP status.
Without a box, a `next` link carries the last key of its page (`after`) beside the offset,
so following links reads the key index from there however deep the page; with one, pages
follow the spatial index's order by offset (features.py). A client's own offset still works.
"""

import math
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

import orjson
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from platesvc.errors import BadParameterError, NotFoundError, PlatesvcError
from platesvc.maps import features
from platesvc.web import read_store

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GEOJSON = "application/geo+json"
ITEMS_PARAMETERS = {"bbox", "bbox-crs", "limit", "offset", "after", "f"}


@bp.get("")
@bp.get("/")
def landing():
    return jsonify({
        "title": "platesvc",
        "description": "Door plates, service points, police beats, culture zones, roads and divisions",
        "links": [
            _link(_url("ogc.landing"), "self", "application/json", "This document"),
            _link(_url("openapi.openapi_json"), "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                  "The API definition"),
            _link(_url("openapi.docs"), "service-doc", "text/html", "The API documentation"),
            _link(_url("ogc.conformance"), "conformance", "application/json", "Conformance classes"),
            _link(_url("ogc.collections"), "data", "application/json", "The feature collections"),
        ],
    })


@bp.get("/conformance")
def conformance():
    return jsonify({"conformsTo": CONFORMANCE})


@bp.get("/collections")
def collections():
    return jsonify({
        "links": [_link(_url("ogc.collections"), "self", "application/json", "The feature collections")],
        "collections": read_store(lambda engine: [_describe(collection, engine)
                                                  for collection in features.COLLECTIONS.values()]),
    })


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    wanted = _collection(collection_id)
    return jsonify(read_store(lambda engine: _describe(wanted, engine)))


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    wanted = _collection(collection_id)
    args = request.args
    unknown = set(args) - ITEMS_PARAMETERS - set(wanted.filterable)
    if unknown:
        name = min(unknown)
        raise BadParameterError(name, f"is not a parameter of {collection_id} items; filter by one of "
                                      f"{', '.join(wanted.filterable)}")
    _check_format(args)
    limit = min(_integer(args, "limit", features.DEFAULT_LIMIT, low=1, high=10 ** 100),
                features.MAX_LIMIT)  # cut, not refused
    offset = _integer(args, "offset", 0, low=0)
    after = None
    if "after" in args:
        after = wanted.parse_key(args["after"])
        if after is None:
            raise BadParameterError("after", f"{args['after']!r} is not the id of a feature of {collection_id}")
    bbox = _bbox(args)
    filters = {name: args[name] for name in wanted.filterable if name in args}
    config = current_app.config
    page = read_store(lambda engine: features.items(engine, wanted, config, bbox, filters, limit, offset, after))
    items_url = _items_url(collection_id)
    links = [_link(items_url(offset, after), "self", GEOJSON, "This page"),
             _link(_url("ogc.collection", collection_id=collection_id), "collection",
                   "application/json", "The collection")]
    if page.more:
        links.append(_link(items_url(offset + limit, None if bbox else page.last_key), "next", GEOJSON,
                           "Next page"))
    if offset > 0:
        links.append(_link(items_url(max(0, offset - limit)), "prev", GEOJSON, "Previous page"))
    head = {"type": "FeatureCollection"}
    if page.matched is not None:
        head["numberMatched"] = page.matched
    head.update({
        "numberReturned": len(page.encoded),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    })
    head["features"] = [orjson.Fragment(feature) for feature in page.encoded]  # GeoJSON the store wrote
    return Response(orjson.dumps(head), mimetype=GEOJSON)


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    wanted = _collection(collection_id)
    _check_format(request.args)
    config = current_app.config
    feature = read_store(lambda engine: features.item(engine, wanted, config, feature_id))
    if feature is None:
        raise NotFoundError(f"{collection_id} has no feature {feature_id}")
    links = [
        _link(_url("ogc.item", collection_id=collection_id, feature_id=feature_id), "self",
              GEOJSON, "This feature"),
        _link(_url("ogc.collection", collection_id=collection_id), "collection",
              "application/json", "The collection"),
    ]
    return Response(orjson.dumps({**orjson.loads(feature), "links": links}), mimetype=GEOJSON)


@bp.errorhandler(PlatesvcError)
def _domain_error(error: PlatesvcError):
    code = {400: "InvalidParameterValue", 404: "NotFound"}.get(error.http_status, "InvalidRequest")
    return jsonify(code=code, description=error.message), error.http_status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return jsonify(code=error.name.replace(" ", ""), description=error.description), error.code


def _collection(collection_id: str) -> features.Collection:
    found = features.COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFoundError(f"no collection {collection_id!r}; there are {', '.join(features.COLLECTIONS)}")
    return found


def _describe(collection: features.Collection, engine) -> dict:
    bounds = features.extent(engine, collection)
    description = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(_url("ogc.collection", collection_id=collection.id), "self",
                  "application/json", "This collection"),
            _link(_url("ogc.items", collection_id=collection.id), "items", GEOJSON,
                  f"Its features ({collection.geometry_type}); filter by {', '.join(collection.filterable)}"),
        ],
    }
    if bounds:
        description["extent"] = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    return description


def _url(endpoint: str, **values) -> str:
    """An absolute URL (clients follow links as given), built once per host the requests come by."""
    environ = request.environ
    where = tuple(environ.get(name) for name in _URL_ROOT_KEYS)
    return _absolute_url(where, endpoint, tuple(sorted(values.items())))


# What url_for's absolute URLs depend on beside the route (after any ProxyFix has had its say).
_URL_ROOT_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")


@lru_cache(maxsize=4096)
def _absolute_url(_where: tuple, endpoint: str, values: tuple) -> str:
    # url_for with _external costs an items page more than finding its features.
    return url_for(endpoint, _external=True, **dict(values))


def _link(href: str, rel: str, media_type: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _items_url(collection_id: str) -> Callable[..., str]:
    """This request's items URL at another offset, and after a key (the path is built once: the
    links need three)."""
    path = _url("ogc.items", collection_id=collection_id)
    # The client's own query, already escaped, less any offset or key.
    kept = [part for part in request.query_string.decode("ascii", "replace").split("&")
            if part and not part.startswith(("offset=", "after="))]

    def at(offset: int, after=None) -> str:
        query = "&".join(kept + ([f"offset={offset}"] if offset else [])
                         + ([f"after={quote(str(after), safe='')}"] if after is not None else []))
        return f"{path}?{query}" if query else path
    return at


def _check_format(args) -> None:
    wanted = args.get("f", "json").lower()
    if wanted not in ("json", "geojson"):
        raise BadParameterError("f", f"{wanted!r}: only json (GeoJSON) is offered")


def _integer(args, name: str, default: int, low: int, high: int = 2 ** 31 - 1) -> int:
    text = args.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadParameterError(name, f"{text!r} is not a whole number from {low} to {high}")
    return int(text)


def _bbox(args) -> features.BBox | None:
    text = args.get("bbox")
    crs = args.get("bbox-crs", CRS84)
    if crs != CRS84:
        raise BadParameterError("bbox-crs", f"only {CRS84} (longitude, latitude in WGS84) is offered")
    if text is None:
        return None
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise BadParameterError("bbox", f"{text!r}: give minLon,minLat,maxLon,maxLat") from None
    if len(numbers) == 6:  # with heights, which plates and services do not have
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadParameterError("bbox", f"{text!r}: give minLon,minLat,maxLon,maxLat")
    min_x, min_y, max_x, max_y = numbers
    if not (-180 <= min_x <= 180 and -180 <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise BadParameterError("bbox", f"{text!r}: longitudes must lie in -180…180 and latitudes in -90…90, "
                                        "south before north")
    if min_x > max_x:
        raise BadParameterError("bbox", f"{text!r}: a box across the antimeridian is not supported")
    return min_x, min_y, max_x, max_y
