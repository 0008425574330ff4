"""The render cache: a byte budget spent on the most recently used bodies, emptied by a new basis;
and what a client that takes gzip is given."""

import gzip
import re

import brotli
import pytest
from sqlalchemy import select

from platesvc.store.database import db
from platesvc.store.models import Plate
from platesvc.web.caching import RenderCache, tagged


def _renderer(body: str, calls: list):
    def render():
        calls.append(body)
        return body
    return render


def test_a_body_is_rendered_once_while_it_fits_and_its_basis_holds():
    cache, calls, basis = RenderCache(max_bytes=10), [], object()
    assert cache.get(basis, "a", _renderer("aaaa", calls)) == tagged("aaaa")
    assert cache.get(basis, "a", _renderer("aaaa", calls)) == tagged("aaaa")
    assert calls == ["aaaa"]


def test_the_least_recently_used_go_first_when_the_budget_is_spent():
    cache, calls, basis = RenderCache(max_bytes=10), [], object()
    for key in "abc":
        cache.get(basis, key, _renderer(key * 4, calls))  # 12 bytes: "a" goes
    cache.get(basis, "b", _renderer("bbbb", calls))
    cache.get(basis, "a", _renderer("aaaa", calls))  # again; now "c" is the least recent
    cache.get(basis, "b", _renderer("bbbb", calls))
    cache.get(basis, "c", _renderer("cccc", calls))
    assert calls == ["aaaa", "bbbb", "cccc", "aaaa", "cccc"]


def test_a_new_basis_empties_it_and_an_oversized_body_is_not_kept():
    cache, calls, old, new = RenderCache(max_bytes=10), [], object(), object()
    cache.get(old, "a", _renderer("aaaa", calls))
    cache.get(new, "a", _renderer("AAAA", calls))
    assert cache.get(new, "a", _renderer("AAAA", calls)).body == b"AAAA"
    cache.get(new, "big", _renderer("x" * 11, calls))
    cache.get(new, "big", _renderer("x" * 11, calls))
    assert calls == ["aaaa", "AAAA", "x" * 11, "x" * 11]


@pytest.mark.parametrize("path", ["/P/{}", "/api/v1/plates/{}"])
def test_a_client_that_takes_gzip_gets_the_same_body_compressed_with_its_own_validator(issued_app, client, path):
    url = path.format(db.session.scalars(select(Plate.id).order_by(Plate.id)).first())
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 2
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    # A validator names one encoding: the plain one does not stand for the gzipped body, nor the other way.
    gzip_asked = {"Accept-Encoding": "gzip", "If-None-Match": plain.headers["ETag"]}
    assert client.get(url, headers=gzip_asked).status_code == 200
    assert client.get(url, headers={"If-None-Match": packed.headers["ETag"]}).status_code == 200
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database in it
@pytest.mark.parametrize("path", ["/static/map.js", "/static/plate.css"])
def test_static_assets_go_gzipped_to_a_client_that_takes_it_and_revalidate(client, path):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database in it
def test_pages_name_fingerprinted_static_files_that_are_cached_for_good_and_sent_compressed(issued_app, client):
    from platesvc.web import static_files
    manifest = static_files.STATIC / "cache_manifest.json"
    if not manifest.exists():
        pytest.skip("static files are not fingerprinted yet (make install)")
    html = client.get("/map").text
    named = re.findall(r'(?:href|src|data-library|data-worker)="(/static/[^"]+)"', html)
    assert {name.rsplit("/", 1)[1].split("-")[0] for name in named} >= {"maplibre", "map"}
    for url in named:
        assert static_files.FINGERPRINTED.search(url), url
        for encoding in ("br", "gzip"):
            answer = client.get(url, headers={"Accept-Encoding": encoding})
            assert answer.status_code == 200 and answer.headers["Content-Encoding"] == encoding, url
            assert answer.headers["Cache-Control"] == "max-age=315360000, public, immutable"
            assert "Accept-Encoding" in answer.headers["Vary"]
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
    library = next(url for url in named if url.endswith(".mjs") and "worker" not in url)
    plain = client.get(library).data
    assert brotli.decompress(client.get(library, headers={"Accept-Encoding": "br"}).data) == plain
    assert len(client.get(library, headers={"Accept-Encoding": "br"}).data) < len(plain) / 3
    # A name without a fingerprint still works, but is fresh for a minute only.
    assert client.get("/static/map.js").headers["Cache-Control"] == "max-age=60, public"
