"""Signing staff in and out of the staff pages."""

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for

from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.web.staff import check_csrf, page, signed_in_user

bp = Blueprint("sign_in", __name__)


def _local(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, never another host."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff") or target.startswith("//"):
        return url_for("staff.plates.dashboard")
    return target


@bp.get("/sign-in")
def sign_in_form():
    if signed_in_user() is not None:
        return redirect(_local(request.args.get("next")))
    return page("sign_in.html", next_url=request.args.get("next", ""))


@bp.post("/sign-in")
def sign_in():
    check_csrf()  # a forged sign-in would put a victim's browser in the forger's account
    user = accounts.authenticate(db.session, request.form.get("username", ""), request.form.get("password", ""))
    db.session.commit()
    session.clear()
    session.permanent = True
    session["user_id"], session["version"] = user.id, user.session_version
    return redirect(_local(request.form.get("next")), 303)


@bp.post("/sign-out")
def sign_out():
    user = signed_in_user() if "user_id" in session else None
    if user is not None:
        check_csrf()
        accounts.sign_out(user)  # a copy of the cookie stops working too
        db.session.commit()
    session.clear()
    return redirect(url_for("staff.sign_in.sign_in_form"), 303)
