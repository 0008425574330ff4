"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) under /ogc, over features.py.

Errors answer as OGC clients expect: JSON with `code` and `description`, and the HTTP status.
Without a box, a `next` link carries the last key of its page (`after`) beside the offset,
so following links reads the key index from there however deep the page; with one, pages
follow the spatial index's order by offset (features.py). A client's own offset still works.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

import orjson
from flask import Response, current_app, jsonify, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from webargs.fields import DelimitedList
from werkzeug.exceptions import HTTPException

from platesvc.errors import BadParameterError, NotFoundError, PlatesvcError
from platesvc.maps import features
from platesvc.web import openapi, read_store
from platesvc.web.openapi import OPENAPI, Blueprint
from platesvc.web.parameters import Choice, Decimal, Text, Whole, moment


class OgcError(Schema):
    code = fields.String(required=True)
    description = fields.String(required=True)


bp = Blueprint("ogc", __name__, url_prefix="/ogc", errors=OgcError,
               description="OGC API - Features: Core, GeoJSON, OpenAPI 3.0")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GEOJSON = "application/geo+json"
COLLECTION_ID = {"in": "path", "name": "collectionId", "example": "services",
                 "schema": {"type": "string", "enum": list(features.COLLECTIONS)}}
FEATURE_ID = {"in": "path", "name": "featureId", "example": 1}


class BBox(DelimitedList):
    """minLon,minLat,maxLon,maxLat (or with heights, six numbers) in WGS84."""

    def __init__(self, **kwargs):
        super().__init__(Decimal(-180, 180), validate=validate.Length(4, 6),
                         metadata={"description": "minLon,minLat,maxLon,maxLat (WGS84)",
                                   "example": [106.2, 38.4, 106.3, 38.5]}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> features.BBox:
        try:
            numbers = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError(f"{value!r}: give minLon,minLat,maxLon,maxLat") from None
        if len(numbers) == 6:  # with heights, which plates and services do not have
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        if len(numbers) != 4:
            raise ValidationError(f"{value!r}: give minLon,minLat,maxLon,maxLat")
        min_x, min_y, max_x, max_y = numbers
        if not -90 <= min_y <= max_y <= 90:
            raise ValidationError(f"{value!r}: longitudes must lie in -180…180 and latitudes in -90…90, "
                                  "south before north")
        if min_x > max_x:
            raise ValidationError(f"{value!r}: a box across the antimeridian is not supported")
        return min_x, min_y, max_x, max_y


class Interval(Text):
    """OGC's `datetime`: an instant, or an interval with either end open (`..` or empty), in RFC 3339."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[datetime | None, datetime | None]:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        ends = text.split("/")
        if len(ends) > 2 or all(end in ("", "..") for end in ends):
            raise ValidationError(f"{text!r}: give an instant or an interval such as 2026-01-01T00:00:00Z/..")
        try:
            moments = [None if end in ("", "..") else moment(end) for end in ends]
        except ValueError:
            raise ValidationError(f"{text!r} is not an RFC 3339 date-time or interval") from None
        return moments[0], moments[-1]


class FormatQuery(Schema):
    f = Choice(["json", "geojson"], fold_case=True, metadata={"description": "The encoding: JSON (GeoJSON)"})


class ItemsQuery(FormatQuery):
    bbox = BBox()
    bbox_crs = Choice([CRS84], data_key="bbox-crs")
    limit = Whole(1, cut=features.MAX_LIMIT, load_default=features.DEFAULT_LIMIT)
    offset = Whole(0, load_default=0)
    datetime = Interval(metadata={"description": "An instant or an interval (open ends with ..); these collections "
                                                 "have no time, so every feature matches (as Part 1 says)",
                                  "example": "2026-01-01T00:00:00Z/.."})
    after = Text(metadata={"description": "Without bbox: start after the feature with this id (features then come "
                                          "in id order); `next` links carry it, so deep pages read the index from "
                                          "there rather than count to the offset"})


def items_query(collection: features.Collection) -> ItemsQuery:
    """The parameters of a collection's items: the common ones and a filter for each property it is filtered by."""
    filters = {name: Text(metadata={"description": f"Only features whose {name} equals this"})
               for name in collection.filterable}
    error_messages = {"unknown": f"is not a parameter of {collection.id} items; filter by one of "
                                 f"{', '.join(collection.filterable)}"}
    return type(f"{collection.id.title()}ItemsQuery", (ItemsQuery,), {**filters, "error_messages": error_messages})()


class Link(Schema):
    href = fields.String(required=True)
    rel = fields.String(required=True)
    type = fields.String()
    title = fields.String()


class Landing(Schema):
    title = fields.String()
    description = fields.String()
    links = fields.List(fields.Nested(Link), required=True)


class Conformance(Schema):
    conformsTo = fields.List(fields.String(), required=True)


class CollectionInfo(Schema):
    id = fields.String(required=True)
    title = fields.String()
    description = fields.String()
    itemType = fields.String()
    crs = fields.List(fields.String())
    links = fields.List(fields.Nested(Link), required=True)
    extent = fields.Dict()


class Collections(Schema):
    links = fields.List(fields.Nested(Link), required=True)
    collections = fields.List(fields.Nested(CollectionInfo), required=True)


class FeatureCollection(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["FeatureCollection"]))
    numberMatched = fields.Integer(metadata={"description": "Left out past the limit or "
                                                           f"{features.MATCH_COUNT_LIMIT} matches, whichever is more"})
    numberReturned = fields.Integer(required=True)
    timeStamp = fields.String()
    links = fields.List(fields.Nested(Link), required=True)
    features = fields.List(fields.Dict(), required=True)


class Feature(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["Feature"]))
    id = fields.Raw(required=True)
    geometry = fields.Dict(required=True, allow_none=True)
    properties = fields.Dict(required=True, allow_none=True)
    links = fields.List(fields.Nested(Link))


@bp.get("/")
@bp.get("")
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, Landing, "Links to the API definition, conformance, data")
def landing(**_format):
    """OGC API - Features landing page."""
    return jsonify({
        "title": "platesvc",
        "description": "Door plates, service points, police beats, culture zones, roads and divisions",
        "links": [
            _link(request.url, "self", "application/json", "This document"),
            _link(_url("ogc.api_definition"), "service-desc", OPENAPI, "The API definition"),
            _link(_url("openapi.docs"), "service-doc", "text/html", "The API documentation"),
            _link(_url("ogc.conformance"), "conformance", "application/json", "Conformance classes"),
            _link(_url("ogc.collections"), "data", "application/json", "The feature collections"),
        ],
    })


@bp.get("/api")
@bp.answers(200, {"type": "object"}, "The OpenAPI 3 document of this OGC API, rooted here", content_type=OPENAPI)
def api_definition():
    """The OGC API's own OpenAPI document: its paths from /conformance down, its server this /ogc."""
    return Response(orjson.dumps(openapi.document_under(bp.url_prefix, _url("ogc.landing"))), mimetype=OPENAPI)


@bp.get("/conformance")
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, Conformance, "Core, GeoJSON, OpenAPI 3.0")
def conformance(**_format):
    """The conformance classes met."""
    return jsonify({"conformsTo": CONFORMANCE})


@bp.get("/collections")
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, Collections, "Each collection, its extent and links")
def collections(**_format):
    """The feature collections."""
    return jsonify({
        "links": [_link(_url("ogc.collections"), "self", "application/json", "The feature collections")],
        "collections": read_store(lambda engine: [_describe(collection, engine)
                                                  for collection in features.COLLECTIONS.values()]),
    })


@bp.get("/collections/<collectionId>", parameters=[COLLECTION_ID])
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, CollectionInfo, "The collection")
@bp.refuses(404, "No such collection")
def collection(collectionId: str, **_format):
    """One feature collection."""
    wanted = _collection(collectionId)
    return jsonify(read_store(lambda engine: _describe(wanted, engine)))


def _items_of(collection: features.Collection):
    """The view of a collection's items: its own route, so that its filters are its own in the document."""
    @bp.arguments(items_query(collection), location="query", unknown=RAISE)
    @bp.answers(200, FeatureCollection, "A page of features, with next/prev links", content_type=GEOJSON)
    def items(query: dict):
        return _items(collection, query)
    items.__doc__ = (f"The {collection.id} ({collection.geometry_type}): a page at a time, by box and by "
                     f"{', '.join(collection.filterable)}.")
    return items


def _items(wanted: features.Collection, query: dict) -> Response:
    collection_id = wanted.id
    limit, offset, bbox = query["limit"], query["offset"], query.get("bbox")
    after = None
    if "after" in query:
        after = wanted.parse_key(query["after"])
        if after is None:
            raise BadParameterError("after", f"{query['after']!r} is not the id of a feature of {collection_id}")
    filters = {name: query[name] for name in wanted.filterable if name in query}
    config = current_app.config
    page = read_store(lambda engine: features.items(engine, wanted, config, bbox, filters, limit, offset, after))
    items_url = _items_url(collection_id)
    links = [_link(items_url(offset, after), "self", GEOJSON, "This page"),
             _link(_url("ogc.collection", collectionId=collection_id), "collection",
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


for _collection_items in features.COLLECTIONS.values():
    bp.get(f"/collections/{_collection_items.id}/items", endpoint=f"items_{_collection_items.id}")(
        _items_of(_collection_items))


@bp.get("/collections/<collectionId>/items/<featureId>", parameters=[COLLECTION_ID, FEATURE_ID])
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, Feature, "The Feature", content_type=GEOJSON)
@bp.refuses(404, "No such collection or feature")
def item(collectionId: str, featureId: str, **_format):
    """One feature."""
    collection_id, feature_id = collectionId, featureId
    wanted = _collection(collection_id)
    config = current_app.config
    feature = read_store(lambda engine: features.item(engine, wanted, config, feature_id))
    if feature is None:
        raise NotFoundError(f"{collection_id} has no feature {feature_id}")
    links = [
        _link(_url("ogc.item", collectionId=collection_id, featureId=feature_id), "self",
              GEOJSON, "This feature"),
        _link(_url("ogc.collection", collectionId=collection_id), "collection",
              "application/json", "The collection"),
    ]
    return Response(orjson.dumps({**orjson.loads(feature), "links": links}), mimetype=GEOJSON)


@bp.errorhandler(PlatesvcError)
def _domain_error(error: PlatesvcError):
    code = {400: "InvalidParameterValue", 404: "NotFound"}.get(error.http_status, "InvalidRequest")
    return jsonify(code=code, description=error.message), error.http_status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Also the app's answer under /ogc where no route matched (web/__init__.py)."""
    return jsonify(code=error.name.replace(" ", ""), description=error.description), error.code, [
        (name, value) for name, value in error.get_headers() if name != "Content-Type"]


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
            _link(_url("ogc.collection", collectionId=collection.id), "self",
                  "application/json", "This collection"),
            _link(_url(f"ogc.items_{collection.id}"), "items", GEOJSON,
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
    path = _url(f"ogc.items_{collection_id}")
    # The client's own query, already escaped, less any offset or key.
    kept = [part for part in request.query_string.decode("ascii", "replace").split("&")
            if part and not part.startswith(("offset=", "after="))]

    def at(offset: int, after=None) -> str:
        query = "&".join(kept + ([f"offset={offset}"] if offset else [])
                         + ([f"after={quote(str(after), safe='')}"] if after is not None else []))
        return f"{path}?{query}" if query else path
    return at
