"""Vector tiles and a TileJSON document per layer, for MapLibre, Leaflet and QGIS."""

from flask import Blueprint, Response, jsonify, request, url_for

from platesvc.maps import features, tiles
from platesvc.web import read_store, worker
from platesvc.web.caching import revalidated, tagged

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

MVT = "application/vnd.mapbox-vector-tile"
# A map pans over the same tiles again and again; a minute old is fresh enough, and the
# ETag makes the next look a 304.
TILE_CACHE = "public, max-age=60"


@bp.get("/<layer_name>/<int:z>/<int:x>/<int:y>.mvt")
def tile(layer_name: str, z: int, x: int, y: int):
    layer = tiles.layer_named(layer_name)
    cache = worker().tiles
    data = read_store(lambda engine: cache.tile(engine, layer, z, x, y))
    if not data:  # an empty tile: nothing to draw, and nothing to send
        return Response(status=204, headers={"Cache-Control": TILE_CACHE})
    return revalidated(tagged(data), MVT, request, cache_control=TILE_CACHE)


@bp.get("/<layer_name>.json")
def tilejson(layer_name: str):
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
