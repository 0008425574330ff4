"""Staff users, their roles and passwords, and the API tokens scripts use.

Passwords are kept as werkzeug's scrypt hashes. A token is shown once, when it is
made; only its SHA-256 is stored (a token is 256 random bits, so a slow hash would
add nothing), and it stops working when it expires or is revoked.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from platesvc import labels
from platesvc.errors import AuthenticationError, DataError, NotFoundError
from platesvc.registry import audit
from platesvc.store.models import ApiToken, Role, User, as_utc

ROLE_ORDER = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "pst_"  # lets secret scanners and people tell a platesvc token at a glance


def may(role: str, required: Role) -> bool:
    """Whether a user of `role` may do what `required` may."""
    return ROLE_ORDER.index(Role(role)) >= ROLE_ORDER.index(required)


def _check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DataError("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    if password.strip().lower() == username.strip().lower():
        raise DataError("The password must not be the username.")


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise DataError("There is no role %(role)s: choose one of %(roles)s.", role=role,
                        roles=list(labels.ROLES.values())) from None


def create_user(session: Session, actor: audit.Actor, username: str, password: str, role: str,
                display_name: str | None = None) -> User:
    """A new active staff user (not committed).

    :raises DataError: the username is taken or malformed, the role unknown, or the password too weak.
    """
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise DataError("A username is 1 to 64 characters with no spaces.")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise DataError("There is already a user called %(username)s.", username=username)
    role = _check_role(role)
    _check_password(username, password)
    user = User(username=username, display_name=(display_name or "").strip() or username, role=role,
                password_hash=generate_password_hash(password), active=True, session_version=0)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", "user", user.username, new=role)
    return user


def has_admin(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).limit(1)) is not None


def find_user(session: Session, username: str) -> User:
    """:raises NotFoundError: no such user."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFoundError("There is no user called %(username)s.", username=username)
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this username and password, now marked as signed in (not committed).

    :raises AuthenticationError: the same message whatever was wrong, so it tells nothing.
    """
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:  # take as long as a wrong password would, so timing tells no names
        check_password_hash(_unknown_user_hash(), password)
    if user is None or not check_password_hash(user.password_hash, password) or not user.active:
        raise AuthenticationError("Wrong username or password, or the account is switched off.")
    user.last_signed_in_at = datetime.now(UTC)
    return user


@cache
def _unknown_user_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def set_password(session: Session, actor: audit.Actor, user: User, password: str) -> None:
    """A new password: every session the user has open ends, and every token they hold is revoked
    (a password is changed when it may be known to someone else, and so may the tokens)."""
    _check_password(user.username, password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    audit.record(session, actor, "user.password", "user", user.username)
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        revoke_token(session, actor, token)


def sign_out(user: User) -> None:
    """End the user's sessions, here and wherever a copy of the cookie is (not committed)."""
    user.session_version += 1


def change_own_password(session: Session, user: User, current: str, password: str) -> None:
    """:raises DataError: the current password is wrong, or the new one too weak."""
    if not check_password_hash(user.password_hash, current):
        raise DataError("The current password is wrong.")
    set_password(session, audit.Actor.of(user), user, password)


def set_role(session: Session, actor: audit.Actor, user: User, role: str) -> None:
    """:raises DataError: the role is unknown, or this would leave no active admin."""
    role = _check_role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(session, user)
    audit.record(session, actor, "user.role", "user", user.username, old=user.role, new=role)
    user.role = role


def set_active(session: Session, actor: audit.Actor, user: User, active: bool) -> None:
    """Switch a user on or off; switching off ends their sessions and stops their tokens."""
    if not active and user.role == Role.ADMIN:
        _keep_an_admin(session, user)
    if user.active != active:
        audit.record(session, actor, "user.active", "user", user.username, old=str(user.active).lower(),
                     new=str(active).lower())
        user.active = active
        user.session_version += 1


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != user.id))
    if not others:
        raise DataError("%(username)s is the only active administrator: make another administrator first.",
                        username=user.username)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole token text, shown this once


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, actor: audit.Actor, user: User, name: str, days: int,
                 max_days: int) -> IssuedToken:
    """A new API token for `user`, valid for `days` (not committed).

    :raises DataError: no name, or a lifetime outside 1..max_days.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise DataError("Give the token a name of up to 100 characters (what script uses it).")
    if not 1 <= days <= max_days:
        raise DataError("A token lasts 1 to %(most)s days.", most=max_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_token_hash(secret),
                     expires_at=datetime.now(UTC) + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.created", "user", user.username,
                 details={"token": token.id, "name": name, "expires_at": token.expires_at.isoformat()})
    return IssuedToken(token, secret)


def user_for_token(session: Session, secret: str) -> tuple[User, ApiToken]:
    """The active user a token belongs to, if the token is current.

    :raises AuthenticationError: unknown, expired or revoked token, or a user switched off.
    """
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
    now = datetime.now(UTC)
    if token is None or token.revoked_at is not None or as_utc(token.expires_at) <= now or not token.user.active:
        raise AuthenticationError("The API token is unknown, expired or revoked.")
    if token.last_used_at is None or now - as_utc(token.last_used_at) > timedelta(minutes=5):
        token.last_used_at = now  # coarse, so a busy script does not write on every call
    return token.user, token


def revoke_token(session: Session, actor: audit.Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "token.revoked", "user", token.user.username,
                     details={"token": token.id, "name": token.name})


def tokens_of(session: Session, user: User | None = None) -> list[ApiToken]:
    """Tokens, newest first: one user's, or everyone's."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))
