"""Search and reverse geocoding over the search entries.

A query is spelled as entries are (gis/spelling.py) and becomes a condition on the entries' Pinyin
and initials: every token's key must be in one of them (a Chinese token by its Pinyin, so a homophone
meets the same key). The store's text index answers it: FTS5's trigram index on SQLite, pg_trgm's
GIN on PostGIS; both read it as substrings, so both find the same candidates, at most CANDIDATES of
them, in building order. When nothing is found, each token is loosened (a syllable or a third of the
letters may be wrong; a division may be left out) and the index asked once more. The candidates are
ranked here, in Python, by how well each token matches (whole Chinese word, part of one, homophone,
Pinyin, initials, a slip), so both backends rank alike. A plate ID in any spelling, one character
off or its beginning, finds its plates directly.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extractOne
from sqlalchemy import and_, false, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gis.nearest import bbox_around, geodesic_distance
from gis.spelling import (
    Token,
    initials_of_typed,
    is_division,
    place_words,
    readings,
    tokens,
    typed_in_pieces,
    without_generic,
)
from platesvc.registry.addresses import format_address
from platesvc.registry.plate_ids import ID_LENGTH, PREFIX_LENGTH, normalize, one_character_away, plate_url
from platesvc.store.models import Building, SearchEntry
from platesvc.store.spatial import spatial_store

LEVELS = ("as typed", "mixed initials", "loose")
MAX_QUERY = 200  # characters: longer than any address, shorter than a pasted page
CANDIDATES = 100  # entries ranked for one query, at most
MAX_TOKENS = 8  # tokens of a query that count; the rest are ignored
MIN_KEY = 3  # the trigram indexes find nothing shorter
MIN_SCORE = 0.5  # below this a candidate is not an answer
NEAR_WEIGHT = 0.05  # how much `near` may move a score, at NEAR_METRES and beyond
NEAR_METRES = 20_000
REVERSE_STEPS = (25, 100, 400)  # metres: growing boxes, until enough plates are inside the radius
MAX_REVERSE_RADIUS_M = 1000  # a box this size holds a few thousand plates in the densest core
_PLATE_LIKE = re.compile(rf"[0-9]{{{PREFIX_LENGTH}}}[0-9A-Z]{{1,{ID_LENGTH - PREFIX_LENGTH + 1}}}")


@dataclass(frozen=True)
class Found:
    """A plate found, with its entry and how well it matched (or how far it is)."""

    entry: SearchEntry  # or a row of its table
    score: float
    distance_m: float | None = None

    def feature(self, config: Mapping) -> dict:
        """The plate as a GeoJSON Feature, its id the canonical plate ID."""
        entry = self.entry
        full, short = format_address(config, entry.district, entry.subdistrict, entry.community, entry.road,
                                     entry.number, entry.name)
        properties = {"address": full, "short": short, "district": entry.district,
                      "subdistrict": entry.subdistrict, "community": entry.community, "road": entry.road,
                      "road_pinyin": entry.road_pinyin, "number": entry.number, "name": entry.name,
                      "url": plate_url(config["PUBLIC_URL"], entry.plate_id), "score": self.score}
        if self.distance_m is not None:
            properties["distance_m"] = round(self.distance_m, 1)
        return {"type": "Feature", "id": entry.plate_id,
                "geometry": {"type": "Point", "coordinates": [round(entry.longitude, 7), round(entry.latitude, 7)]},
                "properties": properties}


def feature_collection(engine: Engine, config: Mapping, find: Callable[[Session], list[Found]], limit: int) -> dict:
    """What `find` finds in a session of its own on `engine`, as a GeoJSON FeatureCollection."""
    with Session(engine) as session:
        features = [item.feature(config) for item in find(session)]
    return {"type": "FeatureCollection", "numberReturned": len(features), "limit": limit, "features": features}


# Conditions on the entries, as trees: ("key", text), ("number", text), ("and", [...]), ("or", [...]). A number's
# key is the same in the Pinyin and the initials (both write numbers as they are).
Condition = tuple


def search_plates(session: Session, config: Mapping, query: str, limit: int,
                  near: tuple[float, float] | None = None) -> list[Found]:
    """The plates best matching `query` (characters, Pinyin, initials, a plate ID), best first."""
    found = {item.entry.plate_id: item for item in _by_plate_id(session, query)}
    words = _words(config, query)
    asked = set()
    for level in LEVELS if words else ():  # each only when the one before found nothing good enough
        condition = _condition(words, level)
        if not condition or condition in asked:
            continue
        asked.add(condition)
        scored = [(entry, _score(words, entry)) for entry in _candidates(session, condition)]
        for entry, score in scored:
            if score >= MIN_SCORE and score > getattr(found.get(entry.plate_id), "score", 0):
                found[entry.plate_id] = Found(entry, score)
        if any(score >= MIN_SCORE for _, score in scored):
            break
    ranked = list(found.values())
    distances = _distances(ranked, near) if near else [0.0] * len(ranked)
    order = sorted(range(len(ranked)), key=lambda i: (
        -round(ranked[i].score - NEAR_WEIGHT * min(distances[i], NEAR_METRES) / NEAR_METRES, 4),
        distances[i], ranked[i].entry.plate_id))
    return [ranked[i] for i in order[:limit]]


def only_exact(found: list[Found]) -> Found | None:
    """The one plate matched exactly (its ID, or every word whole and the door number itself), if just one was."""
    exact = [item for item in found if item.score >= 1.0]
    return exact[0] if len(exact) == 1 else None


def reverse_plates(session: Session, config: Mapping, lon: float, lat: float, radius: float,
                   limit: int) -> list[Found]:
    """The standing plates nearest a point, within `radius` metres, nearest first."""
    store = spatial_store(session)
    query = _ENTRIES.join(Building, Building.id == SearchEntry.building_id)
    for metres in [step for step in REVERSE_STEPS if step < radius] + [radius]:
        entries = session.execute(store.within(query, Building, "point", bbox_around(lon, lat, metres))).all()
        if not entries:
            continue
        distances = geodesic_distance(np.full(len(entries), lon), np.full(len(entries), lat),
                                      np.array([e.longitude for e in entries]), np.array([e.latitude for e in entries]))
        inside = [(float(d), e.plate_id, e) for d, e in zip(distances, entries, strict=True) if d <= metres]
        if len(inside) >= limit or metres == radius:
            return [Found(entry, 1.0, d) for d, _, entry in sorted(inside, key=lambda item: item[:2])[:limit]]
    return []


@cache
def _place_words(province: str, city: str) -> frozenset[str]:
    return place_words(province, city)


def _words(config: Mapping, query: str) -> list[Token]:
    return tokens(query, _place_words(config["PROVINCE"], config["CITY"]))[:MAX_TOKENS]


def _by_plate_id(session: Session, query: str) -> list[Found]:
    """Plates a query names by ID: exactly (1.1), by its beginning (0.95) or one character off (0.9)."""
    typed = normalize(query)
    if not _PLATE_LIKE.fullmatch(typed):
        return []
    found = {}
    if len(typed) < ID_LENGTH:  # being typed: the first plates it begins
        for entry in session.execute(_ENTRIES.where(
                SearchEntry.plate_id >= typed, SearchEntry.plate_id <= typed + "Z" * (ID_LENGTH - len(typed)))
                .order_by(SearchEntry.plate_id).limit(CANDIDATES)):
            found[entry.plate_id] = Found(entry, 0.95)
    near_misses = one_character_away(typed)
    for entry in session.execute(_ENTRIES.where(SearchEntry.plate_id.in_([typed, *near_misses]))):
        found[entry.plate_id] = Found(entry, 1.1 if entry.plate_id == typed else 0.9)
    return list(found.values())


def _keys(token: Token, level: str) -> Condition | None:
    """What an entry must hold for `token` at a level of looseness: None when the index cannot ask it (too short).

    As typed: its text (a Chinese token its Pinyin, without the generic part of a road name). Mixed initials:
    letters may also be initials and whole syllables mixed (hblu). Loose: one syllable or a third of the letters
    may be wrong (what is left on either side of a syllable, anchored at the word's ends)."""
    loose = level == "loose"
    if token.kind == "num":
        return ("number", " " + token.text) if len(token.text) + 1 >= MIN_KEY else None
    if token.kind == "zh":
        stem = without_generic(token.text)
        strict = "".join(token.syllables[:len(stem)])
        choices = [("key", strict)] if len(strict) >= MIN_KEY else []
        if loose:  # one syllable wrong: what is left on either side of it, in each way it may be read
            last = len(token.syllables) - 1
            for sounds in readings(token.text):
                for i in range(len(sounds)):
                    left = " " + "".join(sounds[:i]) if i > 0 else ""
                    right = "".join(sounds[i + 1:]) + " " if i < last else ""
                    pieces = [("key", piece) for piece in (left, right) if len(piece) >= MIN_KEY]
                    if pieces:
                        choices.append(("and", tuple(pieces)) if len(pieces) > 1 else pieces[0])
        return _any(choices)
    choices = [("key", token.text)] if len(token.text) >= MIN_KEY else []
    if level == "mixed initials":
        choices += [("key", initials) for initials in initials_of_typed(token.text, 4) if len(initials) >= MIN_KEY]
    if loose and len(token.text) >= 2 * MIN_KEY:  # one letter wrong: two thirds, or one half, are right
        size = len(token.text)
        if size >= 3 * MIN_KEY:
            a, b, c = token.text[:size // 3], token.text[size // 3:2 * size // 3], token.text[2 * size // 3:]
            choices += [("and", (("key", a), ("key", b))), ("and", (("key", b), ("key", c))),
                        ("and", (("key", a), ("key", c)))]
        else:
            choices += [("key", token.text[:size // 2]), ("key", token.text[size // 2:])]
    return _any(choices)


def _any(choices: list) -> Condition | None:
    unique = list(dict.fromkeys(choices))
    return None if not unique else unique[0] if len(unique) == 1 else ("or", tuple(unique))


def _condition(words: list[Token], level: str) -> Condition | None:
    """Every token's keys, together; loosely, a division may be left out."""
    loose = level == "loose"
    parts = [_keys(token, level) for token in words
             if not (loose and token.kind == "zh" and is_division(token.text) and len(words) > 1)]
    parts = list(dict.fromkeys(part for part in parts if part))
    return None if not parts else parts[0] if len(parts) == 1 else ("and", tuple(parts))


_ENTRIES = select(SearchEntry.__table__)  # rows, not ORM objects: a query reads up to CANDIDATES of them
_FTS_IDS = text("SELECT rowid FROM search_fts WHERE search_fts MATCH :match ORDER BY rowid LIMIT :most")


def _candidates(session: Session, condition: Condition) -> list:
    """At most CANDIDATES entries meeting the condition, the first by building id."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(_ENTRIES.where(_sql(condition)).order_by(SearchEntry.building_id)
                               .limit(CANDIDATES)).all()
    return session.execute(_ENTRIES.where(SearchEntry.building_id.in_(_FTS_IDS)).order_by(SearchEntry.building_id),
                           {"match": _fts(condition), "most": CANDIDATES}).all()


def _fts(condition: Condition) -> str:
    """The condition as an FTS5 query: each key a quoted string (keys hold only letters, digits, - and space)."""
    kind, value = condition
    if kind in ("key", "number"):
        return f'"{value}"'
    return "(" + f" {kind.upper()} ".join(_fts(part) for part in value) + ")"


def _sql(condition: Condition):
    """The condition as SQL, substrings of the Pinyin or the initials (LIKE, which pg_trgm's GIN index answers)."""
    kind, value = condition
    if kind == "number":  # in the Pinyin alone, so the GIN index answers it together with the words' keys there
        return SearchEntry.py.like(f"%{value}%")
    if kind == "key":
        pattern = f"%{value}%"  # keys hold no % or _
        return or_(SearchEntry.py.like(pattern), SearchEntry.ini.like(pattern))
    parts = [_sql(part) for part in value]
    return and_(*parts) if kind == "and" else or_(*parts) if parts else false()


def _distances(found: list[Found], near: tuple[float, float]) -> list[float]:
    if not found:
        return []
    lon, lat = near
    return geodesic_distance(np.full(len(found), lon), np.full(len(found), lat),
                             np.array([item.entry.longitude for item in found]),
                             np.array([item.entry.latitude for item in found])).tolist()


# Ranking: each token's match is a quality from 0 to 1, weighted by its length.

def _weight(token: Token) -> float:
    if token.kind == "num":
        return 2.0
    return float(len(token.text)) if token.kind == "zh" else max(1.0, len(token.text) / 3)  # letters: ~syllables


def _score(words: list[Token], entry: SearchEntry) -> float:
    """How well the entry matches the query, 0 to 1 (and a little more for an exact door number)."""
    zh_tokens, py_tokens = entry.zh.split(), entry.py.split()
    total = weights = 0.0
    i = 0
    while i < len(words):
        token = words[i]
        if token.kind == "latin":  # Pinyin typed with spaces anywhere: the run of letter tokens as one, or each
            j = i
            while j < len(words) and words[j].kind == "latin":
                j += 1
            run = words[i:j]
            weight = sum(_weight(t) for t in run)
            alone = sum(_weight(t) * _latin(t.text, entry, py_tokens) for t in run) / weight
            alone *= 0.95 if len(run) > 1 else 1.0  # letters apart matching words apart: less sure than together
            together = _latin("".join(t.text for t in run), entry, py_tokens) if len(run) > 1 else 0.0
            total, weights, i = total + weight * max(alone, together), weights + weight, j
            continue
        weight = _weight(token)
        quality = _chinese(token, entry, zh_tokens, py_tokens) if token.kind == "zh" else _number(token, entry,
                                                                                                   zh_tokens)
        total, weights, i = total + weight * quality, weights + weight, i + 1
    score = total / weights if weights else 0.0
    if any(token.kind == "num" and token.text == entry.number for token in words):
        score += 0.02  # the door number itself, not a number in a name
    return round(score, 4)


def _chinese(token: Token, entry: SearchEntry, zh_tokens: list[str], py_tokens: list[str]) -> float:
    word = token.text
    if f" {word} " in entry.zh:
        return 1.0
    if entry.road and word == without_generic(entry.road):
        return 0.97  # the road, its generic part left out (上海 for 上海路)
    if word in entry.zh:
        return 0.93  # part of a word
    stem = without_generic(word)
    if stem != word and stem in entry.zh:
        return 0.9  # 上海路 for 上海西路
    if token.pinyin in entry.py:
        return 0.85  # a homophone
    # A slip: mostly how close the characters are (a wrong one costs less than one missing or extra), a little
    # how close they sound.
    similar = 0.7 * _similarity(word, zh_tokens, _SUBSTITUTION_CHEAPER) + 0.3 * _similarity(token.pinyin, py_tokens)
    return 0.75 * similar if similar >= 0.6 else 0.0


def _latin(typed: str, entry: SearchEntry, py_tokens: list[str]) -> float:
    if " " + typed in entry.py:
        return 1.0
    if typed in entry.py:
        return 0.9
    if " " + typed in entry.ini:
        return 0.85
    if typed in entry.ini:
        return 0.8
    if any(_typed_in(typed, syllables) for syllables in entry.syllables.split("|")
           if f" {typed[:1]}" in f" {syllables}"):
        return 0.8  # initials and syllables mixed: shlu
    similar = _similarity(typed, py_tokens)
    return 0.7 * similar if similar >= 0.75 else 0.0


def _number(token: Token, entry: SearchEntry, zh_tokens: list[str]) -> float:
    number = token.text
    if number == entry.number:
        return 1.0
    if number in zh_tokens:
        return 0.95  # a number in a name: 凤凰花园14号楼
    if (entry.number or "").startswith(number):
        return 0.8  # still being typed
    return 0.0


@lru_cache(maxsize=16_384)  # candidates share their district, subdistrict, community and road
def _typed_in(typed: str, syllables: str) -> bool:
    return typed_in_pieces(typed, syllables.split())


_SUBSTITUTION_CHEAPER = (2, 2, 1)  # insertion, deletion, substitution


def _similarity(typed: str, words: list[str], weights: tuple[int, int, int] = (1, 1, 1)) -> float:
    """The closest word's similarity to `typed` by edits, 0 to 1."""
    best = extractOne(typed, words, scorer=Levenshtein.normalized_similarity, scorer_kwargs={"weights": weights})
    return best[1] if best else 0.0
