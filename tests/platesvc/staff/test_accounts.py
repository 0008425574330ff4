"""Staff users and API tokens: slow password hashes, roles, tokens that are shown once and stored hashed."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from platesvc.errors import AuthenticationError, DataError
from platesvc.registry.audit import SYSTEM
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import ApiToken, AuditEvent, Role, User
from tests.conftest import STAFF_PASSWORD


def test_passwords_are_kept_as_slow_hashes(staff):
    user = staff[Role.VIEWER]
    assert user.password_hash.startswith("scrypt:") and STAFF_PASSWORD not in user.password_hash
    assert accounts.authenticate(db.session, "VIEWER-user", STAFF_PASSWORD).id == user.id
    for username, password in (("viewer-user", "wrong password!"), ("nobody", STAFF_PASSWORD)):
        with pytest.raises(AuthenticationError) as refused:
            accounts.authenticate(db.session, username, password)
        assert "Wrong username or password" in refused.value.message


@pytest.mark.parametrize("username, password, why", [
    ("ann", "short", "at least 10"),
    ("annabelle12", "annabelle12", "not be the username"),
    ("with space", "a long enough password", "no spaces"),
    ("viewer-user", "a long enough password", "already a user"),
])
def test_weak_passwords_and_taken_names_are_refused(staff, username, password, why):
    with pytest.raises(DataError, match=why):
        accounts.create_user(db.session, SYSTEM, username, password, Role.VIEWER)


def test_roles_include_those_below_them():
    assert accounts.may(Role.ADMIN, Role.OPERATOR) and accounts.may(Role.OPERATOR, Role.VIEWER)
    assert not accounts.may(Role.VIEWER, Role.OPERATOR) and not accounts.may(Role.OPERATOR, Role.ADMIN)


def test_the_last_admin_cannot_be_demoted_or_switched_off(staff):
    admin = staff[Role.ADMIN]
    with pytest.raises(DataError, match="only active admin"):
        accounts.set_role(db.session, SYSTEM, admin, Role.VIEWER)
    with pytest.raises(DataError, match="only active admin"):
        accounts.set_active(db.session, SYSTEM, admin, False)
    accounts.set_role(db.session, SYSTEM, staff[Role.OPERATOR], Role.ADMIN)
    accounts.set_active(db.session, SYSTEM, admin, False)
    assert not admin.active


def test_a_token_is_stored_hashed_and_stops_when_revoked_expired_or_its_user_is_off(staff):
    user = staff[Role.OPERATOR]
    issued = accounts.create_token(db.session, SYSTEM, user, "installer app", 30, 365)
    db.session.commit()
    assert issued.secret.startswith("pst_")
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert issued.secret not in stored and all(len(value) == 64 for value in stored)
    assert accounts.user_for_token(db.session, issued.secret)[0].id == user.id

    accounts.set_active(db.session, SYSTEM, user, False)
    with pytest.raises(AuthenticationError):
        accounts.user_for_token(db.session, issued.secret)
    accounts.set_active(db.session, SYSTEM, user, True)
    issued.token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(AuthenticationError):
        accounts.user_for_token(db.session, issued.secret)
    issued.token.expires_at = datetime.now(UTC) + timedelta(days=1)
    accounts.revoke_token(db.session, SYSTEM, issued.token)
    with pytest.raises(AuthenticationError):
        accounts.user_for_token(db.session, issued.secret)
    with pytest.raises(DataError, match="1 to 365 days"):
        accounts.create_token(db.session, SYSTEM, user, "forever", 366, 365)


def test_a_new_password_revokes_every_token_of_its_user(staff):
    user = staff[Role.OPERATOR]
    issued = [accounts.create_token(db.session, SYSTEM, user, name, 30, 365) for name in ("installer app", "12345")]
    other = accounts.create_token(db.session, SYSTEM, staff[Role.VIEWER], "someone else's", 30, 365)
    accounts.set_password(db.session, SYSTEM, user, "a brand new password")
    for token in issued:
        with pytest.raises(AuthenticationError):
            accounts.user_for_token(db.session, token.secret)
    assert accounts.user_for_token(db.session, other.secret)[0].id == staff[Role.VIEWER].id
    revoked = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "token.revoked")).all()
    assert sorted(json.loads(details)["name"] for details in revoked) == ["12345", "installer app"]


def test_account_changes_are_in_the_audit_trail(staff):
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "user")))
    assert actions == {"user.created"}
    accounts.set_role(db.session, SYSTEM, staff[Role.VIEWER], Role.OPERATOR)
    accounts.set_password(db.session, SYSTEM, staff[Role.VIEWER], "another long password")
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.subject_id == "viewer-user")
                                 .order_by(AuditEvent.id)).all()
    assert [(e.action, e.old_value, e.new_value) for e in history] == [
        ("user.created", None, "viewer"), ("user.role", "viewer", "operator"), ("user.password", None, None)]
    assert "another long password" not in str([e.details for e in history])


def test_users_create_makes_the_first_admin_then_asks_for_a_role(runner, app):
    made = runner.invoke(args=["users", "create", "chief", "--password-stdin"], input="a long enough password\n")
    assert made.exit_code == 0, made.output
    assert "created admin chief" in made.output
    second = runner.invoke(args=["users", "create", "deputy", "--password-stdin"], input="a long enough password\n")
    assert second.exit_code != 0 and "--role" in second.output
    weak = runner.invoke(args=["users", "create", "deputy", "--role", "viewer", "--password-stdin"], input="short\n")
    assert weak.exit_code != 0 and "at least 10" in weak.output
    assert db.session.scalar(select(User.role).where(User.username == "chief")) == "admin"
    assert "--role" in runner.invoke(args=["users", "create", "--help"]).output


def test_tokens_create_prints_the_secret_once_and_list_never_shows_it(runner, staff):
    zero = runner.invoke(args=["tokens", "create", "operator-user", "--name", "installer app", "--days", "0"])
    assert zero.exit_code != 0 and "1 to" in zero.output
    made = runner.invoke(args=["tokens", "create", "operator-user", "--name", "installer app", "--days", "7"])
    assert made.exit_code == 0, made.output
    secret = made.output.split()[0]
    assert accounts.user_for_token(db.session, secret)[0].username == "operator-user"
    listed = runner.invoke(args=["tokens", "list"])
    assert "installer app" in listed.output and secret not in listed.output
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "installer app"))
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    with pytest.raises(AuthenticationError):
        accounts.user_for_token(db.session, secret)
