"""The web map's style (MapLibre style spec, version 8): this server's tile layers, drawn one way.

The same document draws `/map` and any other client's map (MapLibre, QGIS's vector-tile layer),
so the colours a resident learns on the page are the colours everywhere. The basemap comes from
the city's own data (divisions, buildings, roads, place names), so the map needs no other host.
Labels are in Chinese: MapLibre draws the characters with the device's CJK font
(`localIdeographFontFamily`) and the digits and Latin letters from the glyphs this server builds
(glyphs.py), whose URL is `glyphs`.
"""

from collections.abc import Callable

from platesvc.maps.glyphs import FONTSTACK
from platesvc.maps.tiles import COMPOSITE, LAYERS
from platesvc.store.models import DivisionLevel, ServiceCategory

# One colour a category, told apart by people with the common colour-vision deficiencies too.
CATEGORY_COLOURS = {
    ServiceCategory.ELDERLY_CARE: "#c2410c",
    ServiceCategory.DAY_CARE: "#7c3aed",
    ServiceCategory.MEAL_POINT: "#15803d",
    ServiceCategory.ASSISTANCE_STATION: "#be123c",
}
OTHER_SERVICE_COLOUR = "#374151"
FONT = [FONTSTACK]
# The layers that hold text, by what they name: a client (and the browser test) can ask for them.
LABEL_LAYERS = ("place-labels", "road-labels", "door-numbers", "service-labels")
SOURCE = "platesvc"
HALO = {"text-color": "#1f2937", "text-halo-color": "#ffffff", "text-halo-width": 1.5}


def _level(level: DivisionLevel) -> list:
    return ["==", ["get", "level"], level.value]


def map_style(tilejson_url: Callable[[str], str], name: str, glyphs_url: str) -> dict:
    """The style, where `tilejson_url(layer)` is the URL of a layer's TileJSON and `glyphs_url` the
    glyph ranges' URL template ({fontstack}, {range})."""
    category_colour = ["match", ["get", "category"]]
    for category, colour in CATEGORY_COLOURS.items():
        category_colour += [category.value, colour]
    category_colour.append(OTHER_SERVICE_COLOUR)
    zoom = ["zoom"]
    return {
        "version": 8,
        "name": name,
        "glyphs": glyphs_url,
        # One source, every layer in each of its tiles: a screen of the map is four requests, not 28.
        "sources": {SOURCE: {"type": "vector", "url": tilejson_url(COMPOSITE)}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            # The basemap: the city's divisions, its buildings, then the roads.
            {"id": "districts", "type": "fill", "source": SOURCE, "source-layer": "divisions",
             "filter": _level(DivisionLevel.DISTRICT),
             "paint": {"fill-color": "#ece7dc", "fill-outline-color": "#a8a29e"}},
            {"id": "buildings", "type": "fill", "source": SOURCE, "source-layer": "buildings",
             "minzoom": LAYERS["buildings"].min_zoom,
             "paint": {"fill-color": "#ddd6cb", "fill-outline-color": "#b8ae9f"}},
            {"id": "beats", "type": "fill", "source": SOURCE, "source-layer": "beats",
             "paint": {"fill-color": "#93c5fd", "fill-opacity": 0.08, "fill-outline-color": "#93c5fd"}},
            {"id": "division-lines", "type": "line", "source": SOURCE, "source-layer": "divisions",
             "filter": ["!=", ["get", "level"], DivisionLevel.DISTRICT.value],
             "paint": {"line-color": "#a8a29e", "line-dasharray": [3, 2],
                       "line-width": ["interpolate", ["linear"], zoom, 11, 0.5, 16, 1.5]}},
            {"id": "district-lines", "type": "line", "source": SOURCE, "source-layer": "divisions",
             "filter": _level(DivisionLevel.DISTRICT),
             "paint": {"line-color": "#78716c", "line-width": ["interpolate", ["linear"], zoom, 8, 1, 14, 2.5]}},
            {"id": "road-casings", "type": "line", "source": SOURCE, "source-layer": "roads",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": "#c4bcae",
                       "line-width": ["interpolate", ["exponential", 1.6], zoom, 10, 1.5, 14, 6, 18, 28]}},
            {"id": "roads", "type": "line", "source": SOURCE, "source-layer": "roads",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": "#ffffff",
                       "line-width": ["interpolate", ["exponential", 1.6], zoom, 10, 0.5, 14, 4, 18, 24]}},
            # What the service is about, over the basemap.
            {"id": "plates", "type": "circle", "source": SOURCE, "source-layer": "plates",
             "minzoom": LAYERS["plates"].min_zoom,
             "paint": {"circle-color": "#0b4ea2",
                       "circle-radius": ["interpolate", ["linear"], zoom, 13, 2, 18, 7],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}},
            {"id": "services", "type": "circle", "source": SOURCE, "source-layer": "services",
             "paint": {"circle-color": category_colour,
                       "circle-radius": ["interpolate", ["linear"], zoom, 10, 5, 15, 9],
                       "circle-stroke-color": "#ffffff", "circle-stroke-width": 2}},
            # Text last, so nothing is drawn over it.
            {"id": "door-numbers", "type": "symbol", "source": SOURCE, "source-layer": "buildings",
             "minzoom": 17, "filter": ["has", "number"],
             "layout": {"text-field": ["concat", ["get", "number"], "号"], "text-font": FONT, "text-size": 11,
                        "text-padding": 1},
             "paint": {**HALO, "text-color": "#57534e"}},
            {"id": "road-labels", "type": "symbol", "source": SOURCE, "source-layer": "roads", "minzoom": 13,
             "layout": {"symbol-placement": "line", "text-field": ["get", "name"], "text-font": FONT,
                        "text-size": ["interpolate", ["linear"], zoom, 13, 12, 18, 16],
                        "text-max-angle": 30, "symbol-spacing": 300},
             "paint": HALO},
            {"id": "service-labels", "type": "symbol", "source": SOURCE, "source-layer": "services",
             "minzoom": 15,
             "layout": {"text-field": ["get", "name"], "text-font": FONT, "text-size": 12,
                        "text-anchor": "top", "text-offset": [0, 1], "text-max-width": 8, "text-optional": True},
             "paint": {**HALO, "text-color": category_colour}},
            {"id": "place-labels", "type": "symbol", "source": SOURCE, "source-layer": "places",
             "filter": ["step", zoom,
                        _level(DivisionLevel.DISTRICT),
                        11, _level(DivisionLevel.SUBDISTRICT),
                        14, _level(DivisionLevel.COMMUNITY)],
             "layout": {"text-field": ["get", "name"], "text-font": FONT,
                        "text-size": ["match", ["get", "level"], DivisionLevel.DISTRICT.value, 16,
                                      DivisionLevel.SUBDISTRICT.value, 14, 13],
                        "text-max-width": 8},
             "paint": {**HALO, "text-color": "#44403c", "text-halo-width": 2}},
        ],
    }
