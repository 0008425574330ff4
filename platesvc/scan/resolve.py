"""A scanned plate, resolved: everything the resident page and the JSON API show.

Everything spatial was worked out when the data was written (links.py). A scan reads
one row (prepared.py): its plate, building and links (with the nearest services and
culture zones that links.py keeps as JSON in its links row), and the reference generation.
Names, officers, services and notes come from the worker's reference snapshot
(reference/snapshot.py). The page and the API share the document this returns.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import orjson
import shapely
from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gis.navigation import app_urls, location
from platesvc.errors import InvalidPlateIdError, RetiredPlateError, UnknownPlateError
from platesvc.reference.snapshot import ReferenceCache, ReferenceSnapshot
from platesvc.registry.addresses import format_address
from platesvc.registry.plate_ids import PlateId, one_character_away, parse_plate_id, plate_url
from platesvc.store.generations import CURRENT as CURRENT_GENERATIONS
from platesvc.store.models import (
    Building,
    BuildingLink,
    BuildingStatus,
    Plate,
    PlateStatus,
    ServiceCategory,
)
from platesvc.store.prepared import PreparedRead

REMEMBERED_PLATES = 8192  # per thread, while the database stands still (SQLite): some 11 MiB
_PLATE = PreparedRead(
    select(Plate.id, Plate.status, Building.id.label("building_id"), Building.status.label("building_status"),
           Building.merged_into_id, Building.number, Building.name, Building.division_code, Building.point,
           Building.road_id, Building.community_id, BuildingLink.beat_id,
           # As text on both backends (psycopg would decode JSON itself), for orjson to read.
           cast(BuildingLink.nearest, Text).label("nearest"), cast(BuildingLink.zones, Text).label("zones"),
           CURRENT_GENERATIONS.scalar_subquery().label("generation"))
    .join(Building, Building.id == Plate.building_id)
    .outerjoin(BuildingLink, BuildingLink.building_id == Building.id)
    .where(Plate.id == bindparam("plate_id", value="")),  # a value only so the statement compiles
    remember=REMEMBERED_PLATES,
)


@dataclass(frozen=True, eq=False)
class Resolution:
    """A plate that resolves: its row as read, and the snapshot and settings its document is made of."""

    plate_id: PlateId
    plate: dict
    snapshot: ReferenceSnapshot
    config: Mapping

    @property
    def source(self) -> tuple:
        """What the document is made of beside the snapshot and settings: equal sources, equal documents."""
        return tuple(self.plate.values())

    @cached_property
    def document(self) -> dict:
        plate_id, plate, snapshot, config = self.plate_id, self.plate, self.snapshot, self.config
        point = shapely.from_wkb(bytes(plate["point"]))
        where = location(point.x, point.y)
        address = _address(plate, snapshot, config)
        return {
            "id": plate_id.canonical,
            "display_id": plate_id.display,
            "url": plate_url(config["PUBLIC_URL"], plate_id.canonical),
            "status": plate["status"],
            "address": address,
            "location": where,
            "navigation": app_urls(where, address["short"], address["full"]),
            "culture": _culture(plate, snapshot),
            "police": snapshot.police.get(plate["beat_id"]),
            "nearest": _nearest(plate["nearest"], snapshot, config["WALK_SPEED_KMH"]),
            "assistance": _assistance(plate, snapshot, config),
            "hotlines": [{"name": line["name"], "phone": line["phone"]} for line in config["HOTLINES"]],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.document)


def resolve_plate(engine: Engine, session: Session, text: str, config: Mapping,
                  references: ReferenceCache) -> Resolution:
    """The resolution of any accepted spelling of a plate ID.

    A plate that resolves costs one read on `engine`; `session` is used only to explain
    one that does not (a scoped session is not even opened then). The document itself
    is made only when asked for.

    :raises UnknownPlateError: not a plate ID, or no such plate (with real plates one character away).
    :raises RetiredPlateError: the plate's building is gone (with where it went).
    """
    plate_id = _parse_or_suggest(session, text)
    plate = _PLATE.one_or_none(engine, plate_id=plate_id.canonical)
    if plate is None:
        raise UnknownPlateError("No plate %(plate)s has been issued.",
                                _existing_plates(session, one_character_away(text)), plate=plate_id.display)
    if plate["status"] == PlateStatus.RETIRED or plate["building_status"] == BuildingStatus.RETIRED:
        raise RetiredPlateError("Plate %(plate)s is retired: its building is gone.", plate_id.canonical,
                                _successor_plate(session, plate["merged_into_id"]), plate=plate_id.display)
    snapshot = references.at(engine, plate["generation"])
    if snapshot.generation != plate["generation"] and not _lists_only_known_services(plate["nearest"], snapshot):
        snapshot = references.reload(engine)  # the database went back to an older state under us
    return Resolution(plate_id, plate, snapshot, config)


def _parse_or_suggest(session: Session, text: str) -> PlateId:
    try:
        return parse_plate_id(text)
    except InvalidPlateIdError as error:  # say why, and offer a real plate one slip away
        raise UnknownPlateError(error.words, _existing_plates(session, one_character_away(text))) from error


def _existing_plates(session: Session, candidates: list[str]) -> list[str]:
    if not candidates:
        return []
    return list(session.scalars(
        select(Plate.id).where(Plate.id.in_(candidates), Plate.status != PlateStatus.RETIRED).order_by(Plate.id)))


def _successor_plate(session: Session, building_id: int | None) -> str | None:
    """The plate of the building a retired one was merged into, following merges onward."""
    seen = set()
    while building_id is not None and building_id not in seen:
        seen.add(building_id)
        row = session.execute(
            select(Building.status, Building.merged_into_id, Plate.id)
            .outerjoin(Plate, Plate.building_id == Building.id).where(Building.id == building_id)).one()
        if row.status == BuildingStatus.ACTIVE:
            return row.id
        building_id = row.merged_into_id
    return None


def _address(plate: dict, snapshot: ReferenceSnapshot, config: Mapping) -> dict:
    road, road_pinyin = snapshot.roads.get(plate["road_id"], (None, None))
    community, subdistrict, _ = snapshot.communities.get(plate["community_id"], (None, None, None))
    district = snapshot.district_names.get(plate["division_code"])
    number, name = plate["number"], plate["name"]
    full, short = format_address(config, district, subdistrict, community, road, number, name)
    return {
        "full": full,
        "short": short,
        "province": config["PROVINCE"],
        "city": config["CITY"],
        "division_code": plate["division_code"],
        "district": district,
        "subdistrict": subdistrict,
        "community": community,
        "road": road,
        "road_pinyin": road_pinyin,
        "number": number,
        "name": name,
    }


def _assistance(plate: dict, snapshot: ReferenceSnapshot, config: Mapping) -> dict:
    """How to apply for social assistance here: the app, the subdistrict's window and the district's
    hotline, each level falling back to the other and the hotline to the city's."""
    subdistrict = snapshot.communities.get(plate["community_id"], (None, None, None))[2]
    offices = [snapshot.assistance[code] for code in (subdistrict, plate["division_code"])
               if code in snapshot.assistance]
    window = next((office.window for office in offices if office.window_name), None)
    return {
        "app": {"name": config["ASSISTANCE_APP"], "name_en": config["ASSISTANCE_APP_EN"],
                "url": config["ASSISTANCE_APP_URL"] or None},
        "window": window,
        "hotline": next((office.hotline for office in offices if office.hotline), config["ASSISTANCE_HOTLINE"]),
    }


def _culture(plate: dict, snapshot: ReferenceSnapshot) -> list[dict]:
    road_name, _ = snapshot.roads.get(plate["road_id"], (None, None))
    notes = list(snapshot.road_notes.get(road_name, ()))
    for zone_id in orjson.loads(plate["zones"] or "[]"):
        notes.extend(snapshot.zone_notes.get(zone_id, ()))
    return notes


def _lists_only_known_services(listed: str | None, snapshot: ReferenceSnapshot) -> bool:
    return all(service_id in snapshot.services
               for services in orjson.loads(listed or "{}").values() for service_id, *_ in services)


def _nearest(listed: str | None, snapshot: ReferenceSnapshot, speed_kmh: float) -> dict[str, list[dict]]:
    """The links row's {category: [[service id, metres, walking metres, on the network], ...]} as entries to
    show, nearest walk first: `walk_m` and `walk_minutes` at the elderly walking speed, `distance_m` in a
    straight line, and `on_network` false where the streets do not join them (the walk is then the straight
    line, and says so)."""
    nearest = {category.value: [] for category in ServiceCategory}
    metres_a_minute = speed_kmh * 1000 / 60
    for category, services in sorted(orjson.loads(listed or "{}").items()):
        for service_id, distance, *walk in services:
            if service_id in snapshot.services:  # else removed since this row was read
                # A row linked before walking was (until `platesvc streets rebuild`): not known to be walkable or not.
                walk_m, on_network = walk if walk else (distance, None)
                nearest.setdefault(category, []).append({
                    **snapshot.services[service_id].shown.entry, "walk_m": round(walk_m, 1),
                    "walk_minutes": max(1, round(walk_m / metres_a_minute)), "distance_m": round(distance, 1),
                    "on_network": None if on_network is None else bool(on_network)})
    return nearest
