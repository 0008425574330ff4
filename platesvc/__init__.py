"""platesvc: QR-code door plates and the civil-affairs services behind them."""

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask

from platesvc import config as config_module

# Assets live in the checkout's top-level static/ and are served by the app itself:
# the service must work on a government intranet with no CDN.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then PLATESVC_* environment, then `config` (tests)."""
    app = Flask(__name__, instance_relative_config=True, static_folder=str(STATIC_DIR))
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.settings_from_environment(os.environ))
    app.config.update(config or {})
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = config_module.default_database_url(app.instance_path)
    for setting, folder in (("JOBS_DIR", "jobs"), ("PRINT_DIR", "prints")):
        app.config[setting] = app.config[setting] or os.path.join(app.instance_path, folder)
    if not app.config.get("SECRET_KEY"):
        # Every worker must sign sessions alike: a key kept in instance/ unless one is given.
        app.config["SECRET_KEY"] = config_module.instance_secret_key(app.instance_path)
    # Staff sessions: the cookie never reaches scripts, leaves the site only on top-level
    # links, and travels only over HTTPS where the service is served over it.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if "SESSION_COOKIE_SECURE" not in (config or {}):
        app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].lower().startswith("https://")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_HOURS"])
    app.config["TRUSTED_HOSTS"] = config_module.allowed_hosts(app.config)

    from platesvc import cli, web
    from platesvc.ops import logs
    from platesvc.store import database

    logs.init_app(app)
    database.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
