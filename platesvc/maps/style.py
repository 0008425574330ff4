"""The web map's style (MapLibre style spec, version 8): this server's tile layers, drawn one way.

The same document draws `/map` and any other client's map (MapLibre, QGIS's vector-tile layer),
so the colours a resident learns on the page are the colours everywhere.
"""

from collections.abc import Callable

from platesvc.maps.tiles import LAYERS
from platesvc.store.models import ServiceCategory

# One colour a category, told apart by people with the common colour-vision deficiencies too.
CATEGORY_COLOURS = {
    ServiceCategory.ELDERLY_CARE: "#c2410c",
    ServiceCategory.DAY_CARE: "#7c3aed",
    ServiceCategory.MEAL_POINT: "#15803d",
    ServiceCategory.ASSISTANCE_STATION: "#be123c",
}
OTHER_SERVICE_COLOUR = "#374151"


def map_style(tilejson_url: Callable[[str], str], name: str) -> dict:
    """The style, where `tilejson_url(layer)` is the URL of a layer's TileJSON."""
    category_colour = ["match", ["get", "category"]]
    for category, colour in CATEGORY_COLOURS.items():
        category_colour += [category.value, colour]
    category_colour.append(OTHER_SERVICE_COLOUR)
    return {
        "version": 8,
        "name": name,
        "sources": {layer: {"type": "vector", "url": tilejson_url(layer)} for layer in LAYERS},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            {"id": "beats", "type": "fill", "source": "beats", "source-layer": "beats",
             "paint": {"fill-color": "#93c5fd", "fill-opacity": 0.15, "fill-outline-color": "#1d4ed8"}},
            {"id": "roads", "type": "line", "source": "roads", "source-layer": "roads",
             "paint": {"line-color": "#9ca3af",
                       "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 6]}},
            {"id": "plates", "type": "circle", "source": "plates", "source-layer": "plates",
             "minzoom": LAYERS["plates"].min_zoom,
             "paint": {"circle-color": "#0b4ea2",
                       "circle-radius": ["interpolate", ["linear"], ["zoom"], 13, 2, 18, 7],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}},
            {"id": "services", "type": "circle", "source": "services", "source-layer": "services",
             "paint": {"circle-color": category_colour, "circle-radius": 7,
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 2}},
        ],
    }
