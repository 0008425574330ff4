"""Staff pages for the reference data residents see: service points, police beats and officers, culture notes,
and where each division's residents apply for social assistance."""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from platesvc.reference import edits
from platesvc.reference.edits import AssistanceFields, ServiceFields
from platesvc.store.database import db
from platesvc.store.models import (
    AssistanceOffice,
    CultureNote,
    Division,
    Officer,
    PoliceBeat,
    Role,
    ServiceCategory,
    ServicePoint,
)
from platesvc.web import resolve
from platesvc.web.i18n import number
from platesvc.web.parameters import Decimal, Form, parse
from platesvc.web.staff import actor, page, requires

bp = Blueprint("data", __name__)


class ServicePlace(Form):
    longitude = Decimal(-180, 180, required=True)
    latitude = Decimal(-90, 90, required=True)


def _service_fields() -> ServiceFields:
    form, place = request.form, parse(ServicePlace(), "form")
    return ServiceFields(form.get("name", ""), form.get("category", ""), form.get("phone"), form.get("hours"),
                         place["longitude"], place["latitude"])


@bp.get("/services")
@requires(Role.VIEWER)
def services():
    text, category = request.args.get("q", "").strip(), request.args.get("category", "")
    return page("services.html", services=edits.search_services(db.session, text, category or None),
                query=text, category=category, categories=list(ServiceCategory), limit=edits.LIST_LIMIT)


@bp.get("/services/new")
@requires(Role.OPERATOR)
def new_service():
    return page("service.html", service=None, categories=list(ServiceCategory))


@bp.post("/services")
@requires(Role.OPERATOR)
def add_service():
    service = edits.add_service(db.session, actor(), request.form.get("source_id", ""), _service_fields())
    db.session.commit()
    flash(_("Added %(name)s", name=service.name))
    return redirect(url_for("staff.data.service", service_id=service.id), 303)


@bp.get("/services/<int:service_id>")
@requires(Role.VIEWER)
def service(service_id: int):
    return page("service.html", service=edits.find(db.session, ServicePoint, service_id),
                categories=list(ServiceCategory))


@bp.post("/services/<int:service_id>")
@requires(Role.OPERATOR)
def edit_service(service_id: int):
    service = edits.find(db.session, ServicePoint, service_id)
    relinked = edits.edit_service(db.session, actor(), service, _service_fields())
    db.session.commit()
    flash(_("Saved; the nearest service points of %(count)s buildings were recomputed.", count=number(relinked)))
    return redirect(url_for("staff.data.service", service_id=service.id), 303)


@bp.post("/services/<int:service_id>/remove")
@requires(Role.OPERATOR)
def remove_service(service_id: int):
    service = edits.find(db.session, ServicePoint, service_id)
    name = service.name
    relinked = edits.remove_service(db.session, actor(), service, request.form.get("reason", ""))
    db.session.commit()
    flash(_("Deleted %(name)s; the nearest service points of %(count)s buildings were recomputed.", name=name,
            count=number(relinked)))
    return redirect(url_for("staff.data.services"), 303)


@bp.get("/beats")
@requires(Role.VIEWER)
def beats():
    text = request.args.get("q", "").strip()
    return page("beats.html", beats=edits.search_beats(db.session, text), query=text,
                limit=edits.LIST_LIMIT)


@bp.get("/beats/<int:beat_id>")
@requires(Role.VIEWER)
def beat(beat_id: int):
    return page("beat.html", beat=edits.find(db.session, PoliceBeat, beat_id))


@bp.post("/beats/<int:beat_id>/officers")
@requires(Role.OPERATOR)
def add_officer(beat_id: int):
    beat = edits.find(db.session, PoliceBeat, beat_id)
    officer = edits.save_officer(db.session, actor(), None, beat, request.form.get("name", ""),
                                           request.form.get("phone", ""))
    db.session.commit()
    flash(_("Added the officer %(name)s", name=officer.name))
    return redirect(url_for("staff.data.beat", beat_id=beat.id), 303)


@bp.post("/officers/<int:officer_id>")
@requires(Role.OPERATOR)
def edit_officer(officer_id: int):
    officer = edits.find(db.session, Officer, officer_id)
    edits.save_officer(db.session, actor(), officer, officer.beat, request.form.get("name", ""),
                                 request.form.get("phone", ""))
    db.session.commit()
    flash(_("Saved the officer %(name)s", name=officer.name))
    return redirect(url_for("staff.data.beat", beat_id=officer.beat_id), 303)


@bp.post("/officers/<int:officer_id>/remove")
@requires(Role.OPERATOR)
def remove_officer(officer_id: int):
    officer = edits.find(db.session, Officer, officer_id)
    beat_id, name = officer.beat_id, officer.name
    edits.remove_officer(db.session, actor(), officer, request.form.get("reason", ""))
    db.session.commit()
    flash(_("Removed the officer %(name)s", name=name))
    return redirect(url_for("staff.data.beat", beat_id=beat_id), 303)


@bp.get("/culture")
@requires(Role.VIEWER)
def notes():
    text = request.args.get("q", "").strip()
    return page("notes.html", notes=edits.search_notes(db.session, text), query=text,
                limit=edits.LIST_LIMIT)


@bp.get("/culture/<int:note_id>")
@requires(Role.VIEWER)
def note(note_id: int):
    return page("note.html", note=edits.find(db.session, CultureNote, note_id))


@bp.post("/culture/<int:note_id>")
@requires(Role.OPERATOR)
def edit_note(note_id: int):
    note = edits.find(db.session, CultureNote, note_id)
    edits.edit_note(db.session, actor(), note, request.form.get("title", ""), request.form.get("body", ""))
    db.session.commit()
    flash(_("Saved"))
    return redirect(url_for("staff.data.note", note_id=note.id), 303)


@bp.get("/assistance")
@requires(Role.VIEWER)
def assistance():
    text = request.args.get("q", "").strip()
    return page("assistance.html", divisions=edits.search_assistance(db.session, text), query=text,
                limit=edits.LIST_LIMIT, default_hotline=current_app.config["ASSISTANCE_HOTLINE"])


@bp.get("/assistance/<int:division_id>")
@requires(Role.VIEWER)
def assistance_office(division_id: int):
    division = edits.find(db.session, Division, division_id)
    return page("assistance_office.html", division=division, office=db.session.get(AssistanceOffice, division.id))


@bp.post("/assistance/<int:division_id>")
@requires(Role.OPERATOR)
def edit_assistance(division_id: int):
    division = edits.find(db.session, Division, division_id)
    form = request.form
    address = form.get("window_address")
    point = None
    if form.get("plate", "").strip():  # placed at a building: staff know its plate, seldom its coordinates
        document = resolve(form["plate"]).document
        point = tuple(document["location"]["wgs84"])
        address = address if (address or "").strip() else document["address"]["short"]
    elif form.get("longitude", "").strip() or form.get("latitude", "").strip():  # both, or neither
        place = parse(ServicePlace(), "form")
        point = (place["longitude"], place["latitude"])
    changed = edits.save_assistance(db.session, actor(), division, AssistanceFields(
        form.get("window_name"), address, form.get("window_hours"), form.get("window_phone"), point,
        form.get("hotline")))
    db.session.commit()
    flash(_("Saved the social assistance details of %(division)s", division=division.name) if changed
          else _("Nothing changed"))
    return redirect(url_for("staff.data.assistance_office", division_id=division.id), 303)
