"""The query set search is measured by (the tests and bench/search.py): for a sample of plates, the spellings
people use, each with the plate it must find first, and queries that must find nothing.

Made from the entries themselves, deterministically: the same city gives the same set on every backend.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.spelling import syllables, without_generic
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.search.engine import search_plates
from platesvc.store.models import SearchEntry

KINDS = ("chinese", "any_order", "no_generic", "pinyin", "pinyin_joined", "initials", "mixed", "homophone",
         "wrong_character", "traditional", "full_width", "name", "community", "plate_id", "plate_id_slip")
# Queries that must find nothing: no such road, noise, and the syntax of SQL and FTS5.
NOTHING = ("火星路 999", "北极熊大街 12", "qwxz 123", "zzzzzz", "😀", '"', "*", "NEAR(", "'", "' OR 1=1 --",
           '"上海" NEAR(*', "🏠🏠🏠 8888")
# An ID one character off stands for every plate that slip could have come from: right when the plate is among
# the candidates offered (in a large city a swap is often also one wrong character away from another plate).
AMONG_CANDIDATES = ("plate_id_slip",)
_WRONG = "鹅鸭熊鹿猫狗蛙"  # characters no demo road is named with


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    plate_id: str | None  # None: must find nothing


def sample_entries(session: Session, count: int, seed: int = 24) -> list[SearchEntry]:
    """`count` entries with a road and a number, chosen at random (the same ones for the same city)."""
    ids = session.scalars(select(SearchEntry.building_id).where(SearchEntry.road.is_not(None),
                                                                  SearchEntry.number.is_not(None))
                          .order_by(SearchEntry.building_id)).all()
    chosen = sorted(random.Random(seed).sample(ids, min(count, len(ids))))
    return session.scalars(select(SearchEntry).where(SearchEntry.building_id.in_(chosen))
                           .order_by(SearchEntry.building_id)).all()


def named_entries(session: Session, count: int, seed: int = 24) -> list[SearchEntry]:
    """`count` entries of buildings with a name whose name no other entry has."""
    unique = (select(SearchEntry.name).where(SearchEntry.name.is_not(None)).group_by(SearchEntry.name)
              .having(func.count() == 1))
    entries = session.scalars(select(SearchEntry).where(SearchEntry.name.in_(unique))
                              .order_by(SearchEntry.building_id)).all()
    return sorted(random.Random(seed).sample(entries, min(count, len(entries))), key=lambda e: e.building_id)


def make_queries(entries: list[SearchEntry], named: list[SearchEntry]) -> list[Query]:
    """Every spelling of each sampled entry, the named entries by name, and the queries that find nothing."""
    queries = [query for entry in entries for query in _spellings(entry)]
    queries += [Query("name", entry.name, entry.plate_id) for entry in named]
    return queries + [Query("nothing", text, None) for text in NOTHING]


def _spellings(entry: SearchEntry) -> Iterator[Query]:
    road, number, plate = entry.road, entry.number, entry.plate_id
    road_syllables = syllables(road)
    stem = without_generic(road)
    yield Query("chinese", f"{road}{number}号", plate)
    yield Query("any_order", f"{number} {road} {entry.district}", plate)
    yield Query("no_generic", f"{entry.district}{stem}{number}", plate)
    pinyin = (entry.road_pinyin or " ".join(road_syllables)).lower()
    yield Query("pinyin", f"{pinyin} {number}", plate)
    yield Query("pinyin_joined", f"{pinyin.replace(' ', '').replace(chr(39), '')}{number}", plate)
    yield Query("initials", "".join(s[0] for s in road_syllables) + f" {number}", plate)
    yield Query("mixed", "".join(s[0] for s in road_syllables[:-1]) + road_syllables[-1] + number, plate)
    position = len(stem) - 1  # the last character of the road's own name, not its generic part
    yield Query("homophone", road[:position] + _homophone(road[position]) + road[position + 1:] + number, plate)
    wrong = next(c for c in _WRONG if c not in road)
    yield Query("wrong_character", road[:position] + wrong + road[position + 1:] + f" {number}", plate)
    yield Query("traditional", _traditional(f"{entry.district}{road}{number}號"), plate)
    yield Query("full_width", road + _full_width(number) + "号", plate)
    if entry.community:
        yield Query("community", f"{entry.community} {road} {number}", plate)
    display = parse_plate_id(plate).display
    yield Query("plate_id", display.lower(), plate)
    slipped = plate[:8] + plate[9] + plate[8] + plate[10:]  # two neighbours swapped
    yield Query("plate_id_slip", slipped if slipped != plate else plate[:-1], plate)


@cache
def _homophones() -> dict[str, list[str]]:
    import pypinyin
    by_sound: dict[str, list[str]] = {}
    for code in range(0x4E00, 0x9FA6):
        char = chr(code)
        readings = pypinyin.pinyin(char, style=pypinyin.Style.NORMAL, heteronym=True)[0]
        if len(readings) == 1:
            by_sound.setdefault(readings[0], []).append(char)
    return by_sound


def _homophone(char: str) -> str:
    """Another character read the same (上海路 → 上海陆), or the character itself if none."""
    sound = syllables(char)[0]
    return next((other for other in _homophones().get(sound, []) if other != char), char)


@cache
def _to_traditional():
    from opencc import OpenCC
    return OpenCC("s2t").convert


def _traditional(text: str) -> str:
    return _to_traditional()(text)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def answer(session: Session, config, query: Query) -> list[str]:
    """The plate IDs search gives for a query, best first."""
    return [found.entry.plate_id for found in search_plates(session, config, query.text, 5)]


def hit(query: Query, plates: list[str]) -> bool:
    """Whether the answer is right: the plate first (or among the candidates, for a slipped ID), or nothing when
    nothing must be found."""
    if query.plate_id is None:
        return not plates
    return query.plate_id in plates if query.kind in AMONG_CANDIDATES else plates[:1] == [query.plate_id]


def accuracy(results: dict[str, list[bool]]) -> dict[str, float]:
    """Top-1 accuracy by kind, from each query's hit or miss."""
    return {kind: sum(hits) / len(hits) for kind, hits in results.items() if hits}

