"""Configuration: defaults, then PLATESVC_* environment variables, then the mapping passed in."""

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "PLATESVC_"

DEFAULTS = {
    "PUBLIC_URL": "http://localhost:8000",
    # Host names requests may come by beside PUBLIC_URL's and the loopback names (comma-separated;
    # ".example.gov.cn" takes every subdomain): links are written with the host asked by, so any
    # other is refused (400) rather than echoed into them.
    "ALLOWED_HOSTS": "",
    # Origins whose web pages may read the public APIs (/ogc, /tiles, plates and nearby): comma-separated.
    "CORS_ORIGINS": "*",
    "SECRET_KEY": None,  # set it in production; otherwise a key kept in instance/secret_key
    "ISSUE_BATCH_SIZE": 2000,
    # The address prefix above the districts, and the city's help lines on every plate page.
    "PROVINCE": "宁夏回族自治区",
    "CITY": "银川市",
    "HOTLINES": [
        {"name": "政务服务便民热线", "name_en": "City service hotline", "phone": "12345"},
        {"name": "养老服务热线", "name_en": "Elderly care hotline", "phone": "12349"},
        {"name": "报警", "name_en": "Police", "phone": "110"},
    ],
    # Social assistance (社会救助) on every plate page: the app residents apply in, a link that opens it where
    # the deployment has one (a WeChat URL Link https://wxaurl.cn/… or URL Scheme weixin://dl/business/?t=…),
    # and the hotline where a district has none of its own. Windows and district hotlines: the staff pages.
    "ASSISTANCE_APP": "宁夏救助通",
    "ASSISTANCE_APP_EN": "Ningxia Jiuzhutong",
    "ASSISTANCE_APP_URL": "",
    "ASSISTANCE_HOTLINE": "12345",
    # Walking: the pace walking times are given at (km/h; 3 is an older person's, see the README) and how far
    # from every street a point given to /api/v1/route or nearby?by=walk may lie (metres; more is a 422).
    "WALK_SPEED_KMH": 3.0,
    "WALK_MAX_ACCESS_M": 500.0,
    "TIMEZONE": "Asia/Shanghai",  # scans are counted per local day
    "SCAN_FLUSH_SECONDS": 10.0,  # scan counts reach the database in batches at most this old
    # Each worker keeps the finished pages and JSON of the plates scanned most, up to this
    # many MiB (a page is some 7 KiB, a JSON document some 18 KiB; gzip copies add a quarter);
    # 0 keeps none. A worker is some 250 MiB without it.
    "RENDER_CACHE_MB": 32,
    # …and the vector tiles it has made (a dense z15 plate tile is some 50 KiB).
    "TILE_CACHE_MB": 32,
    # …and the search answers it has given (one is some 4 KiB), each good until the registry changes.
    "SEARCH_CACHE_MB": 8,
    # PostGIS streaming replicas for public reads (comma-separated URLs), skipped while they
    # lag further behind the primary than this, asked how far at most this often.
    "DATABASE_REPLICA_URLS": "",
    "REPLICA_MAX_LAG_SECONDS": 5.0,
    "REPLICA_CHECK_SECONDS": 1.0,
    # Plate artwork (`plates print`): the size in mm, ground and text colours, the QR error
    # correction level, the sheet plates are tiled on, and a CJK font file ("" finds one).
    "PLATE_SIZE": "300x200",
    "PLATE_GROUND": "#0B4EA2",
    "PLATE_INK": "#FFFFFF",
    "PLATE_ERROR_CORRECTION": "Q",
    "PRINT_SHEET": "A1",
    "PLATE_FONT": "",
    # Staff sign-in: how long a session lasts, and the longest and default life of an API token.
    "SESSION_HOURS": 8,
    "TOKEN_DAYS": 90,
    "TOKEN_MAX_DAYS": 730,
    # Rate limits per client (see rate_limits.py); RATELIMIT_* are Flask-Limiter's own settings.
    "RATELIMIT_ENABLED": True,
    "SERVER_WORKERS": 1,  # processes serving the app (platesvc serve sets it): in-memory limits are shared out
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_SCANS": "600 per minute",
    "RATELIMIT_REPORTS": "10 per minute;100 per hour",
    "RATELIMIT_OPEN311": "120 per minute",
    "RATELIMIT_SIGN_IN": "10 per minute",  # per address
    "RATELIMIT_SIGN_IN_ACCOUNT": "20 per hour",  # per account, from every address together
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For to believe
    # Request bodies: any request, a resident's photo, and a staff upload of an import file.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "REPORT_PHOTO_MAX_BYTES": 8 * 1024 * 1024,
    "IMPORT_MAX_BYTES": 512 * 1024 * 1024,
    # Where staff jobs keep uploads, progress and reports, and where print batches go
    # ("" is a folder in instance/); both must be shared by every worker.
    "JOBS_DIR": "",
    # The address space a job's runner may take (RLIMIT_AS), in MiB; 0 for no limit. A hostile file fails
    # its job, not the machine. A runner is some 400 MiB of it before it reads anything.
    "JOB_MEMORY_MB": 4096,
    # The job queue: "" is a SQLite file in JOBS_DIR (one machine); redis://… for servers on several.
    "QUEUE_URL": "",
    "PRINT_DIR": "",
    # Logs: "json" lines, "text", or "auto" (text on a terminal, JSON otherwise); one access
    # line a request; Prometheus metrics at /metrics, open to staff tokens and these networks.
    "LOG_FORMAT": "auto",
    "LOG_LEVEL": "",  # "": INFO in the server, WARNING under the `platesvc` command (its own output says it all)
    "ACCESS_LOG": True,
    "METRICS_ENABLED": True,
    "METRICS_NETWORKS": "",  # comma-separated, e.g. 10.0.0.0/8,127.0.0.1/32
    # Open311 GeoReport v2: the jurisdiction it answers for, and who handles reports.
    "OPEN311_JURISDICTION": "yinchuan.gov.cn",
    "OPEN311_AGENCY": "银川市民政局",
}
# Settings a staff job's process needs from the app that starts it (see jobs.py).
PASSED_TO_JOBS = tuple(name for name in DEFAULTS if name != "SECRET_KEY" and not name.startswith("RATELIMIT_")) + (
    "DATABASE_URL",)


def allowed_hosts(config) -> list[str]:
    """The host names a request may name (werkzeug's trusted hosts): the public URL's, loopback's, and those
    configured."""
    configured = [name.strip().lower() for name in str(config["ALLOWED_HOSTS"]).split(",") if name.strip()]
    return [urlsplit(config["PUBLIC_URL"]).hostname or "localhost", "localhost", "127.0.0.1", "::1", *configured]


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def host_port_allowed(host: str, config) -> bool:
    """Whether a request's `host:port` (its name already one of allowed_hosts) may be written into links: a host
    without a port, loopback on any port (a developer's or a probe's), the public URL's host on its port, or a
    `name:port` listed in ALLOWED_HOSTS. werkzeug checks only the name, so `plates.example:6666` had passed."""
    name, colon, port = host.lower().rpartition(":")
    if not colon or not port.isdigit() or name.endswith(":"):  # no port (a bare IPv6 address has colons too)
        return True
    if name in LOOPBACK_NAMES:
        return True
    public = urlsplit(config["PUBLIC_URL"])
    public_port = public.port or (443 if public.scheme == "https" else 80)
    if name == (public.hostname or "") and int(port) == public_port:
        return True
    configured = {entry.strip().lower() for entry in str(config["ALLOWED_HOSTS"]).split(",")}
    return f"{name}:{int(port)}" in configured


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "platesvc.sqlite3")


def instance_secret_key(instance_path: str) -> str:
    """The key in instance/secret_key, made (readable by this user only) by the first process to ask."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        os.makedirs(instance_path, exist_ok=True)
        draft = path.with_name(f".secret_key.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_hex(32))
        try:
            os.link(draft, path)  # whole or not at all; the first worker's key wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def settings_from_environment(environ=os.environ) -> dict:
    """PLATESVC_DATABASE_URL → DATABASE_URL, and so on, typed like the default (JSON for lists)."""
    settings = {}
    for key, text in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key.removeprefix(ENV_PREFIX)
        settings[name] = _typed(name, text, DEFAULTS.get(name))
    return settings


def environment_for(config) -> dict[str, str]:
    """The PLATESVC_* variables that give another process these settings (secrets left out)."""
    environment = {}
    for name in PASSED_TO_JOBS:
        value = config.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, list | dict):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
        environment[ENV_PREFIX + name] = text
    return environment


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
