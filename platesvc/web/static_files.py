"""Static files (scripts, styles, MapLibre GL JS) fingerprinted, precompressed and cached for good.

`python -m platesvc.web.static_files` (run by `make install`) copies every file under static/ to
a name with its MD5 in it (`map-<md5>.js`), beside gzip and brotli copies of each, and writes
`cache_manifest.json`: Flask-Static-Digest's compile step. Pages name files through its
`static_url_for`, so a page names the fingerprinted file whenever the manifest holds it, and
a changed file gets a new name. WhiteNoise serves the files, before Flask: the brotli or gzip
copy to a client that takes it, and a fingerprinted file with `Cache-Control: public,
max-age=315360000, immutable`, so a repeat visit asks for none of them again. A file without a
fingerprint (a name a client kept from before, the glyph ranges' own folder) is served as it
is, fresh for a minute.
"""

import re
from pathlib import Path

from flask import Flask
from flask_static_digest import FlaskStaticDigest, digester
from whitenoise import WhiteNoise

STATIC = Path(__file__).resolve().parents[2] / "static"
FINGERPRINTED = re.compile(digester.DIGESTED_FILE_REGEX + r"\.[A-Za-z0-9]+$")
# The glyph ranges have URLs a style names by template ({fontstack}/{range}): no fingerprint can
# be in them, and tiles.py serves them with their own validators.
NOT_DIGESTED = [".pbf"]
UNFINGERPRINTED_MAX_AGE = 60


def init_app(app: Flask) -> None:
    """Give templates `static_url_for` and serve static/ through WhiteNoise (inside `app.wsgi_app`)."""
    app.config.setdefault("FLASK_STATIC_DIGEST_COMPRESSION", ["gzip", "brotli"])
    app.config.setdefault("FLASK_STATIC_DIGEST_BLACKLIST_FILTER", NOT_DIGESTED)
    FlaskStaticDigest(app)
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=app.static_folder, prefix=app.static_url_path,
                              max_age=UNFINGERPRINTED_MAX_AGE, immutable_file_test=_fingerprinted,
                              mimetypes={".mjs": "text/javascript", ".pbf": "application/x-protobuf"})


def _fingerprinted(path: str, url: str) -> bool:
    return bool(FINGERPRINTED.search(url))


def build(folder: Path = STATIC) -> None:
    """Fingerprint and compress every file under `folder` afresh (the copies of older versions go)."""
    source = f"{folder}/"
    digester.clean(source, NOT_DIGESTED, True, True)
    digester.compile(source, source, NOT_DIGESTED, True, True)


if __name__ == "__main__":
    build()
