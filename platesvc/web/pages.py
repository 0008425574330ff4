"""The resident page a plate's QR code opens: server-rendered, no scripts, Chinese first."""

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from platesvc.errors import RetiredPlateError, UnknownPlateError
from platesvc.plate_ids import parse_plate_id
from platesvc.web import resolve
from platesvc.web.caching import revalidated
from platesvc.web.i18n import MESSAGES, choose_language, distance_text

bp = Blueprint("pages", __name__)


def _render(template: str, status: int = 200, **context):
    lang = choose_language(request)
    html = render_template(template, lang=lang, t=MESSAGES[lang], hotlines=current_app.config["HOTLINES"],
                           distance=lambda metres: distance_text(metres, lang), display=_display, **context)
    return revalidated(make_response(html, status), request, vary="Accept-Language")


def _display(canonical: str) -> str:
    return parse_plate_id(canonical).display


@bp.get("/p/<plate_text>")
@bp.get("/P/<plate_text>")
def plate(plate_text: str):
    resolved = resolve(plate_text)
    current_app.extensions["platesvc_scans"].record(resolved["id"])
    return _render("plate.html", plate=resolved)


@bp.get("/p/")
def look_up():
    """The 404 page's form: a typed ID goes to its plate page."""
    typed = request.args.get("id", "").strip()
    lang = request.args.get("lang")
    return redirect(url_for("pages.plate", plate_text=typed or "-", lang=lang))


@bp.errorhandler(UnknownPlateError)
def unknown_plate(error: UnknownPlateError):
    typed = request.view_args.get("plate_text", "") if request.view_args else ""
    return _render("plate_not_found.html", 404, typed=typed, suggestions=error.suggestions)


@bp.errorhandler(RetiredPlateError)
def retired_plate(error: RetiredPlateError):
    current_app.extensions["platesvc_scans"].record(error.plate_id)
    return _render("plate_retired.html", 410, plate_id=error.plate_id, successor=error.successor)
