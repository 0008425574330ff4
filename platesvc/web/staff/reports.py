"""Staff pages for residents' reports: the queue, one report with its photo, assigning and closing."""

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from platesvc.errors import NotFoundError
from platesvc.registry import audit
from platesvc.staff import accounts, reports
from platesvc.store.database import db
from platesvc.store.models import ReportKind, ReportStatus, Role, User
from platesvc.web.staff import actor, page, requires

bp = Blueprint("reports", __name__)
VIEWS = {"open": reports.OPEN, "closed": reports.CLOSED, "all": tuple(ReportStatus)}


@bp.get("/reports")
@requires(Role.VIEWER)
def queue():
    """Reports waiting longest first; `show` open (default), closed or all, of one kind if asked."""
    show = request.args.get("show", "open")
    kind = request.args.get("kind") or None
    return page("reports.html", found=reports.queue(db.session, VIEWS.get(show, reports.OPEN), kind), show=show,
                kind=kind, kinds=list(ReportKind), counts=reports.counts_by_status(db.session))


@bp.get("/reports/<ticket>")
@requires(Role.VIEWER)
def report(ticket: str):
    found = reports.find_report(db.session, ticket)
    staff = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    return page("report.html", report=found, ticket=reports.display_ticket(found.ticket),
                history=audit.history(db.session, "report", found.ticket), staff=staff,
                statuses=list(ReportStatus), has_photo=reports.photo_of(db.session, found) is not None,
                addition_photos=reports.additions_with_photos(db.session, found))


@bp.get("/reports/<ticket>/photo")
@bp.get("/reports/<ticket>/additions/<int:addition_id>/photo")
@requires(Role.VIEWER)
def photo(ticket: str, addition_id: int | None = None):
    """The report's photo, or that of a resident's addition to it."""
    found = reports.find_report(db.session, ticket)
    data = reports.photo_of(db.session, found, addition_id)
    if data is None:
        raise NotFoundError("Report %(ticket)s has no such photo.", ticket=ticket)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


@bp.post("/reports/<ticket>")
@requires(Role.OPERATOR)
def update(ticket: str):
    found = reports.find_report(db.session, ticket)
    form = request.form
    assignee = False  # unchanged
    if "assignee" in form:
        assignee = accounts.find_user(db.session, form["assignee"]) if form["assignee"] else None
    reports.update_report(db.session, actor(), found, status=form.get("status") or None, assignee=assignee,
                          public_notes=form.get("public_notes"), reason=form.get("reason") or None)
    db.session.commit()
    flash(_("Saved"))
    return redirect(url_for("staff.reports.report", ticket=reports.display_ticket(found.ticket)), 303)
