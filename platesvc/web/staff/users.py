"""Staff pages for accounts: users (admins), one's own password, and API tokens."""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from platesvc.errors import NotFoundError, PermissionDeniedError
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import ApiToken, Role, User
from platesvc.web.parameters import Form, Whole, parse
from platesvc.web.staff import actor, page, requires, signed_in_user

bp = Blueprint("users", __name__)


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("There is no such user.")
    return user


@bp.get("/users")
@requires(Role.ADMIN)
def users():
    return page("users.html", users=db.session.scalars(select(User).order_by(User.username)).all(), roles=list(Role))


@bp.post("/users")
@requires(Role.ADMIN)
def create_user():
    form = request.form
    user = accounts.create_user(db.session, actor(), form.get("username", ""), form.get("password", ""),
                                form.get("role", ""), form.get("display_name"))
    db.session.commit()
    flash(_("Created %(username)s", username=user.username))
    return redirect(url_for("staff.users.users"), 303)


@bp.post("/users/<int:user_id>")
@requires(Role.ADMIN)
def update_user(user_id: int):
    """Change a user's role, switch them on or off, or set a new password."""
    user, form = _user(user_id), request.form
    if form.get("role"):
        accounts.set_role(db.session, actor(), user, form["role"])
    if form.get("active") in ("0", "1"):
        accounts.set_active(db.session, actor(), user, form["active"] == "1")
    if form.get("password"):
        accounts.set_password(db.session, actor(), user, form["password"])
    db.session.commit()
    flash(_("Saved %(username)s", username=user.username))
    return redirect(url_for("staff.users.users"), 303)


@bp.get("/password")
@requires(Role.VIEWER)
def password_form():
    return page("password.html")


@bp.post("/password")
@requires(Role.VIEWER)
def change_password():
    accounts.change_own_password(db.session, signed_in_user(), request.form.get("current", ""),
                                 request.form.get("password", ""))
    db.session.commit()
    flash(_("Your password is changed: sign in again."))
    return redirect(url_for("staff.sign_in.sign_in_form"), 303)


@bp.get("/tokens")
@requires(Role.VIEWER)
def tokens():
    """One's own API tokens; an admin sees everyone's."""
    user = signed_in_user()
    return _tokens_page(user, secret=None)


class TokenForm(Form):
    days = Whole(1, metadata={"description": "How long the token lasts; up to TOKEN_MAX_DAYS"})


@bp.post("/tokens")
@requires(Role.VIEWER)
def create_token():
    """A token for one's own scripts, with one's own role; its secret is on this answer and nowhere else."""
    user, config = signed_in_user(), current_app.config
    days = parse(TokenForm(), "form").get("days", config["TOKEN_DAYS"])
    issued = accounts.create_token(db.session, actor(), user, request.form.get("name", ""), days,
                                   config["TOKEN_MAX_DAYS"])
    db.session.commit()
    body, status = _tokens_page(user, secret=issued.secret)
    return body, status, {"Cache-Control": "no-store"}


def _tokens_page(user: User, secret: str | None):
    """The tokens page: one's own tokens, or everyone's for an admin, and a new token's secret once."""
    shown = accounts.tokens_of(db.session, None if accounts.may(user.role, Role.ADMIN) else user)
    return page("tokens.html", tokens=shown, secret=secret, default_days=current_app.config["TOKEN_DAYS"],
                max_days=current_app.config["TOKEN_MAX_DAYS"])


@bp.post("/tokens/<int:token_id>/revoke")
@requires(Role.VIEWER)
def revoke_token(token_id: int):
    user = signed_in_user()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError("There is no such token.")
    if token.user_id != user.id and not accounts.may(user.role, Role.ADMIN):
        raise PermissionDeniedError("Only its owner or an administrator may revoke a token.")
    accounts.revoke_token(db.session, actor(), token)
    db.session.commit()
    flash(_("Revoked the token %(name)s", name=token.name))
    return redirect(url_for("staff.users.tokens"), 303)
