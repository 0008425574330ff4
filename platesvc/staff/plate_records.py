"""What staff see of plates: finding them by ID, address or place, and one plate's whole record."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, aliased

from platesvc.errors import InvalidPlateIdError
from platesvc.registry import audit, lifecycle
from platesvc.registry.addresses import format_address
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.scan.counts import scans_by_day
from platesvc.search.engine import only_exact, search_plates
from platesvc.store.bulk_writes import chunks
from platesvc.store.models import (
    AuditEvent,
    Building,
    Division,
    DivisionLevel,
    Plate,
    PlatePrint,
    PrintBatch,
    ResidentReport,
    Road,
)

_COMMUNITY, _SUBDISTRICT, _DISTRICT = aliased(Division), aliased(Division), aliased(Division)
SEARCH_LIMIT = 100
SCAN_DAYS = 60


@dataclass(frozen=True)
class PlateSummary:
    plate_id: str
    display_id: str
    status: str
    address: str
    district: str | None
    community: str | None


def _summaries() -> Select:
    return (select(Plate.id, Plate.status, Building.number, Building.name, Building.division_code, Road.name,
                   _COMMUNITY.name, _SUBDISTRICT.name, _DISTRICT.name)
            .join(Building, Building.id == Plate.building_id)
            .outerjoin(Road, Road.id == Building.road_id)
            .outerjoin(_COMMUNITY, _COMMUNITY.id == Building.community_id)
            .outerjoin(_SUBDISTRICT, _SUBDISTRICT.id == _COMMUNITY.parent_id)
            .outerjoin(_DISTRICT, and_(_DISTRICT.code == Building.division_code,
                                       _DISTRICT.level == DivisionLevel.DISTRICT)))


def _summary(config: Mapping, row) -> PlateSummary:
    plate_id, status, number, name, _code, road, community, subdistrict, district = row
    full, _ = format_address(config, district, subdistrict, community, road, number, name)
    return PlateSummary(plate_id, parse_plate_id(plate_id).display, status, full, district, community)


def search(session: Session, config: Mapping, text: str,
           limit: int = SEARCH_LIMIT) -> tuple[list[PlateSummary], str | None]:
    """Plates matching an ID (any spelling; retired ones too), else as search finds them: an address in characters,
    Pinyin or initials, with a slip, or an ID one character off, best first; and the one plate matched exactly,
    if just one was (a page opens it)."""
    text = " ".join((text or "").split())
    if not text:
        return [], None
    try:
        exact = [_summary(config, row) for row in session.execute(
            _summaries().where(Plate.id == parse_plate_id(text).canonical))]
    except InvalidPlateIdError:
        exact = []
    if exact:
        return exact, exact[0].plate_id
    found = search_plates(session, config, text, limit)
    by_id = summaries(session, config, [item.entry.plate_id for item in found])
    only = only_exact(found)
    return [by_id[item.entry.plate_id] for item in found if item.entry.plate_id in by_id], only and only.entry.plate_id


def summaries(session: Session, config: Mapping, plate_ids: list[str]) -> dict[str, PlateSummary]:
    """Each plate's summary; any number of plates (a city's every plate), read a chunk at a time."""
    return {row[0]: _summary(config, row) for ids in chunks(plate_ids)
            for row in session.execute(_summaries().where(Plate.id.in_(ids)))}


@dataclass(frozen=True)
class PrintRecord:
    batch: str
    printed_at: datetime
    file: str | None
    page: int
    position: int


@dataclass(frozen=True)
class PlateRecord:
    """A plate as staff see it: where it is, its whole life, where it was printed, its scans and reports."""

    plate: Plate
    summary: PlateSummary
    history: list[AuditEvent]
    prints: list[PrintRecord]
    scans: dict[date, int]
    reports: list[ResidentReport]
    next_statuses: list[str]


def plate_record(session: Session, config: Mapping, plate: Plate) -> PlateRecord:
    prints = [PrintRecord(*row) for row in session.execute(
        select(PrintBatch.name, PrintBatch.created_at, PlatePrint.file, PlatePrint.page, PlatePrint.position)
        .join(PrintBatch, PrintBatch.id == PlatePrint.batch_id).where(PlatePrint.plate_id == plate.id)
        .order_by(PrintBatch.id))]
    since = datetime.now(ZoneInfo(config["TIMEZONE"])).date() - timedelta(days=SCAN_DAYS)
    scans = {day: count for day, count in scans_by_day(session, plate.id).items() if day >= since}
    reports = list(session.scalars(select(ResidentReport).where(ResidentReport.plate_id == plate.id)
                                   .order_by(ResidentReport.id.desc())))
    return PlateRecord(plate, summaries(session, config, [plate.id])[plate.id],
                       audit.history(session, "plate", plate.id), prints, scans, reports,
                       lifecycle.allowed_next(plate.status))
