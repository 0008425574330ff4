"""platesvc: QR-code door plates and the civil-affairs services behind them."""

import os
import secrets
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
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)

    from platesvc import cli, database, scans, web

    database.init_app(app)
    scans.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
