"""The staff side: who is calling (a signed-in user or an API token), the role each view
requires, and the pages and JSON API staff work through. Everything under /staff and
/api/v1/staff is refused to an anonymous caller (401) and to a role below the view's (403).
"""

import functools
from urllib.parse import urlencode

from flask import Blueprint, current_app, has_request_context, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from platesvc import labels
from platesvc.errors import AuthenticationError, PermissionDeniedError, PlatesvcError
from platesvc.registry import audit
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.staff import accounts
from platesvc.staff.reports import display_ticket
from platesvc.store.database import db
from platesvc.store.models import Role, User
from platesvc.web.i18n import LANGUAGES, language
from platesvc.web.openapi import BEARER

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Kept on the request, not on `g`, which lives as long as the app context (in tests, many requests).
_USER, _HOW = "platesvc.user", "platesvc.auth"
bp = Blueprint("staff", __name__, url_prefix="/staff")


def signed_in_user() -> User | None:
    """The staff user behind this request: an API token (Authorization: Bearer) or the session cookie.

    :raises AuthenticationError: a token was sent and is not a current one.
    """
    if _USER in request.environ:
        return request.environ[_USER]
    user, how = None, None
    header = request.headers.get("Authorization")
    if header is not None:
        secret = bearer_secret(header)
        if not secret:
            raise AuthenticationError("Send an API token as `Authorization: Bearer <token>`.")
        user, _token = accounts.user_for_token(db.session, secret)
        db.session.commit()  # the token's last use
        how = "token"
    elif "user_id" in session:
        user = db.session.get(User, session["user_id"])
        if user is None or not user.active or user.session_version != session.get("version"):
            session.clear()  # a new password or a switched-off account ends old sessions
            user = None
        else:
            how = "session"
    request.environ[_USER], request.environ[_HOW] = user, how
    return user


def bearer_secret(header: str) -> str:
    """The token in an `Authorization: Bearer <token>` header (the scheme in any case), or "" for none."""
    scheme, _, secret = header.strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def actor() -> audit.Actor:
    """The signed-in user, as the audit trail names them."""
    return audit.Actor.of(request.environ[_USER])


def requires(role: Role, body_limit: str | None = None):
    """Let a view run only for a user of at least `role`; a session's unsafe requests must carry the CSRF token.

    `body_limit` names the setting that caps this view's request body instead of
    MAX_CONTENT_LENGTH (uploads), applied before the form is read for the token.
    """
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if body_limit:
                request.max_content_length = current_app.config[body_limit]
            user = signed_in_user()
            if user is None:
                raise AuthenticationError("Sign in first.")
            if not accounts.may(user.role, role):
                raise PermissionDeniedError("This needs the role %(role)s or above; %(user)s is %(user_role)s.",
                                            role=labels.ROLES[role.value], user=user.username,
                                            user_role=labels.ROLES[user.role])
            if request.environ[_HOW] == "session" and request.method not in SAFE_METHODS:
                check_csrf()
            return view(*args, **kwargs)

        guarded.required_role = role
        return guarded

    return decorate


def documented_requires(blueprint, role: Role):
    """`requires(role)` for a view of an API `blueprint` (web/openapi.py) that scripts call with a token,
    documented there: the security scheme and its two refusals."""
    def decorate(view):
        guarded = requires(role)(view)
        for document in (blueprint.doc(security=BEARER), blueprint.refuses(401, "No API token, or not a current one"),
                         blueprint.refuses(403, f"The token's user has a lower role than {role.value}")):
            guarded = document(guarded)
        return guarded
    return decorate


def check_csrf() -> None:
    """The form (or an X-CSRFToken header) must carry the token this session's pages were given.

    :raises CSRFError: a 400 saying what is missing or wrong.
    """
    try:
        validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None


def page(template: str, status: int = 200, **context):
    """A staff page in the reader's language, with the navigation the user's role allows."""
    user = request.environ.get(_USER)
    return render_template(f"staff/{template}", user=user, may=lambda role: user is not None and accounts.may(
        user.role, role), Role=Role, asked_language=_asked_language(), other_language=_other_language(),
        **context), status


def _asked_language() -> str | None:
    """The language asked for with ?lang=, if one was."""
    asked = request.args.get("lang", "").lower() if has_request_context() else ""
    return asked if asked in LANGUAGES else None


def _other_language() -> tuple[str, str]:
    """The other language and the link to this page in it (after a form was sent, to the dashboard in it)."""
    other = "en" if language() == "zh" else "zh"
    if request.method != "GET":
        return other, url_for("staff.plates.dashboard", lang=other)
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    return other, f"{request.script_root}{request.path}?{urlencode([*query, ('lang', other)])}"


@bp.url_defaults
def _keep_language(endpoint: str, values: dict) -> None:
    # ?lang= lasts one request: the links and forms of a page read in an asked-for language keep asking for it.
    asked = _asked_language()
    if asked:
        values.setdefault("lang", asked)


@bp.errorhandler(AuthenticationError)
def _sign_in_first(error: AuthenticationError):
    body, status = page("sign_in.html", 401, message=error.message, next_url=request.full_path.rstrip("?"))
    return body, status, {"WWW-Authenticate": 'Bearer realm="platesvc staff"'}


@bp.errorhandler(PermissionDeniedError)
def _not_allowed(error: PermissionDeniedError):
    return page("problem.html", 403, title=labels.HTTP_STATUSES[403], message=error.message)


@bp.errorhandler(PlatesvcError)
def _problem(error: PlatesvcError):
    return page("problem.html", error.http_status, title=_("Could not be done"), message=error.message)


def init_app(app) -> None:
    # Flask-WTF's tokens, checked by `requires` once the caller is known (not on every request,
    # as its CSRFProtect would); a token is good as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.add_template_global(generate_csrf, "csrf_token")
    app.add_template_filter(display_ticket, "ticket")  # KX7M-2Q9H-1
    app.add_template_filter(lambda plate_id: parse_plate_id(plate_id).display, "plate")  # 640104-0A3KX-D
    app.register_blueprint(bp)  # the staff API's blueprint goes into the API document (web/openapi.py)


# The staff pages' blueprints use the helpers above; they are nested in `bp` once, here.
from platesvc.web.staff import data, jobs, plates, reports, sign_in, users  # noqa: E402

for _child in (sign_in.bp, plates.bp, data.bp, reports.bp, jobs.bp, users.bp):
    bp.register_blueprint(_child)
