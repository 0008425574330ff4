"""The resident page a plate's QR code opens (server-rendered, no scripts, Chinese first), and the map."""

from flask import abort, current_app, redirect, render_template, request, url_for

from platesvc.errors import RetiredPlateError, UnknownPlateError
from platesvc.maps import features
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.store.models import ServiceCategory
from platesvc.web import read_store, reference_snapshot, rendered, resolve, worker
from platesvc.web.caching import Tagged, revalidated, tagged
from platesvc.web.i18n import LANGUAGES, MESSAGES, choose_language, distance_text
from platesvc.web.openapi import HTML, PLATE_ID, Blueprint
from platesvc.web.parameters import Form, Text

bp = Blueprint("pages", __name__, errors=HTML, errors_type="text/html",
               description="The pages residents open from a plate's QR code")
# Read by choose_language on every page (a language it does not have falls back, as Accept-Language does).
LANG = {"in": "query", "name": "lang", "schema": {"type": "string", "enum": list(LANGUAGES)},
        "description": "Language; otherwise Accept-Language, then Chinese"}


def resident_page(*answers):
    """Document a resident page: its `lang` and the pages it answers with, [(status, description)]."""
    def decorate(view):
        for status, description in answers:
            view = bp.page(status, description)(view)
        return bp.doc(parameters=[LANG])(view)
    return decorate


class LookUp(Form):
    typed = Text(data_key="id", load_default="", metadata={"description": "A plate ID as typed"})


def render_page(template: str, status: int = 200, **context):
    """A resident page in the language the request asks for, with its validator."""
    lang = choose_language(request)
    return _page(tagged(_html(template, lang, **context)), status)


def _html(template: str, lang: str, **context) -> str:
    return render_template(template, lang=lang, t=MESSAGES[lang], hotlines=current_app.config["HOTLINES"],
                           distance=lambda metres: distance_text(metres, lang), display=_display, **context)


def _page(body: Tagged, status: int = 200):
    return revalidated(body, "text/html", request, status, vary="Accept-Language")


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
    lang = choose_language(request)

    def render() -> str:
        # One url_for for all the service links: it costs more than the rest of a link.
        to_service = url_for("pages.route_to_service", plate_text=plate_id, service_id=0)[:-1]
        return _html("plate.html", lang, plate=resolution.document, to_service=to_service,
                     report_link=url_for("reports.report_form", plate_text=plate_id))

    return _page(rendered(resolution, "html", lang, render=render))


@bp.get("/p/<plate_text>/to/<int:service_id>")
@bp.get("/P/<plate_text>/to/<int:service_id>", parameters=[PLATE_ID])
@resident_page((200, "The links"), (404, "No such plate or service point"), (410, "Retired"))
def route_to_service(plate_text: str, service_id: int):
    """Links into each map app for one service point (also /p/)."""
    service = reference_snapshot().services.get(service_id)
    if service is None:
        abort(404)
    return render_page("route_to_service.html", service=service.shown.entry, plate_text=plate_text)


@bp.get("/map")
@resident_page((200, "The map"))
def plate_map():
    """The web map: plates, services, beats and roads from the vector tiles."""
    return map_page(url_for("pages.plate", plate_text="PLATE"))


def map_page(plate_link: str):
    """The map page, where tapping a plate opens `plate_link` with PLATE replaced by its ID."""
    bounds = read_store(lambda engine: features.extent(engine, features.COLLECTIONS["plates"]))
    return render_page("map.html", bounds=bounds, categories=[category.value for category in ServiceCategory],
                       plate_link=plate_link)


@bp.get("/p/")
@resident_page()
@bp.arguments(LookUp, location="query", as_kwargs=True)
@bp.answers(302, description="To the plate's page")
def look_up(typed: str):
    """The 404 page's form: a typed ID goes to its plate page."""
    typed = typed.strip()
    lang = request.args.get("lang")
    return redirect(url_for("pages.plate", plate_text=typed or "-", lang=lang))


@bp.errorhandler(UnknownPlateError)
def unknown_plate(error: UnknownPlateError):
    typed = request.view_args.get("plate_text", "") if request.view_args else ""
    return render_page("plate_not_found.html", 404, typed=typed, suggestions=error.suggestions)


@bp.errorhandler(RetiredPlateError)
def retired_plate(error: RetiredPlateError):
    worker().scans.record(error.plate_id)
    return render_page("plate_retired.html", 410, plate_id=error.plate_id, successor=error.successor)
