"""The resident page a plate's QR code opens (server-rendered, no scripts, Chinese first), and the map."""

import statistics

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from gis.navigation import location, walking_urls
from platesvc import labels
from platesvc.errors import PlatesvcError, RetiredPlateError, UnknownPlateError
from platesvc.maps import features
from platesvc.maps.style import CATEGORY_COLOURS
from platesvc.messages import Message
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.scan.walking import RoadNames, route_picture, route_with_streets
from platesvc.search.engine import MAX_QUERY, feature_collection, reverse_plates, search_plates
from platesvc.store.models import ServiceCategory
from platesvc.web import read_store, reference_snapshot, rendered, resolve, worker
from platesvc.web.caching import Tagged, revalidated, tagged
from platesvc.web.i18n import LANGUAGES, choose_language
from platesvc.web.openapi import HTML, PLATE_ID, Blueprint
from platesvc.web.parameters import Decimal, Form, Text

bp = Blueprint("pages", __name__, errors=HTML, errors_type="text/html",
               description="The pages residents open from a plate's QR code")
# Read by choose_language on every page (a language it does not have falls back, as Accept-Language does).
LANG = {"in": "query", "name": "lang", "schema": {"type": "string", "enum": list(LANGUAGES)},
        "description": "Language; otherwise Accept-Language, then Chinese"}
CARE = {"in": "query", "name": "care", "schema": {"type": "string", "enum": ["0", "1"]},
        "description": "Care mode (长辈版: larger text and taps, fewer items) on or off, remembered in a cookie"}
CARE_COOKIE = "care"
CARE_COOKIE_DAYS = 365


def resident_page(*answers):
    """Document a resident page: its `lang` and the pages it answers with, [(status, description)]."""
    def decorate(view):
        for status, description in answers:
            view = bp.page(status, description)(view)
        return bp.doc(parameters=[LANG, CARE])(view)
    return decorate


class LookUp(Form):
    typed = Text(data_key="id", load_default="", metadata={"description": "A plate ID as typed"})


class Find(Form):
    typed = Text(data_key="q", max_length=MAX_QUERY, load_default="",
                 metadata={"description": "An address in characters, Pinyin or initials, or a plate ID"})
    lon = Decimal(-180, 180, metadata={"description": "Where the phone is (with lat): the plates nearest it"})
    lat = Decimal(-90, 90)


FOUND_ON_PAGE = 10
NEAR_ME_METRES = 300


def render_page(template: str, status: int = 200, **context):
    """A resident page in the language and mode the request asks for, with its validator."""
    return _page(tagged(_html(template, care_mode(), **context)), status)


def care_mode() -> bool:
    """Whether the page is asked for in care mode: ?care=1 or 0, else as the cookie remembers."""
    asked = _care_asked()
    return (asked or request.cookies.get(CARE_COOKIE)) == "1"


def _care_asked() -> str | None:
    """The care mode this request switches to ("1" on, "0" off), if it switches."""
    asked = request.args.get("care")
    return asked if asked in ("0", "1") else None


def _html(template: str, care: bool, **context) -> str:
    return render_template(template, care=care, hotlines=current_app.config["HOTLINES"], display=_display, **context)


def _page(body: Tagged, status: int = 200):
    response = revalidated(body, "text/html", request, status, vary="Accept-Language, Cookie")
    asked = _care_asked()
    if asked:  # remembered, so every later page and scan keeps the mode
        response.set_cookie(CARE_COOKIE, asked, max_age=CARE_COOKIE_DAYS * 86400, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


def _display(canonical: str) -> str:
    return parse_plate_id(canonical).display


@bp.get("/p/<plate_text>")
@bp.get("/P/<plate_text>", parameters=[PLATE_ID])
@resident_page((200, "The page"), (404, "Not found, offering plates one character away"), (410, "Retired"))
@bp.answers(304, description="Not modified")
def plate(plate_text: str):
    """The resident page a plate's QR code opens (also /p/)."""
    resolution = resolve(plate_text)
    plate_id = resolution.plate_id.canonical
    worker().scans.record(plate_id)
    lang, care = choose_language(request), care_mode()

    def render() -> str:
        # One url_for for all the service links: it costs more than the rest of a link.
        to_service = url_for("pages.route_to_service", plate_text=plate_id, service_id=0)[:-1]
        return _html("plate.html", care, plate=resolution.document, to_service=to_service,
                     report_link=url_for("reports.report_form", plate_text=plate_id),
                     report_status_link=url_for("reports.look_up", plate=plate_id, lang=lang),
                     help_link=url_for("pages.help_now", plate_text=plate_id),
                     assistance_route=url_for("pages.route_to_assistance", plate_text=plate_id))

    return _page(rendered(resolution, "html", lang, "care" if care else "", render=render))


@bp.get("/p/<plate_text>/help")
@bp.get("/P/<plate_text>/help", parameters=[PLATE_ID])
@resident_page((200, "The page"), (404, "Not found"), (410, "Retired"))
def help_now(plate_text: str):
    """Help now (紧急求助): 110, 120 and the community officer to call, with the address to tell them (also /p/)."""
    document = resolve(plate_text).document
    return render_page("help.html", plate=document, plate_link=url_for("pages.plate", plate_text=document["id"]))


@bp.get("/p/<plate_text>/to/<int:service_id>")
@bp.get("/P/<plate_text>/to/<int:service_id>", parameters=[PLATE_ID])
@resident_page((200, "The route"), (404, "No such plate or service point"), (410, "Retired"))
def route_to_service(plate_text: str, service_id: int):
    """The walking route from the plate's door to one service point, drawn, with its turns in words and
    directions in each map app (also /p/)."""
    service = reference_snapshot().services.get(service_id)
    if service is None:
        abort(404)
    plate = resolve(plate_text).document
    entry = service.shown.entry
    listed = [shown for shown in plate["nearest"].get(entry["category"], []) if shown["id"] == service_id]
    return _route_page(plate, entry, labels.CATEGORIES[entry["category"]], listed[0]["walk_m"] if listed else None)


@bp.get("/p/<plate_text>/assistance")
@bp.get("/P/<plate_text>/assistance", parameters=[PLATE_ID])
@resident_page((200, "The route"), (404, "No such plate, or no window placed for it"), (410, "Retired"))
def route_to_assistance(plate_text: str):
    """The walking route from the plate's door to its social-assistance window, and directions in each map app
    (also /p/)."""
    plate = resolve(plate_text).document
    window = plate["assistance"]["window"]
    if window is None or window["location"] is None:
        abort(404)
    return _route_page(plate, window, labels.ASSISTANCE_WINDOW)


def _route_page(plate: dict, place: dict, kind: str, walk_m: float | None = None):
    """The walking-route page from the plate's door to `place` (a service point or a window, as shown)."""
    road_names = RoadNames(reference_snapshot().roads)
    start, end = plate["location"]["wgs84"], place["location"]["wgs84"]

    def walk(engine):
        with Session(engine) as session:
            return route_with_streets(session, tuple(start), tuple(end), road_names, place["name"], reach_m=walk_m)

    route, streets = read_store(walk)
    speed = current_app.config["WALK_SPEED_KMH"]
    return render_page("route_to_service.html", service=place, kind=kind, plate_text=plate["id"],
                       origin=plate["address"]["short"], route=route, minutes=route.minutes(speed),
                       picture=route_picture(route, streets),
                       routes=walking_urls(plate["location"], plate["address"]["short"], place["location"],
                                           place["name"]))


YOUR_LOCATION = Message("Your location")  # where a walking route from the map's "near me" starts


class From(Form):
    origin = Text(data_key="from", load_default="",
                  metadata={"description": "Where a walking route starts: longitude,latitude (WGS84)"})


@bp.get("/services/<int:service_id>", parameters=[
    {"in": "path", "name": "service_id", "description": "A service point's id", "example": 1}])
@resident_page((200, "The service point's page"), (404, "No such service point"))
@bp.arguments(From, location="query", as_kwargs=True)
def service(service_id: int, origin: str):
    """A service point: what it is, its hours, a call button and navigation, and, given where the reader
    stands (?from=lon,lat, as the map's "near me" passes it), walking routes from there."""
    row = reference_snapshot().services.get(service_id)
    if row is None:
        abort(404)
    shown = row.shown.entry
    start = _lonlat(origin)
    routes = walking_urls(location(*start), str(YOUR_LOCATION), shown["location"], shown["name"]) if start else None
    return render_page("service.html", service=shown, routes=routes)


def _lonlat(text: str) -> tuple[float, float] | None:
    """"lon,lat" as two numbers on the Earth, or None (a malformed start is no route, not an error)."""
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        return None
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


@bp.get("/map")
@resident_page((200, "The map"))
def plate_map():
    """The web map: plates, services, beats and roads from the vector tiles."""
    return render_page("map.html", **map_context(url_for("pages.plate", plate_text="PLATE")))


def map_context(plate_link: str) -> dict:
    """What a map page shows (map_parts.html), where tapping a plate opens `plate_link` with PLATE replaced by
    its ID."""
    bounds = read_store(lambda engine: features.extent(engine, features.COLLECTIONS["plates"]))
    return {"bounds": bounds, "center": opening_view(reference_snapshot().services.values()),
            "categories": [category.value for category in ServiceCategory], "plate_link": plate_link,
            "colours": {category.value: colour for category, colour in CATEGORY_COLOURS.items()}}


OPENING_ZOOM = 14  # services, road names and plates all show; a phone sees some 3 km across


def opening_view(services) -> list[float] | None:
    """[longitude, latitude, zoom] where the map opens: the median service point's place, which lies
    where they are thickest (the city centre), from the worker's reference snapshot."""
    points = [(service.lon, service.lat) for service in services]
    if not points:
        return None
    return [statistics.median(lon for lon, _ in points), statistics.median(lat for _, lat in points), OPENING_ZOOM]


@bp.get("/p/")
@resident_page()
@bp.arguments(LookUp, location="query", as_kwargs=True)
@bp.answers(302, description="To the plate's page")
def look_up(typed: str):
    """The 404 page's form: a typed ID goes to its plate page."""
    typed = typed.strip()
    lang = request.args.get("lang")
    return redirect(url_for("pages.plate", plate_text=typed or "-", lang=lang))


@bp.get("/find")
@resident_page((200, "A search box, and the plates found"))
@bp.arguments(Find, location="query", as_kwargs=True)
def find(typed: str, lon: float | None = None, lat: float | None = None):
    """Find an address as people type it, or the plates nearest where the phone is (我在哪里)."""
    config, typed, near = current_app.config, typed.strip(), lon is not None and lat is not None

    def look(session):
        if near:
            return reverse_plates(session, config, lon, lat, NEAR_ME_METRES, FOUND_ON_PAGE)
        return search_plates(session, config, typed, FOUND_ON_PAGE) if typed else []
    collection = read_store(lambda engine: feature_collection(engine, config, look, FOUND_ON_PAGE))
    found = [{"id": f["id"], **f["properties"], "distance_m": f["properties"].get("distance_m")}
             for f in collection["features"]]
    return render_page("find.html", typed=typed, asked=bool(typed) or near, near=near, found=found)


@bp.errorhandler(UnknownPlateError)
def unknown_plate(error: UnknownPlateError):
    typed = request.view_args.get("plate_text", "") if request.view_args else ""
    suggestions = [found for found in map(_described, error.suggestions) if found]
    return render_page("plate_not_found.html", 404, typed=typed, suggestions=suggestions)


@bp.errorhandler(RetiredPlateError)
def retired_plate(error: RetiredPlateError):
    worker().scans.record(error.plate_id)
    return render_page("plate_retired.html", 410, plate_id=error.plate_id,
                       successor=_described(error.successor) if error.successor else None)


def _described(plate_id: str) -> dict | None:
    """A plate as a resident can choose it: its address beside its ID (None if it is not to be offered)."""
    try:
        document = resolve(plate_id).document
    except PlatesvcError:
        return None
    return {"id": document["id"], "display_id": document["display_id"], "address": document["address"]["full"]}
