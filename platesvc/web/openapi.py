"""The OpenAPI 3 description of every public endpoint, and a page to browse it (no CDN)."""

from flask import Blueprint, jsonify, render_template

from platesvc.maps import features
from platesvc.maps.nearby import MAX_RADIUS_M
from platesvc.registry.lifecycle import TRANSITIONS
from platesvc.staff.reports import MAX_DESCRIPTION
from platesvc.store.models import ReportKind, ReportStatus, ServiceCategory
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
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "Without bbox: start after the feature with this id (features then come in id "
                                "order); `next` links carry it, so deep pages read the index from there rather "
                                "than count to the offset"},
                *({"name": name, "in": "query", "schema": {"type": "string"},
                   "description": "Only features whose property equals this"} for name in filters),
            ],
            "responses": {"200": _geojson(f"FeatureCollection with numberReturned, next/prev links and "
                                          f"numberMatched (left out past the limit or {features.MATCH_COUNT_LIMIT} "
                                          "matches, whichever is more)"),
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


_TICKET = {"name": "ticket", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "A report's ticket, as the resident was given it", "example": "KX7M-2Q9D-4"}
_TOO_MANY = {"description": "Too many requests from this client; Retry-After says when to try again"}


def _report_paths() -> dict:
    return {
        "/P/{plate_id}/report": {
            "get": {"summary": "The resident's form to report a problem with the plate (also /p/)",
                    "operationId": "reportForm", "parameters": [_PLATE_ID, _LANG],
                    "responses": {"200": _html("The form"), "404": _html("No such plate"), "410": _html("Retired")}},
            "post": {"summary": "Report a damaged, missing or wrong plate or wrong information: no account, no "
                                "personal data; the answer redirects to the report's status page",
                     "operationId": "submitReport", "parameters": [_PLATE_ID, _LANG],
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["kind"],
                         "properties": {"kind": {"type": "string", "enum": [k.value for k in ReportKind]},
                                        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                                        "photo": {"type": "string", "format": "binary",
                                                  "description": "JPEG, PNG, WebP or GIF; kept without metadata"}}}}}},
                     "responses": {"303": {"description": "Received: see the status page (Location)"},
                                   "404": _html("No such plate"), "410": _html("Retired"),
                                   "413": _html("The photo is too large"),
                                   "422": _html("The form again, saying what to correct"), "429": _TOO_MANY}},
        },
        "/reports/{ticket}": {"get": {
            "summary": "What has become of a report (no personal data)", "operationId": "reportStatus",
            "parameters": [_TICKET, _LANG],
            "responses": {"200": _html("Its status and staff's answer"), "404": _html("No such report")}}},
        "/reports/": {"get": {
            "summary": "Look a report up by its ticket", "operationId": "reportLookUp",
            "parameters": [{"name": "ref", "in": "query", "schema": {"type": "string"}}, _LANG],
            "responses": {"200": _html("The look-up form"), "302": {"description": "To the report's status page"},
                          "404": _html("Not a ticket, with the form")}}},
    }


def _open311_error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Open311Errors"}}}}


def _open311_paths() -> dict:
    jurisdiction = {"name": "jurisdiction_id", "in": "query", "schema": {"type": "string"},
                    "description": "Optional; this endpoint serves one jurisdiction"}
    api_key = {"name": "api_key", "in": "query", "schema": {"type": "string"},
               "description": "A staff API token: with it, descriptions and photo links are included"}
    requests_answer = {"description": "Requests, newest first", "content": {"application/json": {"schema": {
        "type": "array", "items": {"$ref": "#/components/schemas/Open311Request"}}}}}
    return {
        "/open311/v2/services.json": {"get": {
            "summary": "Open311 GeoReport v2: the kinds of report taken", "operationId": "open311Services",
            "parameters": [jurisdiction],
            "responses": {"200": {"description": "Services", "content": {"application/json": {"schema": {
                "type": "array", "items": {"type": "object", "required": ["service_code", "service_name"]}}}}},
                "400": _open311_error("Unknown jurisdiction")}}},
        "/open311/v2/services/{service_code}.json": {"get": {
            "summary": "Open311: a service's definition (no extra attributes)", "operationId": "open311Service",
            "parameters": [{"name": "service_code", "in": "path", "required": True, "example": "plate_damaged",
                            "schema": {"type": "string"}}, jurisdiction],
            "responses": {"200": {"description": "The definition", "content": {"application/json": {"schema": {
                "type": "object"}}}}, "400": _open311_error("Unknown service or jurisdiction")}}},
        "/open311/v2/requests.json": {
            "get": {"summary": "Open311: reports by id, or by date, kind and status (the last 90 days by default)",
                    "operationId": "open311Requests",
                    "parameters": [jurisdiction, api_key,
                                   {"name": "service_request_id", "in": "query", "schema": {"type": "string"},
                                    "description": "Comma-separated tickets"},
                                   {"name": "service_code", "in": "query", "schema": {"type": "string"}},
                                   {"name": "start_date", "in": "query", "schema": {"type": "string"}},
                                   {"name": "end_date", "in": "query", "schema": {"type": "string"}},
                                   {"name": "status", "in": "query", "schema": {"type": "string"},
                                    "description": "open, closed or both"}],
                    "responses": {"200": requests_answer, "400": _open311_error("A malformed parameter"),
                                  "403": _open311_error("A wrong api_key")}},
            "post": {"summary": "Open311: submit a report (api_key required; personal fields are dropped)",
                     "operationId": "open311Submit",
                     "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "required": ["api_key", "service_code"],
                         "properties": {"api_key": {"type": "string"}, "jurisdiction_id": {"type": "string"},
                                        "service_code": {"type": "string",
                                                         "enum": [k.value for k in ReportKind]},
                                        "address_id": {"type": "string", "description": "A plate ID"},
                                        "lat": {"type": "number"}, "long": {"type": "number"},
                                        "address_string": {"type": "string"},
                                        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                                        "media_url": {"type": "string"}}}}}},
                     "responses": {"201": {"description": "Received", "content": {"application/json": {"schema": {
                         "type": "array", "items": {"type": "object", "required": ["service_request_id"]}}}}},
                         "400": _open311_error("A missing or malformed parameter"),
                         "403": _open311_error("No api_key, or a wrong one"), "429": _TOO_MANY}},
        },
        "/open311/v2/requests/{service_request_id}.json": {"get": {
            "summary": "Open311: one report", "operationId": "open311Request",
            "parameters": [{"name": "service_request_id", "in": "path", "required": True, "example": "KX7M-2Q9D-4",
                            "schema": {"type": "string"}}, jurisdiction, api_key],
            "responses": {"200": requests_answer, "400": _open311_error("Unknown jurisdiction"),
                          "403": _open311_error("A wrong api_key"), "404": _open311_error("No such report")}}},
    }


_BEARER = [{"bearerAuth": []}]
_STAFF_ERRORS = {"401": _json("Error", "No API token, or not a current one"),
                 "403": _json("Error", "The token's user has too low a role")}


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _staff_paths() -> dict:
    statuses = [status.value for status in TRANSITIONS]
    ticket = {**_TICKET, "example": "KX7M-2Q9D-4"}

    def operation(summary: str, operation_id: str, answers: dict, **more) -> dict:
        return {"summary": summary, "operationId": operation_id, "security": _BEARER,
                "responses": {**answers, **_STAFF_ERRORS}, **more}

    return {
        "/api/v1/staff/me": {"get": operation("The token's user and role", "staffMe",
                                              {"200": _json("StaffUser", "Who the token belongs to")})},
        "/api/v1/staff/plates/{plate_id}": {"get": operation(
            "A plate's record: status, address, whole history, prints, scans (viewer)", "staffPlate",
            {"200": _json("PlateRecord", "The record"), "404": _json("Error", "No such plate")},
            parameters=[_PLATE_ID])},
        "/api/v1/staff/plates/{plate_id}/status": {"post": operation(
            "Move a plate on in its life (operator)", "staffPlateStatus",
            {"200": _json("StatusChange", "Changed"), "400": _json("Error", "A malformed body"),
             "404": _json("Error", "No such plate"), "409": _json("Error", "Not a transition from its status"),
             "422": _json("Error", "No reason where one is required")},
            parameters=[_PLATE_ID], requestBody=_json_body({
                "type": "object", "required": ["status"],
                "properties": {"status": {"type": "string", "enum": statuses}, "reason": {"type": "string"},
                               "merged_into": {"type": "string",
                                               "description": "With retired: the plate it joined"}}}))},
        "/api/v1/staff/plates/status": {"post": operation(
            "Move many plates (say, a day's installations) at once (operator)", "staffPlatesStatus",
            {"200": _json("BulkChange", "What changed, and each plate refused with its reason"),
             "400": _json("Error", "A malformed body"), "422": _json("Error", "No reason where one is required")},
            requestBody=_json_body({"type": "object", "required": ["status", "plates"], "properties": {
                "status": {"type": "string", "enum": statuses}, "reason": {"type": "string"},
                "plates": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}))},
        "/api/v1/staff/reports": {"get": operation(
            "Residents' reports, the longest waiting first (viewer)", "staffReports",
            {"200": {"description": "Reports", "content": {"application/json": {"schema": {
                "type": "array", "items": {"$ref": "#/components/schemas/StaffReport"}}}}},
             "400": _json("Error", "A malformed parameter")},
            parameters=[{"name": "show", "in": "query", "schema": {"type": "string", "enum": [
                "open", "closed", "all"], "default": "open"}},
                {"name": "kind", "in": "query", "schema": {"type": "string", "enum": [k.value for k in ReportKind]}}])},
        "/api/v1/staff/reports/{ticket}": {"post": operation(
            "Assign, answer or close a report (operator)", "staffUpdateReport",
            {"200": _json("StaffReport", "The report now"), "400": _json("Error", "A malformed body"),
             "404": _json("Error", "No such report or user"), "422": _json("Error", "Closed without an answer")},
            parameters=[ticket], requestBody=_json_body({"type": "object", "properties": {
                "status": {"type": "string", "enum": [s.value for s in ReportStatus]},
                "assignee": {"type": "string", "nullable": True}, "public_notes": {"type": "string"},
                "reason": {"type": "string"}}}))},
        "/api/v1/staff/statistics": {"get": operation(
            "Plates and reports by status, scans per day, installed plates gone quiet (viewer)", "staffStatistics",
            {"200": _json("Statistics", "The figures")})},
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
            "/metrics": {"get": {
                "summary": "Prometheus metrics: requests and latency by route, scans, plates, reports, imports",
                "operationId": "metrics", "security": [*_BEARER, {}],
                "description": "Open to PLATESVC_METRICS_NETWORKS; elsewhere a staff API token is needed",
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}},
                              "401": _json("Error", "Neither from the metrics network nor with a token")}}},
            **_report_paths(),
            **_open311_paths(),
            **_ogc_paths(),
            **_tile_paths(),
            **_staff_paths(),
        },
        "components": {"securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "A staff API token (platesvc tokens create)"}},
            "schemas": {
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
            "Open311Errors": {"type": "array", "items": {"type": "object", "required": ["code", "description"],
                                                         "properties": {"code": {"type": "integer"},
                                                                        "description": {"type": "string"}}}},
            "Open311Request": {"type": "object", "required": ["service_request_id", "status", "service_code",
                                                              "requested_datetime"],
                               "properties": {"service_request_id": {"type": "string"},
                                              "status": {"type": "string", "enum": ["open", "closed"]},
                                              "service_code": {"type": "string"},
                                              "requested_datetime": {"type": "string"}}},
            "StaffUser": {"type": "object", "required": ["username", "role"],
                          "properties": {"username": {"type": "string"}, "role": {"type": "string"}}},
            "PlateRecord": {"type": "object", "required": ["id", "status", "history"],
                            "properties": {"id": {"type": "string"}, "status": {"type": "string"},
                                           "history": {"type": "array", "items": {"type": "object"}}}},
            "StatusChange": {"type": "object", "required": ["id", "previous", "status"]},
            "BulkChange": {"type": "object", "required": ["changed", "unchanged", "refused"]},
            "StaffReport": {"type": "object", "required": ["ticket", "kind", "status"]},
            "Statistics": {"type": "object", "required": ["plates", "reports", "scans_by_day"]},
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
