"""The render cache: a byte budget spent on the most recently used bodies, emptied by a new basis."""

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
