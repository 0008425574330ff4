import pytest
from hypothesis import given
from hypothesis import strategies as st

from platesvc.errors import InvalidPlateIdError, PlatesvcError
from platesvc.registry.plate_ids import (
    ALPHABET,
    ID_LENGTH,
    MAX_SERIAL,
    QR_ALPHANUMERIC,
    PlateId,
    check_public_url,
    is_issuable,
    next_issuable_serials,
    one_character_away,
    parse_plate_id,
    plate_url,
)

prefixes = st.text(alphabet="0123456789", min_size=6, max_size=6)
serials = st.integers(min_value=0, max_value=MAX_SERIAL)


@st.composite
def issuable_ids(draw) -> PlateId:
    prefix = draw(prefixes)
    serial = draw(serials.filter(lambda s: is_issuable(prefix, s)))
    return PlateId(prefix, serial)


@given(issuable_ids())
def test_canonical_form_parses_back(plate_id):
    text = plate_id.canonical
    assert len(text) == ID_LENGTH
    assert set(text) <= set(ALPHABET)
    assert parse_plate_id(text) == plate_id
    assert parse_plate_id(plate_id.display) == plate_id


@given(issuable_ids())
def test_every_single_substitution_is_rejected(plate_id):
    text = plate_id.canonical
    for position, original in enumerate(text):
        for replacement in ALPHABET:
            if replacement != original:
                typo = text[:position] + replacement + text[position + 1:]
                with pytest.raises(InvalidPlateIdError):
                    parse_plate_id(typo)


@given(issuable_ids())
def test_every_adjacent_transposition_is_rejected(plate_id):
    text = plate_id.canonical
    for position in range(len(text) - 1):
        a, b = text[position], text[position + 1]
        if a != b:
            with pytest.raises(InvalidPlateIdError):
                parse_plate_id(text[:position] + b + a + text[position + 2:])


@given(issuable_ids(), st.lists(st.booleans(), min_size=ID_LENGTH, max_size=ID_LENGTH))
def test_input_is_case_insensitive_and_forgives_o_i_l(plate_id, lower):
    text = "".join(c.lower() if flag else c for c, flag in zip(plate_id.canonical, lower))
    misread = text.replace("0", "O").replace("1", "I" if lower[0] else "l")
    assert parse_plate_id(misread) == plate_id
    assert parse_plate_id(f" {plate_id.display.lower()} ") == plate_id


def test_display_groups_the_id():
    plate_id = parse_plate_id("6401040A3KXD")
    assert plate_id.display == "640104-0A3KX-D"
    assert str(plate_id) == plate_id.canonical == "6401040A3KXD"


@pytest.mark.parametrize("prefix, serial", [("64010", 4), ("64010A", 4), ("640104", 0), ("640104", -1)])
def test_plate_id_refuses_what_cannot_be_issued(prefix, serial):
    with pytest.raises(ValueError):
        PlateId(prefix, serial)


@pytest.mark.parametrize("text, message", [
    ("", "12 characters"),
    ("640104-0A3KX", "12 characters"),
    ("64O1A4-0A3KX-7", "6-digit code"),
    ("640104-0A3KU-7", "cannot contain U"),
    ("640104-0A3K*-7", "cannot contain"),
])
def test_malformed_ids_say_what_is_wrong(text, message):
    with pytest.raises(InvalidPlateIdError, match=message):
        parse_plate_id(text)


def test_serials_needing_an_extra_check_symbol_are_skipped():
    serials, after = next_issuable_serials("640104", 0, 200)
    assert len(serials) == 200 == len(set(serials))
    assert all(is_issuable("640104", s) for s in serials)
    skipped = [s for s in range(after) if s not in serials]
    assert skipped and not any(is_issuable("640104", s) for s in skipped)
    assert after == serials[-1] + 1


def test_a_full_series_is_refused():
    with pytest.raises(ValueError, match="run out"):
        next_issuable_serials("640104", MAX_SERIAL - 3, 10)


@st.composite
def slips(draw) -> tuple[PlateId, str]:
    """A valid ID and one slip of a finger on it: a wrong, swapped, missing or extra character."""
    plate_id = draw(issuable_ids())
    text = plate_id.canonical
    position = draw(st.integers(min_value=0, max_value=ID_LENGTH - 2))
    symbol = draw(st.sampled_from(ALPHABET))
    kind = draw(st.sampled_from(["wrong", "swapped", "missing", "extra"]))
    slipped = {
        "wrong": text[:position] + symbol + text[position + 1:],
        "swapped": text[:position] + text[position + 1] + text[position] + text[position + 2:],
        "missing": text[:position] + text[position + 1:],
        "extra": text[:position] + symbol + text[position:],
    }[kind]
    return plate_id, slipped


@given(slips())
def test_the_intended_id_is_among_those_one_slip_away(case):
    plate_id, slipped = case
    candidates = one_character_away(slipped)
    if slipped != plate_id.canonical:
        assert plate_id.canonical in candidates
    assert all(parse_plate_id(candidate).canonical == candidate for candidate in candidates)
    assert slipped not in candidates


def test_the_plate_url_is_upper_case_so_the_code_stays_alphanumeric():
    assert plate_url("https://plates.example/", "64010400C1SM") == "HTTPS://PLATES.EXAMPLE/P/64010400C1SM"
    assert set(plate_url("http://localhost:8000", "64010400C1SM")) <= QR_ALPHANUMERIC


@pytest.mark.parametrize(("public_url", "message"), [
    ("plates.example", "must be http"),
    ("ftp://plates.example", "must be http"),
    ("https://plates.example/door", "only scheme and host"),
    ("https://plates.example/?a=1", "only scheme and host"),
    ("https://plates_example.cn", "cannot hold"),
])
def test_a_public_url_that_cannot_make_plate_urls_is_refused(public_url, message):
    with pytest.raises(PlatesvcError, match=message):
        check_public_url(public_url)
    check_public_url("https://mp.yinchuan.gov.cn")
