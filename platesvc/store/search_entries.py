"""Search entries, one for each plate whose building stands, kept in step with the registry: every
change that moves an address (issuing plates, importing buildings, roads or divisions, retiring a
building) calls `refresh_entries` for the buildings it touched, in its own transaction. On SQLite
triggers carry each entry into the FTS5 table; on PostGIS the GIN indexes follow the table. Nothing
here commits.
"""

from collections.abc import Collection, Iterator

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from gis.spelling import entry_keys
from platesvc.store.bulk_writes import chunks, insert_rows
from platesvc.store.models import (
    Building,
    BuildingStatus,
    Division,
    DivisionLevel,
    Plate,
    PlateStatus,
    Road,
    SearchEntry,
)

ENTRY_CHUNK_ROWS = 20_000
_COMMUNITY, _SUBDISTRICT, _DISTRICT = aliased(Division), aliased(Division), aliased(Division)
_SOURCE = (
    select(Building.id, Plate.id.label("plate_id"), Building.number, Building.name, Building.point,
           Road.name.label("road"), Road.pinyin.label("road_pinyin"), _COMMUNITY.name.label("community"),
           _SUBDISTRICT.name.label("subdistrict"), _DISTRICT.name.label("district"))
    .join(Plate, Plate.building_id == Building.id)
    .outerjoin(Road, Road.id == Building.road_id)
    .outerjoin(_COMMUNITY, _COMMUNITY.id == Building.community_id)
    .outerjoin(_SUBDISTRICT, _SUBDISTRICT.id == _COMMUNITY.parent_id)
    .outerjoin(_DISTRICT, (_DISTRICT.code == Building.division_code) & (_DISTRICT.level == DivisionLevel.DISTRICT))
    .where(Building.status == BuildingStatus.ACTIVE, Plate.status != PlateStatus.RETIRED)
)


def entry_row(row) -> dict:
    """A search entry from a building's address parts and its plate."""
    keys = entry_keys([row.district, row.subdistrict, row.community, row.road, row.number, row.name])
    return {"building_id": row.id, "plate_id": row.plate_id, "district": row.district,
            "subdistrict": row.subdistrict, "community": row.community, "road": row.road,
            "road_pinyin": row.road_pinyin, "number": row.number, "name": row.name,
            "longitude": row.point.x, "latitude": row.point.y,
            "zh": keys.zh, "py": keys.py, "ini": keys.ini, "syllables": keys.syllables}


def _source_chunks(session: Session, building_ids: Collection[int] | None) -> Iterator[tuple[list[int], list]]:
    """(building ids asked for, their source rows) a chunk at a time; every building when None."""
    if building_ids is None:
        last = 0
        while rows := session.execute(_SOURCE.where(Building.id > last).order_by(Building.id)
                                      .limit(ENTRY_CHUNK_ROWS)).all():
            last = rows[-1].id
            yield [row.id for row in rows], rows
        return
    for chunk in chunks(sorted(set(building_ids))):
        yield chunk, session.execute(_SOURCE.where(Building.id.in_(chunk))).all()


def refresh_entries(session: Session, building_ids: Collection[int] | None = None) -> int:
    """Write again the entries of the given buildings (all when None): one for each that stands and has a plate,
    none for the rest; returns how many were written."""
    if building_ids is None:
        session.execute(delete(SearchEntry))
    written = 0
    for ids, rows in _source_chunks(session, building_ids):
        if building_ids is not None:
            session.execute(delete(SearchEntry).where(SearchEntry.building_id.in_(ids)))
        insert_rows(session, SearchEntry, [entry_row(row) for row in rows])
        written += len(rows)
    return written


def drop_entries(session: Session, building_ids: Collection[int]) -> None:
    """Remove the entries of buildings that no longer stand."""
    for chunk in chunks(sorted(building_ids)):
        session.execute(delete(SearchEntry).where(SearchEntry.building_id.in_(chunk)))


def buildings_on_roads(session: Session, road_ids: Collection[int]) -> list[int]:
    """The buildings whose address names one of the roads (a road renamed changes theirs)."""
    return [building_id for chunk in chunks(sorted(road_ids)) for building_id in
            session.scalars(select(Building.id).where(Building.road_id.in_(chunk)))]
