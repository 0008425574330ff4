"""Configuration: defaults, then PLATESVC_* environment variables, then the mapping passed in."""

import json
import os
from pathlib import Path

ENV_PREFIX = "PLATESVC_"

DEFAULTS = {
    "PUBLIC_URL": "http://localhost:8000",
    "SECRET_KEY": None,  # set from the environment in production; a random key otherwise
    "ISSUE_BATCH_SIZE": 2000,
    # The address prefix above the districts, and the city's help lines on every plate page.
    "PROVINCE": "宁夏回族自治区",
    "CITY": "银川市",
    "HOTLINES": [
        {"name": "政务服务便民热线", "name_en": "City service hotline", "phone": "12345"},
        {"name": "养老服务热线", "name_en": "Elderly care hotline", "phone": "12349"},
        {"name": "报警", "name_en": "Police", "phone": "110"},
    ],
    "TIMEZONE": "Asia/Shanghai",  # scans are counted per local day
    "SCAN_FLUSH_SECONDS": 10.0,  # scan counts reach the database in batches at most this old
    # Each worker keeps the finished pages and JSON of the plates scanned most, up to this
    # many MiB (a page is some 7 KiB, a JSON document some 18 KiB); 0 keeps none.
    "RENDER_CACHE_MB": 128,
    # Plate artwork (`plates print`): the size in mm, ground and text colours, the QR error
    # correction level, the sheet plates are tiled on, and a CJK font file ("" finds one).
    "PLATE_SIZE": "300x200",
    "PLATE_GROUND": "#0B4EA2",
    "PLATE_INK": "#FFFFFF",
    "PLATE_ERROR_CORRECTION": "Q",
    "PRINT_SHEET": "A1",
    "PLATE_FONT": "",
}


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "platesvc.sqlite3")


def settings_from_environment(environ=os.environ) -> dict:
    """PLATESVC_DATABASE_URL → DATABASE_URL, and so on, typed like the default (JSON for lists)."""
    settings = {}
    for key, text in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key.removeprefix(ENV_PREFIX)
        settings[name] = _typed(name, text, DEFAULTS.get(name))
    return settings


def _typed(name: str, text: str, default):
    try:
        if isinstance(default, bool):
            return text.strip().lower() not in ("0", "false", "no", "off", "")
        if isinstance(default, int | float):
            return type(default)(text)
        if isinstance(default, list | dict):
            return json.loads(text)
    except ValueError as error:
        raise ValueError(f"{ENV_PREFIX}{name}={text!r} is not a valid {type(default).__name__}: {error}") from None
    return text
