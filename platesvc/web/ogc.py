"""OGC API - Features under /ogc, over features.py: Part 1 (Core, GeoJSON, OpenAPI 3.0), Part 2 (CRS),
Part 3 (CQL2 filters) and Part 4 (Create, Replace, Update, Delete) for the collections staff edit
(editing.py), with a staff token of the operator role and ETags against lost updates.

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

import numpy as np
import orjson
import shapely
from flask import Response, current_app, jsonify, request, url_for
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from webargs.fields import DelimitedList
from werkzeug.exceptions import HTTPException, PreconditionFailed, PreconditionRequired

from gis.crs import CRS84, OFFERED, OutputCrs
from platesvc.errors import AuthenticationError, BadParameterError, NotFoundError, PlatesvcError
from platesvc.maps import editing, features
from platesvc.maps import filters as cql
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import Role
from platesvc.web import openapi, read_store
from platesvc.web.caching import tagged
from platesvc.web.openapi import OPENAPI, Blueprint
from platesvc.web.parameters import Choice, Decimal, Text, Whole, moment, refusal
from platesvc.web.staff import actor, documented_requires, signed_in_user


class OgcError(Schema):
    code = fields.String(required=True)
    description = fields.String(required=True)


bp = Blueprint("ogc", __name__, url_prefix="/ogc", errors=OgcError,
               description="OGC API - Features: Core, GeoJSON, OpenAPI 3.0; Part 2, coordinate reference "
                           "systems; Part 3, CQL2 filters; Part 4, create, replace, update and delete (staff)")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA = "application/schema+json"
GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
WRITING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COLLECTION_ID = {"in": "path", "name": "collectionId", "example": "services",
                 "schema": {"type": "string", "enum": list(features.COLLECTIONS)}}
FEATURE_ID = {"in": "path", "name": "featureId", "example": 1}


class BBox(DelimitedList):
    """Four numbers (six with heights): the lower corner, then the upper, in `bbox-crs`'s axis order."""

    def __init__(self, **kwargs):
        super().__init__(Decimal(-math.inf, math.inf), validate=validate.Length(4, 6),
                         metadata={"description": "minLon,minLat,maxLon,maxLat in CRS84 (minLon above maxLon "
                                                  "crosses the antimeridian); in another bbox-crs, its axis order "
                                                  "(EPSG:4326 and 4490 latitude first, 4544 northing first)",
                                   "example": [106.2, 38.4, 106.3, 38.5]}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> features.BBox:
        try:
            numbers = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError(f"{value!r}: give four numbers, minLon,minLat,maxLon,maxLat in CRS84") from None
        if len(numbers) == 6:  # with heights, which plates and services do not have
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        if len(numbers) != 4:
            raise ValidationError(f"{value!r}: give four numbers, minLon,minLat,maxLon,maxLat in CRS84")
        return tuple(numbers)


def _number(value: float) -> str:
    return format(value, "g")


def _box_in_crs84(numbers: tuple[float, ...], given: OutputCrs) -> features.BBox:
    """A bbox as given in `given` (bbox-crs), as the CRS84 box the store is asked for.

    :raises BadParameterError: corners out of order or out of range.
    """
    if not given.geographic:
        if numbers[0] > numbers[2] or numbers[1] > numbers[3]:
            raise BadParameterError("bbox", "%(box)s: give the lower corner, then the upper one", box=str(numbers))
        box = given.bbox_to_wgs84(numbers)
        if not all(map(math.isfinite, box)):
            raise BadParameterError("bbox", "%(box)s lies outside where %(crs)s is defined", box=str(numbers),
                                    crs=given.uri)
        return box
    min_x, min_y, max_x, max_y = given.bbox_to_wgs84(numbers)
    if not (-90 <= min_y <= max_y <= 90 and -180 <= min_x <= 180 and -180 <= max_x <= 180):
        raise BadParameterError("bbox", "%(box)s: longitudes must lie in -180…180 and latitudes in -90…90, south "
                                        "before north", box=",".join(map(_number, numbers)))
    return min_x, min_y, max_x, max_y  # west above east: across the antimeridian, as OGC allows


# Part 1's OpenAPI fragments of limit and datetime (OGC's test suite checks them): a form, not exploded.
AS_PART_1_WRITES_IT = {"style": "form", "explode": False}
SORTBY = "Queryables to order by, each +name (ascending, the default) or -name (descending); then by id"
CRS_CHOICE = {"description": "Any of the collection's crs (an OGC URI); CRS84 unless given",
              "example": CRS84}


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


class FeatureQuery(FormatQuery):
    crs = Choice(list(OFFERED), metadata={**CRS_CHOICE, "description": "The CRS of the geometry answered (Part 2; "
                                                                       "the Content-Crs header says it)"})
    properties = DelimitedList(Text(), metadata={"description": "Only these properties (comma-separated)",
                                                 "example": []})


class ItemsQuery(FeatureQuery):
    bbox = BBox()
    bbox_crs = Choice(list(OFFERED), data_key="bbox-crs", metadata={**CRS_CHOICE, "description": "The CRS of bbox"})
    filter = Text(metadata={"description": "A CQL2 condition on the collection's queryables (Part 3): comparisons, "
                                           "LIKE, BETWEEN, IN, IS NULL, AND, OR, NOT, S_INTERSECTS, S_WITHIN and the "
                                           "other S_ predicates with a WKT, GeoJSON or BBOX literal in CRS84",
                            "example": "S_INTERSECTS(geometry, BBOX(106.2, 38.4, 106.3, 38.5))"})
    filter_lang = Choice(list(cql.LANGUAGES), data_key="filter-lang",
                         metadata={"description": "cql2-text (the default) or cql2-json"})
    filter_crs = Choice([CRS84], data_key="filter-crs", metadata={"description": "The CRS of the filter's geometry"})
    sortby = DelimitedList(Text(), metadata={"description": SORTBY})
    limit = Whole(1, cut=features.MAX_LIMIT, load_default=features.DEFAULT_LIMIT, metadata=AS_PART_1_WRITES_IT)
    offset = Whole(0, load_default=0)
    datetime = Interval(metadata={"description": "An instant or an interval (open ends with ..); these collections "
                                                 "have no time, so every feature matches (as Part 1 says)",
                                  "example": "2026-01-01T00:00:00Z/..", **AS_PART_1_WRITES_IT})
    after = Text(metadata={"description": "Without bbox: start after the feature with this id (features then come "
                                          "in id order); `next` links carry it, so deep pages read the index from "
                                          "there rather than count to the offset"})


def items_query(collection: features.Collection) -> ItemsQuery:
    """The parameters of a collection's items: the common ones and a filter for each property it is filtered by."""
    filters = {name: Text(metadata={"description": f"Only features whose {name} equals this"})
               for name in collection.filterable}
    error_messages = {"unknown": f"is not a parameter of {collection.id} items; filter by one of "
                                 f"{', '.join(collection.filterable)}"}
    first = collection.filterable[0]  # this collection's own examples
    own = {"sortby": DelimitedList(Text(), metadata={"description": SORTBY, "example": [f"-{first}"]}),
           "properties": DelimitedList(Text(), metadata={"description": "Only these properties (comma-separated)",
                                                         "example": [first]})}
    return type(f"{collection.id.title()}ItemsQuery", (ItemsQuery,),
                {**filters, **own, "error_messages": error_messages})()


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
    storageCrs = fields.String()
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
    limit, offset, output = query["limit"], query["offset"], OFFERED[query.get("crs", CRS84)]
    bbox = _box_in_crs84(query["bbox"], OFFERED[query.get("bbox_crs", CRS84)]) if "bbox" in query else None
    after = None
    if "after" in query:
        after = wanted.parse_key(query["after"])
        if after is None:
            raise BadParameterError("after", "%(after)s is not the id of a feature of %(collection)s",
                                    after=repr(query["after"]), collection=collection_id)
    filters = {name: query[name] for name in wanted.filterable if name in query}
    condition = cql.parse(query["filter"], query.get("filter_lang", "cql2-text")) if "filter" in query else None
    config = current_app.config
    sortby = _sortby(wanted, query.get("sortby", ()))
    selected = _selected(wanted, query.get("properties"))
    page = read_store(lambda engine: features.items(engine, wanted, config, bbox, filters, limit, offset, after,
                                                    output, condition, sortby, selected))
    items_url = _items_url(collection_id)
    links = [_link(items_url(offset, after), "self", GEOJSON, "This page"),
             _link(_url("ogc.collection", collectionId=collection_id), "collection",
                   "application/json", "The collection")]
    if page.more:
        links.append(_link(items_url(offset + limit, None if bbox or sortby else page.last_key), "next", GEOJSON,
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
    return Response(orjson.dumps(head), mimetype=GEOJSON, headers={"Content-Crs": f"<{output.uri}>"})


for _collection_items in features.COLLECTIONS.values():
    bp.get(f"/collections/{_collection_items.id}/items", endpoint=f"items_{_collection_items.id}")(
        _items_of(_collection_items))


@bp.get("/collections/<collectionId>/queryables", parameters=[COLLECTION_ID])
@bp.arguments(FormatQuery, location="query", as_kwargs=True)
@bp.answers(200, {"type": "object"}, "What a filter may name, as JSON Schema", content_type=SCHEMA)
@bp.refuses(404, "No such collection")
def queryables(collectionId: str, **_format):
    """The properties a filter may name, and the geometry (Part 3)."""
    wanted = _collection(collectionId)
    geometry = {"title": "The feature's geometry", "format": f"geometry-{wanted.geometry_type.lower()}",
                "x-ogc-role": "primary-geometry"}
    properties = {cql.GEOMETRY: geometry}
    properties.update({name: {"title": name, "type": kind} for name, kind in cql.queryables(
        wanted.properties_for(current_app.config)).items()})
    return Response(orjson.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url("ogc.queryables", collectionId=wanted.id), "type": "object", "title": wanted.title,
        "properties": properties, "additionalProperties": False}), mimetype=SCHEMA)


@bp.get("/collections/<collectionId>/items/<featureId>", parameters=[COLLECTION_ID, FEATURE_ID])
@bp.arguments(FeatureQuery, location="query", as_kwargs=True)
@bp.answers(200, Feature, "The Feature", content_type=GEOJSON)
@bp.refuses(404, "No such collection or feature")
def item(collectionId: str, featureId: str, crs: str = CRS84, properties: list[str] | None = None, **_format):
    """One feature."""
    collection_id, feature_id, output = collectionId, featureId, OFFERED[crs]
    wanted = _collection(collection_id)
    config = current_app.config
    selected = _selected(wanted, properties)
    if output.stored and selected is None:  # the representation a write's If-Match is compared with
        feature = read_store(lambda engine: features.item(engine, wanted, config, feature_id))
        tag = tagged(feature).etag if feature is not None else None
    else:  # its tag is the state's, so a client that reads in its own CRS may write back what it read
        feature, state = read_store(lambda engine: (
            features.item(engine, wanted, config, feature_id, output, selected),
            features.item(engine, wanted, config, feature_id)))
        tag = tagged(state).etag if state is not None else None
    if feature is None:
        raise NotFoundError("%(collection)s has no feature %(feature)s", collection=collection_id, feature=feature_id)
    response = _feature_response(wanted, feature_id, feature, output)
    response.set_etag(tag)
    return response.make_conditional(request)


def _feature_response(collection: features.Collection, feature_id, feature: str, output: OutputCrs,
                      status: int = 200) -> Response:
    links = [
        _link(_url("ogc.item", collectionId=collection.id, featureId=feature_id), "self", GEOJSON, "This feature"),
        _link(_url("ogc.collection", collectionId=collection.id), "collection", "application/json",
              "The collection"),
    ]
    return Response(orjson.dumps({**orjson.loads(feature), "links": links}), status, mimetype=GEOJSON,
                    headers={"Content-Crs": f"<{output.uri}>"})


# Part 4: Create, Replace, Update, Delete, for the collections staff edit (editing.py).

class Geometry(fields.Field):
    """A GeoJSON geometry of one of `types`, as shapely, in the coordinates sent (Content-Crs's, CRS84 unless
    it says otherwise)."""

    DEPTH = {"Point": 0, "LineString": 1, "Polygon": 2, "MultiPolygon": 3}  # how deep positions are nested

    def __init__(self, types: tuple[str, ...], **kwargs):
        self.types = types
        super().__init__(metadata={
            "type": "object", "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": list(types)},
                           "coordinates": {"type": "array", "items": {}}},
            "description": f"A GeoJSON {' or '.join(types)}: longitude, latitude in CRS84, or the Content-Crs "
                           "header's CRS in its axis order"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> shapely.Geometry:
        kinds = " or ".join(self.types)
        if not isinstance(value, dict) or value.get("type") not in self.types:
            raise ValidationError(f"give a GeoJSON {kinds}: an object with its type and coordinates")
        if not _nested_positions(value.get("coordinates"), self.DEPTH[value["type"]]):
            raise ValidationError(f"the coordinates of a {value['type']} are "
                                  + ("[x, y]" if value["type"] == "Point" else
                                     f"{'lists of ' * self.DEPTH[value['type']]}[x, y] positions") + " of numbers")
        geometry = shapely.geometry.shape(value)
        if geometry.is_empty or not geometry.is_valid:
            raise ValidationError(f"not a valid {value['type']}: {shapely.is_valid_reason(geometry)}")
        return geometry


def _nested_positions(coordinates, depth: int) -> bool:
    """Whether `coordinates` are positions (two or three finite numbers) nested `depth` lists deep."""
    if not isinstance(coordinates, list):
        return False
    if depth == 0:
        return 2 <= len(coordinates) <= 3 and all(
            isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in coordinates)
    return bool(coordinates) and all(_nested_positions(part, depth - 1) for part in coordinates)


class FeatureBody(Schema):
    """A GeoJSON Feature; its foreign members (links, bbox…) are no content of the feature and are left out."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "send a GeoJSON Feature object"}


class PropertiesBody(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "is not a property of this collection", "type": "send the properties as an object"}


def _property(editable: editing.Editable, name: str, required: bool) -> fields.Field:
    nullable = name in editable.optional
    if name == "category":
        return Choice(editing.CATEGORIES, required=required, allow_none=nullable)
    return Text(required=required, allow_none=nullable, validate=validate.Length(min=1),
                metadata={"description": "Stays as the feature was created"} if name == "source_id" else {})


def _body(editable: editing.Editable, kind: str) -> Schema:
    """The body of a create ("New": every required property), a replace ("": source_id may be left out, it stays)
    or an update ("Patch": RFC 7396, any member, null removes one)."""
    names = (*editable.required, *editable.optional)
    patch = kind == "Patch"
    title = editable.collection.id.title().replace("-", "")
    properties = type(f"{title}{kind}Properties", (PropertiesBody,), {
        name: (Choice(editing.CATEGORIES, allow_none=True) if name == "category" else Text(allow_none=True))
        if patch else _property(editable, name, name in editable.required and (kind == "New" or name != "source_id"))
        for name in names})
    geometry = (fields.Dict(metadata=Geometry(editable.geometry_types).metadata) if patch else
                Geometry(editable.geometry_types, required=True))
    return type(f"{title}{kind}Feature", (FeatureBody,), {
        "type": Choice(["Feature"], required=not patch),
        "id": fields.Raw(metadata={"description": "Ignored: the server gives ids, and a PUT's is in its path"}),
        "geometry": geometry, "properties": fields.Nested(properties, required=not patch)})()


class Removal(Schema):
    reason = Text(validate=validate.Length(max=500), metadata={"description": "Why, for the audit trail"})


IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": "The ETag of the feature as last read (GET it first): a change made since is refused "
                           "(412), not overwritten"}
CONTENT_CRS = {"in": "header", "name": "Content-Crs", "required": False,
               "schema": {"type": "string", "enum": [f"<{uri}>" for uri in OFFERED]},
               "description": "The CRS of the body's geometry (Part 2), its axes in its order; CRS84 unless given"}
FEATURE_KEY = {**FEATURE_ID, "schema": {"type": "string"}}
ETAG_HEADER = {"ETag": {"description": "The feature's state as now stored: If-Match of the next change",
                        "schema": {"type": "string"}}}


def _write_views(editable: editing.Editable) -> None:
    """Each editable collection's own POST on its items and PUT, PATCH and DELETE on each item, so that the
    document gives each its own body."""
    collection = editable.collection
    items_path, item_path = f"/collections/{collection.id}/items", f"/collections/{collection.id}/items/<featureId>"
    new, whole, patch = _body(editable, "New"), _body(editable, ""), _body(editable, "Patch")
    guard = documented_requires(bp, Role.OPERATOR)

    def precondition_refusals(view):
        for status, why in ((404, "No such feature"), (412, "The feature has changed since the If-Match tag was read"),
                            (428, "No If-Match: send the ETag of the feature as read"),
                            (422, "The change cannot be stored (outside the city, a source_id taken…)")):
            view = bp.refuses(status, why)(view)
        return view

    @bp.post(items_path, endpoint=f"create_{collection.id}")
    @guard
    @bp.doc(parameters=[CONTENT_CRS])
    @bp.arguments(new, location="json", content_type=GEOJSON)
    @bp.answers(201, Feature, "Created: Location is its URL", content_type=GEOJSON,
                headers={"Location": {"description": "The new feature's URL", "schema": {"type": "string"}},
                         **ETAG_HEADER})
    @bp.refuses(422, "The feature cannot be stored (outside the city, a source_id taken…)")
    def create(body: dict):
        record = editing.add(db.session, actor(), editable, _read_feature(body))
        db.session.commit()
        response = _written(collection, record.id, 201)
        response.headers["Location"] = _url("ogc.item", collectionId=collection.id, featureId=record.id)
        return response
    create.__doc__ = f"Add a feature to {collection.id} (staff with the operator role)."

    @bp.put(item_path, endpoint=f"replace_{collection.id}", parameters=[FEATURE_KEY, IF_MATCH])
    @guard
    @bp.doc(parameters=[CONTENT_CRS])
    @bp.arguments(whole, location="json", content_type=GEOJSON)
    @bp.answers(200, Feature, "Replaced", content_type=GEOJSON, headers=ETAG_HEADER)
    @precondition_refusals
    def replace(body: dict, featureId: str):
        record = _unchanged(editable, featureId)
        editing.replace(db.session, actor(), editable, record, _read_feature(body))
        db.session.commit()
        return _written(collection, record.id)
    replace.__doc__ = f"Replace a feature of {collection.id} (staff with the operator role)."

    @bp.patch(item_path, endpoint=f"update_{collection.id}", parameters=[FEATURE_KEY, IF_MATCH])
    @guard
    @bp.doc(parameters=[CONTENT_CRS])
    @bp.arguments(patch, location="json", content_type=MERGE_PATCH)
    @bp.answers(200, Feature, "Updated", content_type=GEOJSON, headers=ETAG_HEADER)
    @precondition_refusals
    def update(changes: dict, featureId: str):
        record = _unchanged(editable, featureId)
        current = orjson.loads(features.item_in(db.session, collection, current_app.config, record.id))
        try:
            body = whole.load(editing.merged(current, changes))
        except ValidationError as error:
            raise refusal({"json": error.messages}) from None
        editing.replace(db.session, actor(), editable, record,
                        _read_feature(body) if "geometry" in changes else editing.Feature(body["geometry"],
                                                                                          body["properties"]))
        db.session.commit()
        return _written(collection, record.id)
    update.__doc__ = (f"Change some members of a feature of {collection.id} (RFC 7396 JSON Merge Patch; null "
                      "removes a property; staff with the operator role).")

    @bp.delete(item_path, endpoint=f"delete_{collection.id}", parameters=[FEATURE_KEY, IF_MATCH])
    @guard
    @bp.arguments(Removal, location="query", as_kwargs=True)
    @bp.answers(204, None, "Deleted")
    @precondition_refusals
    def delete(featureId: str, reason: str | None = None):
        record = _unchanged(editable, featureId)
        editing.remove(db.session, actor(), editable, record, reason)
        db.session.commit()
        return Response(status=204)
    delete.__doc__ = f"Delete a feature of {collection.id} (staff with the operator role)."


def _read_feature(body: dict) -> editing.Feature:
    """The body's feature, its geometry in CRS84 (from the Content-Crs header's CRS, Part 2)."""
    given = request.headers.get("Content-Crs", f"<{CRS84}>").strip()
    crs = OFFERED.get(given.removeprefix("<").removesuffix(">"))
    if crs is None:
        raise BadParameterError("Content-Crs", "%(given)s: give one of the collection's crs as <URI>: %(offered)s",
                                given=given, offered=", ".join(f"<{uri}>" for uri in OFFERED))
    geometry = crs.to_wgs84(np.array([body["geometry"]], dtype=object))[0]
    x, y = shapely.get_coordinates(geometry).T
    if not (np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90)):
        raise BadParameterError("geometry", "lies beyond longitude ±180 or latitude ±90 in %(crs)s: are the axes in "
                                            "its order?", crs=crs.uri)
    return editing.Feature(geometry, body["properties"])


def _unchanged(editable: editing.Editable, feature_id: str):
    """The feature's record, locked, if the request's If-Match names its state as now stored.

    :raises PreconditionRequired: no If-Match (a change could silently undo one made since the client read).
    :raises PreconditionFailed: it names another state (or there is no such feature, and it names one).
    """
    collection = editable.collection
    key = collection.parse_key(feature_id)
    record = editing.locked(db.session, editable, key) if key is not None else None
    if record is None:
        if request.if_match:
            raise PreconditionFailed(f"{collection.id} has no feature {feature_id}: If-Match cannot hold")
        raise NotFoundError("%(collection)s has no feature %(feature)s", collection=collection.id, feature=feature_id)
    if not request.if_match:
        raise PreconditionRequired(f"send If-Match with the ETag of {collection.id} {feature_id} as you read it "
                                   "(GET it first), so that a change made since is not overwritten")
    current = tagged(features.item_in(db.session, collection, current_app.config, key)).etag
    # Flask-Compress tags a gzipped answer "<tag>:gzip": the same state.
    if not (request.if_match.star_tag or any(tag.partition(":")[0] == current
                                             for tag in request.if_match.as_set())):
        raise PreconditionFailed(f"{collection.id} {feature_id} has changed since that ETag was read (it is "
                                 f'"{current}" now): GET it again, then send the change')
    return record


def _written(collection: features.Collection, key, status: int = 200) -> Response:
    """The feature as now stored (CRS84), with its new ETag."""
    feature = features.item_in(db.session, collection, current_app.config, key)
    db.session.rollback()  # the read's own transaction
    response = _feature_response(collection, key, feature, OFFERED[CRS84], status)
    response.set_etag(tagged(feature).etag)
    return response


for _editable in editing.EDITABLE.values():
    _write_views(_editable)


@bp.after_request
def _methods_for_caller(response: Response) -> Response:
    """OPTIONS lists the methods this caller may use here (Part 4): the writes for staff of the operator role."""
    if request.method == "OPTIONS" and "Allow" in response.headers and not _may_write():
        response.headers["Allow"] = ", ".join(method for method in response.allow if method not in WRITING)
    return response


def _may_write() -> bool:
    try:
        user = signed_in_user()
    except AuthenticationError:
        return False
    return user is not None and accounts.may(user.role, Role.OPERATOR)


@bp.errorhandler(PlatesvcError)
def _domain_error(error: PlatesvcError):
    code = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(
        error.http_status, "InvalidRequest")
    headers = {"WWW-Authenticate": 'Bearer realm="platesvc staff"'} if error.http_status == 401 else {}
    return jsonify(code=code, description=error.message), error.http_status, headers


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Also the app's answer under /ogc where no route matched (web/__init__.py)."""
    return jsonify(code=error.name.replace(" ", ""), description=error.description), error.code, [
        (name, value) for name, value in error.get_headers() if name != "Content-Type"]


def _sortby(collection: features.Collection, asked: list[str]) -> tuple[tuple[str, bool], ...]:
    """sortby's items as (property, descending); each must be a queryable (a `+` unescaped arrives as a space)."""
    if not asked:
        return ()
    orderable = cql.queryables(collection.properties_for(current_app.config))
    sorted_by = []
    for item in asked:
        name = item.strip().removeprefix("+").removeprefix("-") if item.strip() else ""
        if name not in orderable:
            raise BadParameterError("sortby", "%(item)s: order by one of %(orderable)s, each with + or - before it",
                                    item=repr(item.strip()), orderable=list(orderable))
        sorted_by.append((name, item.strip().startswith("-")))
    return tuple(sorted_by)


def _selected(collection: features.Collection, asked: list[str] | None) -> tuple[str, ...] | None:
    """The properties asked for, None for all; each must be one of the collection's."""
    if asked is None:
        return None
    names = tuple(name.strip() for name in asked if name.strip())
    known = collection.properties_for(current_app.config)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BadParameterError("properties", "%(name)s is not a property of %(collection)s: choose from %(known)s",
                                name=repr(unknown[0]), collection=collection.id, known=list(known))
    return names


def _collection(collection_id: str) -> features.Collection:
    found = features.COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFoundError("There is no collection %(collection)s; there are %(collections)s.",
                            collection=repr(collection_id), collections=list(features.COLLECTIONS))
    return found


def _describe(collection: features.Collection, engine) -> dict:
    bounds = features.extent(engine, collection)
    description = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": list(OFFERED),
        "storageCrs": CRS84,
        "links": [
            _link(_url("ogc.collection", collectionId=collection.id), "self",
                  "application/json", "This collection"),
            _link(_url(f"ogc.items_{collection.id}"), "items", GEOJSON,
                  f"Its features ({collection.geometry_type}); filter by {', '.join(collection.filterable)}"),
            _link(_url("ogc.queryables", collectionId=collection.id), QUERYABLES_REL, SCHEMA,
                  "What a CQL2 filter may name"),
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
