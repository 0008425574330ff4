"""`platesvc users` and `platesvc tokens`: staff accounts and the API tokens scripts use."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from platesvc.cli.output import fail_on_domain_error
from platesvc.registry import audit
from platesvc.staff import accounts
from platesvc.store.database import db
from platesvc.store.models import ApiToken, Role, User

users_cli = AppGroup("users", help="Staff accounts: admin (manages users), operator (imports, issues, prints, "
                                   "edits), viewer (reads reports and statistics).")
tokens_cli = AppGroup("tokens", help="API tokens for scripts (sent as Authorization: Bearer …).")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]),
              help="admin, operator or viewer [default: admin for the first user, otherwise required].")
@click.option("--name", "display_name", help="The name staff pages show [default: the username].")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
def users_create(username, role, display_name, password_stdin):
    """Create a staff user; the first one is the admin who makes the others."""
    if role is None:
        if accounts.has_admin(db.session):
            raise click.UsageError("an admin exists already: say --role admin, operator or viewer")
        role = Role.ADMIN.value
    password = _password(password_stdin)
    user = fail_on_domain_error(lambda: accounts.create_user(
        db.session, audit.Actor.command_line(), username, password, role, display_name))
    db.session.commit()
    click.echo(f"created {user.role} {user.username}; sign in at /staff/sign-in")


@users_cli.command("list")
def users_list():
    """Every staff user, their role and whether they may sign in."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        seen = (f"last signed in {user.last_signed_in_at:%Y-%m-%d %H:%M}" if user.last_signed_in_at
                else "never signed in")
        click.echo(f"{user.username:20} {user.role:9} {'active' if user.active else 'switched off':12} {seen}")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_set_role(username, role):
    """Give a user another role."""
    user = fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    fail_on_domain_error(lambda: accounts.set_role(db.session, audit.Actor.command_line(), user, role))
    db.session.commit()
    click.echo(f"{user.username} is now {user.role}")


@users_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_password(username, password_stdin):
    """Set a user's password; their open sessions end."""
    user = fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    password = _password(password_stdin)
    fail_on_domain_error(lambda: accounts.set_password(db.session, audit.Actor.command_line(), user, password))
    db.session.commit()
    click.echo(f"new password set for {user.username}")


@users_cli.command("switch")
@click.argument("username")
@click.argument("state", type=click.Choice(["on", "off"]))
def users_switch(username, state):
    """Let a user sign in again (on), or stop them and their tokens (off)."""
    user = fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    fail_on_domain_error(lambda: accounts.set_active(db.session, audit.Actor.command_line(), user, state == "on"))
    db.session.commit()
    click.echo(f"{user.username} is {'active' if user.active else 'switched off'}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What uses it, e.g. 'installer app' or '12345 system'.")
@click.option("--days", type=int, default=None, help="How long it works [default: PLATESVC_TOKEN_DAYS, 90].")
def tokens_create(username, name, days):
    """Make an API token for a user's scripts; it is shown this once and stored only as a hash."""
    config = current_app.config
    user = fail_on_domain_error(lambda: accounts.find_user(db.session, username))
    days = config["TOKEN_DAYS"] if days is None else days  # --days 0 is refused, not the default
    issued = fail_on_domain_error(lambda: accounts.create_token(
        db.session, audit.Actor.command_line(), user, name, days, config["TOKEN_MAX_DAYS"]))
    db.session.commit()
    click.echo(issued.secret)
    click.echo(f"token #{issued.token.id} for {user.username} ({user.role}), valid until "
               f"{issued.token.expires_at:%Y-%m-%d}; it is not shown again", err=True)


@tokens_cli.command("list")
@click.argument("username", required=False)
def tokens_list(username):
    """API tokens (never their secrets): whose, what for, until when, last used."""
    user = fail_on_domain_error(lambda: accounts.find_user(db.session, username)) if username else None
    for token in accounts.tokens_of(db.session, user):
        state = "revoked" if token.revoked_at else f"until {token.expires_at:%Y-%m-%d}"
        used = f"used {token.last_used_at:%Y-%m-%d}" if token.last_used_at else "never used"
        click.echo(f"#{token.id:<5} {token.user.username:16} {token.name:24} {state:18} {used}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id):
    """Stop a token at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token #{token_id}")
    accounts.revoke_token(db.session, audit.Actor.command_line(), token)
    db.session.commit()
    click.echo(f"token #{token.id} ({token.name}) is revoked")
