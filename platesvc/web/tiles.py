"""Vector tiles, a TileJSON document per layer and the map's style, for MapLibre, Leaflet and QGIS."""

import json

from flask import Response, jsonify, request, url_for
from marshmallow import Schema, fields

from platesvc.maps import features, tiles
from platesvc.maps.style import map_style
from platesvc.web import read_store, worker
from platesvc.web.caching import revalidated, tagged
from platesvc.web.openapi import Blueprint

bp = Blueprint("tiles", __name__, url_prefix="/tiles", description="Vector tiles and TileJSON")

MVT = "application/vnd.mapbox-vector-tile"
# A map pans over the same tiles again and again; a minute old is fresh enough, and the
# ETag makes the next look a 304.
TILE_CACHE = "public, max-age=60"


LAYER = {"in": "path", "name": "layer_name", "example": "roads",
         "schema": {"type": "string", "enum": list(tiles.LAYERS)}}


class TileJson(Schema):
    tilejson = fields.String(required=True)
    name = fields.String()
    description = fields.String()
    scheme = fields.String()
    tiles = fields.List(fields.String(), required=True)
    minzoom = fields.Integer()
    maxzoom = fields.Integer()
    bounds = fields.List(fields.Float())
    center = fields.List(fields.Float())
    vector_layers = fields.List(fields.Dict(), required=True)


@bp.get("/<layer_name>/<int:z>/<int:x>/<int:y>.mvt", parameters=[
    LAYER, *({"in": "path", "name": name, "example": example} for name, example in (("z", 8), ("x", 203), ("y", 98)))])
@bp.answers(200, {"type": "string", "format": "binary"}, "The tile (Cache-Control max-age=60, ETag)",
            content_type=MVT)
@bp.answers(204, description="Nothing in this tile")
@bp.answers(304, description="Not modified")
@bp.refuses(404, "No such layer or tile, or outside the layer's zoom levels")
def tile(layer_name: str, z: int, x: int, y: int):
    """A Mapbox Vector Tile (2.1) of plates, services, police beats or roads."""
    layer = tiles.layer_named(layer_name)
    cache = worker().tiles
    data = read_store(lambda engine: cache.tile(engine, layer, z, x, y))
    if not data:  # an empty tile: nothing to draw, and nothing to send (so no type either)
        empty = Response(status=204, headers={"Cache-Control": TILE_CACHE})
        del empty.headers["Content-Type"]
        return empty
    return revalidated(tagged(data), MVT, request, cache_control=TILE_CACHE)


@bp.get("/style.json")
@bp.answers(200, {"type": "object"}, "A MapLibre style (version 8) drawing every tile layer")
@bp.answers(304, description="Not modified")
def style():
    """The web map's style, for MapLibre and any client that reads the MapLibre style spec."""
    document = map_style(lambda layer: url_for("tiles.tilejson", layer_name=layer, _external=True),
                         "platesvc plates and services")
    return revalidated(tagged(json.dumps(document, ensure_ascii=False)), "application/json", request,
                       cache_control=TILE_CACHE)


@bp.get("/<layer_name>.json", parameters=[LAYER])
@bp.answers(200, TileJson, "TileJSON 3.0")
@bp.refuses(404, "No such layer")
def tilejson(layer_name: str):
    """TileJSON 3.0 for a tile layer."""
    layer = tiles.layer_named(layer_name)
    template = url_for("tiles.tile", layer_name=layer.name, z=0, x=0, y=0, _external=True)
    template = template.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    bounds = (read_store(lambda engine: features.extent(engine, layer.collection))
              or (-180.0, -85.0511, 180.0, 85.0511))
    return jsonify({
        "tilejson": "3.0.0",
        "name": layer.name,
        "description": layer.collection.description,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": layer.min_zoom,
        "maxzoom": layer.max_zoom,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(layer.min_zoom, 14)],
        "vector_layers": [{"id": layer.name, "fields": layer.fields(), "minzoom": layer.min_zoom,
                           "maxzoom": layer.max_zoom}],
    })
