"""Configuration: defaults, then PLATESVC_* environment variables, then the mapping passed in."""

import os
from pathlib import Path

ENV_PREFIX = "PLATESVC_"


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "platesvc.sqlite3")


def settings_from_environment(environ=os.environ) -> dict:
    """PLATESVC_DATABASE_URL → DATABASE_URL, and so on for every PLATESVC_* variable."""
    return {key.removeprefix(ENV_PREFIX): value for key, value in environ.items() if key.startswith(ENV_PREFIX)}


DEFAULTS = {
    "PUBLIC_URL": "http://localhost:8000",
    "SECRET_KEY": None,  # set from the environment in production; a random key otherwise
    "ISSUE_BATCH_SIZE": 2000,
}
