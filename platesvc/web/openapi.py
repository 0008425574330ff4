"""The OpenAPI 3 description of every public endpoint, and a page to browse it (no CDN)."""

from flask import Blueprint, jsonify, render_template

from platesvc import features
from platesvc.models import ServiceCategory
from platesvc.nearby import MAX_RADIUS_M
from platesvc.web.api import DEFAULT_NEARBY, MAX_NEARBY

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

_LONLAT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
           "description": "[longitude, latitude]"}
_LOCATION = {"type": "object", "required": ["wgs84", "gcj02", "bd09"],
             "properties": {"wgs84": _LONLAT, "gcj02": _LONLAT, "bd09": _LONLAT}}
_NAVIGATION = {"type": "object", "required": ["amap", "baidu", "tencent", "apple", "geo"],
               "description": "A link into each map app, carrying the datum it expects",
               "additionalProperties": {"type": "string"}}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_SERVICE = {
    "type": "object", "required": ["id", "name", "category", "distance_m", "location", "navigation"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                   "category": {"type": "string", "enum": [c.value for c in ServiceCategory]},
                   "distance_m": {"type": "number", "description": "Geodesic metres"},
                   "phone": _NULLABLE_TEXT, "hours": _NULLABLE_TEXT, "location": _LOCATION,
                   "navigation": _NAVIGATION},
}
_ERROR = {"type": "object", "required": ["error", "message"],
          "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                         "parameter": {"type": "string"},
                         "suggestions": {"type": "array", "items": {"type": "string"},
                                         "description": "Real plates one character away"},
                         "id": {"type": "string"}, "successor": _NULLABLE_TEXT}}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


_PLATE_ID = {"name": "plate_id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "Any spelling of a plate ID: 640104-0A3KX-D, 6401040a3kxd …",
             "example": "640104000040"}
_LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["zh", "en"]},
         "description": "Language; otherwise Accept-Language, then Chinese"}


_COLLECTION_ID = {"name": "collectionId", "in": "path", "required": True, "example": "services",
                  "schema": {"type": "string", "enum": list(features.COLLECTIONS)}}
_OGC_ERROR = {"description": "OGC-style error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/OgcError"}}}}


def _geojson(description: str) -> dict:
    return {"description": description, "content": {"application/geo+json": {"schema": {"type": "object"}}}}


def _ogc_paths() -> dict:
    filters = sorted({name for collection in features.COLLECTIONS.values() for name in collection.filterable})
    return {
        "/ogc": {"get": {"summary": "OGC API - Features landing page", "operationId": "ogcLanding",
                         "responses": {"200": _json("OgcLinks", "Links to the API definition, conformance, data")}}},
        "/ogc/conformance": {"get": {"summary": "The conformance classes met", "operationId": "ogcConformance",
                                     "responses": {"200": _json("OgcConformance", "Core, GeoJSON, OpenAPI 3.0")}}},
        "/ogc/collections": {"get": {"summary": "The feature collections", "operationId": "ogcCollections",
                                     "responses": {"200": _json("OgcLinks", "Each collection, its extent and links")}}},
        "/ogc/collections/{collectionId}": {"get": {
            "summary": "One feature collection", "operationId": "ogcCollection", "parameters": [_COLLECTION_ID],
            "responses": {"200": _json("OgcLinks", "The collection"), "404": _OGC_ERROR}}},
        "/ogc/collections/{collectionId}/items": {"get": {
            "summary": "The collection's features, a page at a time, by box and by property",
            "description": "Properties filter by equality: " + ", ".join(
                f"{c.id} by {', '.join(c.filterable)}" for c in features.COLLECTIONS.values()),
            "operationId": "ogcItems",
            "parameters": [
                _COLLECTION_ID,
                {"name": "bbox", "in": "query", "style": "form", "explode": False,
                 "description": "minLon,minLat,maxLon,maxLat (WGS84)",
                 "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
                {"name": "bbox-crs", "in": "query", "schema": {"type": "string", "enum": [
                    "http://www.opengis.net/def/crs/OGC/1.3/CRS84"]}},
                {"name": "limit", "in": "query", "description": f"Larger values are cut to {features.MAX_LIMIT}",
                 "schema": {"type": "integer", "minimum": 1, "maximum": features.MAX_LIMIT,
                            "default": features.DEFAULT_LIMIT}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                *({"name": name, "in": "query", "schema": {"type": "string"},
                   "description": "Only features whose property equals this"} for name in filters),
            ],
            "responses": {"200": _geojson("FeatureCollection with numberMatched, numberReturned, next/prev links"),
                          "400": _OGC_ERROR, "404": _OGC_ERROR}}},
        "/ogc/collections/{collectionId}/items/{featureId}": {"get": {
            "summary": "One feature", "operationId": "ogcItem",
            "parameters": [_COLLECTION_ID, {"name": "featureId", "in": "path", "required": True,
                                            "schema": {"type": "string"}}],
            "responses": {"200": _geojson("The Feature"), "404": _OGC_ERROR}}},
    }


_TILE_LAYER = {"name": "layer", "in": "path", "required": True, "example": "roads",
               "schema": {"type": "string", "enum": ["plates", "services", "beats", "roads"]}}


def _tile_paths() -> dict:
    def coordinate(name: str, example: int) -> dict:
        return {"name": name, "in": "path", "required": True, "example": example,
                "schema": {"type": "integer", "minimum": 0}}

    return {
        "/tiles/{layer}/{z}/{x}/{y}.mvt": {"get": {
            "summary": "A Mapbox Vector Tile (2.1) of plates, services, police beats or roads",
            "operationId": "vectorTile",
            "parameters": [_TILE_LAYER, coordinate("z", 8), coordinate("x", 203), coordinate("y", 98)],
            "responses": {"200": {"description": "The tile (Cache-Control max-age=60, ETag)",
                                  "content": {"application/vnd.mapbox-vector-tile": {
                                      "schema": {"type": "string", "format": "binary"}}}},
                          "204": {"description": "Nothing in this tile"},
                          "304": {"description": "Not modified"},
                          "404": _json("Error", "No such layer or tile, or outside the layer's zoom levels")}}},
        "/tiles/{layer}.json": {"get": {
            "summary": "TileJSON 3.0 for a tile layer", "operationId": "tileJson", "parameters": [_TILE_LAYER],
            "responses": {"200": {"description": "TileJSON", "content": {"application/json": {
                "schema": {"type": "object"}}}}, "404": _json("Error", "No such layer")}}},
    }


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "platesvc", "version": "1",
                 "description": "QR door plates: resolve a plate, find services nearby, read the city's "
                                "features through OGC API - Features."},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness and database reachability", "operationId": "healthz",
                                 "responses": {"200": _json("Health", "Up"),
                                               "503": _json("Health", "Database unreachable")}}},
            "/readyz": {"get": {"summary": "Readiness: database reachable and schema at the latest migration",
                                "operationId": "readyz",
                                "responses": {"200": _json("Health", "Ready"),
                                              "503": _json("Health", "Database unreachable or schema behind")}}},
            "/api/v1/plates/{plate_id}": {"get": {
                "summary": "Resolve a plate: address, navigation, culture, police, nearest services",
                "operationId": "resolvePlate", "parameters": [_PLATE_ID],
                "responses": {"200": _json("Plate", "The plate, with an ETag (If-None-Match gives 304)"),
                              "304": {"description": "Not modified"},
                              "404": _json("Error", "Not a plate ID, or none issued; with suggestions"),
                              "410": _json("Error", "Retired; with the plate its building went to")}}},
            "/api/v1/nearby": {"get": {
                "summary": "Service points near a place, nearest first", "operationId": "nearby",
                "parameters": [
                    {"name": "lon", "in": "query", "required": True, "example": 106.28,
                     "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                    {"name": "lat", "in": "query", "required": True, "example": 38.47,
                     "schema": {"type": "number", "minimum": -90, "maximum": 90}},
                    {"name": "category", "in": "query",
                     "schema": {"type": "string", "enum": [c.value for c in ServiceCategory]}},
                    {"name": "radius", "in": "query", "description": "Metres; without it, the nearest `limit`",
                     "schema": {"type": "number", "minimum": 0, "maximum": MAX_RADIUS_M}},
                    {"name": "limit", "in": "query", "description": f"Capped at {MAX_NEARBY}",
                     "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_NEARBY}},
                ],
                "responses": {"200": {"description": "GeoJSON FeatureCollection",
                                      "content": {"application/geo+json": {"schema": {
                                          "$ref": "#/components/schemas/NearbyCollection"}}}},
                              "400": _json("Error", "A parameter is missing, malformed or out of range")}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                             "responses": {"200": {"description": "OpenAPI 3"}}}},
            "/P/{plate_id}": {"get": {
                "summary": "The resident page a plate's QR code opens (also /p/)", "operationId": "platePage",
                "parameters": [_PLATE_ID, _LANG],
                "responses": {"200": _html("The page"), "304": {"description": "Not modified"},
                              "404": _html("Not found, offering a plate one character away"),
                              "410": _html("Retired")}}},
            "/P/{plate_id}/to/{service_id}": {"get": {
                "summary": "Links into each map app for one service point", "operationId": "routeToService",
                "parameters": [_PLATE_ID, _LANG, {"name": "service_id", "in": "path", "required": True,
                                                  "schema": {"type": "integer"}}],
                "responses": {"200": _html("The links"), "404": _html("No such service point")}}},
            **_ogc_paths(),
            **_tile_paths(),
        },
        "components": {"schemas": {
            "Health": {"type": "object", "properties": {"status": {"type": "string"},
                                                        "database": {"type": "string"}}},
            "Error": _ERROR,
            "OgcError": {"type": "object", "required": ["code", "description"],
                         "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
            "OgcLinks": {"type": "object", "properties": {"links": {"type": "array", "items": {"type": "object"}}}},
            "OgcConformance": {"type": "object", "required": ["conformsTo"], "properties": {
                "conformsTo": {"type": "array", "items": {"type": "string"}}}},
            "Service": _SERVICE,
            "Plate": {
                "type": "object",
                "required": ["id", "display_id", "status", "address", "location", "navigation", "culture",
                             "police", "nearest", "hotlines"],
                "properties": {
                    "id": {"type": "string"}, "display_id": {"type": "string"}, "url": {"type": "string"},
                    "status": {"type": "string"},
                    "address": {"type": "object", "required": ["full", "division_code", "district", "subdistrict",
                                                               "community", "road", "road_pinyin", "number"],
                                "additionalProperties": {"type": "string", "nullable": True}},
                    "location": _LOCATION, "navigation": _NAVIGATION,
                    "culture": {"type": "array", "items": {"type": "object", "properties": {
                        "title": {"type": "string"}, "body": {"type": "string"}}}},
                    "police": {"type": "object", "nullable": True, "properties": {
                        "beat": {"type": "string"}, "station": {"type": "string"}, "officer": _NULLABLE_TEXT,
                        "phone": _NULLABLE_TEXT, "officers": {"type": "array", "items": {"type": "object"}}}},
                    "nearest": {"type": "object", "description": "By category, nearest first",
                                "additionalProperties": {"type": "array",
                                                         "items": {"$ref": "#/components/schemas/Service"}}},
                    "hotlines": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "phone": {"type": "string"}}}},
                }},
            "NearbyCollection": {"type": "object", "required": ["type", "features", "numberReturned"],
                                 "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                                "features": {"type": "array", "items": {"type": "object"}},
                                                "numberReturned": {"type": "integer"},
                                                "limit": {"type": "integer"}}},
        }},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs():
    """The document as a plain page: every path, its parameters and answers."""
    return render_template("api_docs.html", api=document())
