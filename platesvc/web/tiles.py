"""Vector tiles, a TileJSON document per layer and the map's style, for MapLibre, Leaflet and QGIS."""

import json
import re
from pathlib import Path

from flask import Response, current_app, jsonify, request, url_for
from marshmallow import Schema, fields

from platesvc.errors import NotFoundError
from platesvc.maps import tiles
from platesvc.maps.glyphs import FONTSTACK
from platesvc.maps.style import map_style
from platesvc.web import read_store, worker
from platesvc.web.caching import revalidated, tagged
from platesvc.web.openapi import Blueprint

bp = Blueprint("tiles", __name__, url_prefix="/tiles", description="Vector tiles and TileJSON")

MVT = "application/vnd.mapbox-vector-tile"
# A map pans over the same tiles again and again; a minute old is fresh enough, and the
# ETag makes the next look a 304.
TILE_CACHE = "public, max-age=60"
# Glyphs change only with a new build of them; a day, and then the ETag.
GLYPH_CACHE = "public, max-age=86400"
GLYPHS_FOLDER = "glyphs"  # under static/, written by `make install` (python -m platesvc.maps.glyphs)


LAYER = {"in": "path", "name": "layer_name", "example": "roads",
         "schema": {"type": "string", "enum": [*tiles.LAYERS, tiles.COMPOSITE]}}


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
    """A Mapbox Vector Tile (2.1) of one layer (the basemap's divisions, places and buildings; plates, services,
    police beats, roads), or of all of them together (`map`)."""
    cache = worker().tiles
    if layer_name == tiles.COMPOSITE:
        data = read_store(lambda engine: tiles.composite_tile(cache, engine, z, x, y))
    else:
        layer = tiles.layer_named(layer_name)
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
    glyphs = url_for("tiles.glyphs", fontstack="FONTSTACK", glyph_range="0-255", _external=True)
    document = map_style(lambda layer: url_for("tiles.tilejson", layer_name=layer, _external=True),
                         "platesvc plates and services",
                         glyphs.replace("FONTSTACK", "{fontstack}").replace("0-255.pbf", "{range}.pbf"))
    return revalidated(tagged(json.dumps(document, ensure_ascii=False)), "application/json", request,
                       cache_control=TILE_CACHE)


@bp.get("/glyphs/<fontstack>/<glyph_range>.pbf", parameters=[
    {"in": "path", "name": "fontstack", "example": FONTSTACK},
    {"in": "path", "name": "glyph_range", "example": "0-255", "schema": {"type": "string", "pattern": r"^\d+-\d+$"}}])
@bp.answers(200, {"type": "string", "format": "binary"}, "Signed-distance-field glyphs (MapLibre's glyph PBF)",
            content_type="application/x-protobuf")
@bp.answers(304, description="Not modified")
@bp.refuses(404, "No such font or range: the map draws those characters with the device's font")
def glyphs(fontstack: str, glyph_range: str):
    """The style's glyphs: Latin letters, digits and punctuation (Chinese comes from the device's font)."""
    folder = Path(current_app.static_folder) / GLYPHS_FOLDER
    if re.fullmatch(r"\d{1,5}-\d{1,5}", glyph_range):
        for font in fontstack.split(","):  # the first font of the stack this server has
            path = folder / font.strip() / f"{glyph_range}.pbf"
            if font.strip() not in ("", ".", "..") and path.is_file():
                return revalidated(tagged(path.read_bytes()), "application/x-protobuf", request,
                                   cache_control=GLYPH_CACHE)
    raise NotFoundError("There are no glyphs %(range)s of %(fontstack)s here.", range=glyph_range,
                        fontstack=fontstack)


@bp.get("/<layer_name>.json", parameters=[LAYER])
@bp.answers(200, TileJson, "TileJSON 3.0")
@bp.refuses(404, "No such layer")
def tilejson(layer_name: str):
    """TileJSON 3.0 for a tile layer, or for all of them together (`map`)."""
    if layer_name == tiles.COMPOSITE:
        layers = list(tiles.LAYERS.values())
        name, description = tiles.COMPOSITE, "Every layer: the basemap, plates, services, police beats and roads"
        min_zoom, max_zoom = min(layer.min_zoom for layer in layers), tiles.COMPOSITE_MAX_ZOOM
    else:
        layers = [tiles.layer_named(layer_name)]
        name, description = layers[0].name, layers[0].collection.description
        min_zoom, max_zoom = layers[0].min_zoom, layers[0].max_zoom
    template = url_for("tiles.tile", layer_name=name, z=0, x=0, y=0, _external=True)
    template = template.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    extents = [box for box in (read_store(lambda engine, layer=layer: tiles.extent(engine, layer)) for layer in layers)
               if box]
    bounds = ((min(box[0] for box in extents), min(box[1] for box in extents), max(box[2] for box in extents),
               max(box[3] for box in extents)) if extents else (-180.0, -85.0511, 180.0, 85.0511))
    return jsonify({
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": min_zoom,
        "maxzoom": max_zoom,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(min_zoom, 14)],
        "vector_layers": [{"id": layer.name, "fields": layer.fields(), "minzoom": layer.min_zoom,
                           "maxzoom": layer.max_zoom} for layer in layers],
    })
