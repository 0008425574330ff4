"""Staff finding and editing service points, police beats and officers, culture zones and notes, one
record at a time (from the staff pages, and through OGC API - Features Part 4).

Each edit is checked as an import row would be, recorded in the audit trail with what
changed, and recomputes exactly the links it affects (links.py): a service point that
moves, appears, changes category or goes; a beat or culture zone that appears, moves or
goes (the buildings inside its old and new area). Officers and notes are not linked to
buildings; the page shows the change once workers see the reference counter move.
Nothing here commits.
"""

import re
from dataclasses import dataclass

import shapely
from shapely import MultiPolygon
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from platesvc import labels
from platesvc.errors import DataError, NotFoundError
from platesvc.reference import links
from platesvc.registry import audit
from platesvc.store.models import (
    AssistanceOffice,
    CultureNote,
    CultureZone,
    Division,
    DivisionLevel,
    Officer,
    PoliceBeat,
    ServiceCategory,
    ServicePoint,
)
from platesvc.store.spatial import district_containing

PHONE = re.compile(r"^[0-9+][0-9 ()+\-]{1,30}$")
LIST_LIMIT = 200


def search_services(session: Session, text: str, category: str | None = None) -> list[ServicePoint]:
    """Service points whose name holds `text` (or whose source_id is it), of one category if given."""
    query = select(ServicePoint).order_by(ServicePoint.category, ServicePoint.name).limit(LIST_LIMIT)
    if text:
        query = query.where(or_(ServicePoint.name.contains(text, autoescape=True), ServicePoint.source_id == text))
    if category:
        query = query.where(ServicePoint.category == category)
    return list(session.scalars(query))


def search_beats(session: Session, text: str) -> list[PoliceBeat]:
    """Beats whose name or station holds `text`, or with an officer whose name does."""
    query = select(PoliceBeat).order_by(PoliceBeat.station, PoliceBeat.name).limit(LIST_LIMIT)
    if text:
        officers = select(Officer.beat_id).where(Officer.name.contains(text, autoescape=True))
        query = query.where(or_(PoliceBeat.name.contains(text, autoescape=True),
                                PoliceBeat.station.contains(text, autoescape=True), PoliceBeat.id.in_(officers)))
    return list(session.scalars(query))


def search_notes(session: Session, text: str) -> list[CultureNote]:
    query = select(CultureNote).order_by(CultureNote.title).limit(LIST_LIMIT)
    if text:
        query = query.where(or_(CultureNote.title.contains(text, autoescape=True),
                                CultureNote.body.contains(text, autoescape=True)))
    return list(session.scalars(query))


def search_assistance(session: Session, text: str) -> list[tuple[Division, AssistanceOffice | None]]:
    """Districts and subdistricts (name or code holding `text`), each with its assistance office if it has one."""
    query = (select(Division, AssistanceOffice).outerjoin(AssistanceOffice)
             .where(Division.level.in_([DivisionLevel.DISTRICT, DivisionLevel.SUBDISTRICT]))
             .order_by(Division.code).limit(LIST_LIMIT))
    if text:
        query = query.where(or_(Division.name.contains(text, autoescape=True), Division.code.startswith(text)))
    return [tuple(row) for row in session.execute(query)]


def _outside_the_city(longitude: float, latitude: float) -> DataError:
    return DataError("%(longitude)s, %(latitude)s lies outside every district of the city.", longitude=longitude,
                     latitude=latitude)


def _text(value: str | None, field: str, max_length: int, required: bool = True) -> str | None:
    """`value` stripped; `field` names it (labels.FIELDS) in a refusal."""
    value = (value or "").strip()
    if not value:
        if required:
            raise DataError("%(field)s: fill it in.", field=labels.FIELDS[field])
        return None
    if len(value) > max_length:
        raise DataError("%(field)s has %(count)s characters; it may have at most %(most)s.",
                        field=labels.FIELDS[field], count=len(value), most=max_length)
    return value


def _phone(value: str | None, field: str = "phone", required: bool = False) -> str | None:
    value = _text(value, field, 32, required)
    if value is not None and not PHONE.match(value):
        raise DataError("%(field)s %(value)s: write it with digits, spaces, +, - and brackets only, like "
                        "0951-6012345.", field=labels.FIELDS[field], value=value)
    return value


def _reason(reason: str | None) -> str | None:
    """Why a record goes: required where staff were asked (a page's form gives text, perhaps empty);
    None where the caller had no way to give one (an OGC API DELETE from a client that sends none)."""
    return None if reason is None else _text(reason, "reason", 500)


def _changes(record, values: dict) -> dict:
    """Set each value on the record; what changed, as {field: [old, new]}."""
    changed = {}
    for name, value in values.items():
        old = getattr(record, name)
        if old != value:
            changed[name] = [old, value]
            setattr(record, name, value)
    return changed


def _without_geometry(changed: dict) -> dict:
    """What changed, for the audit trail: a geometry is said to have moved, not written out."""
    return {name: values for name, values in changed.items() if name != "geom"}


@dataclass(frozen=True)
class ServiceFields:
    name: str
    category: str
    phone: str | None
    hours: str | None
    longitude: float
    latitude: float


def _checked_service(session: Session, fields: ServiceFields) -> dict:
    if fields.category not in set(ServiceCategory):
        raise DataError("There is no category %(category)s: choose one of %(categories)s.", category=fields.category,
                        categories=list(labels.CATEGORIES.values()))
    if district_containing(session, fields.longitude, fields.latitude) is None:
        raise _outside_the_city(fields.longitude, fields.latitude)
    point = shapely.Point(fields.longitude, fields.latitude)
    return {"name": _text(fields.name, "name", 100), "category": fields.category, "phone": _phone(fields.phone),
            "hours": _text(fields.hours, "hours", 100, required=False), "geom": point}


def add_service(session: Session, actor: audit.Actor, source_id: str, fields: ServiceFields) -> ServicePoint:
    """A new service point, linked to the buildings it is now among the nearest of."""
    source_id = _text(source_id, "source_id", 64)
    if session.scalar(select(ServicePoint.id).where(ServicePoint.source_id == source_id)) is not None:
        raise DataError("There is already a service point with the code %(code)s.", code=source_id)
    service = ServicePoint(source_id=source_id, **_checked_service(session, fields))
    session.add(service)
    session.flush()
    relinked = links.refresh_after_service_change(session, service)
    audit.record(session, actor, "service.added", "service", service.id,
                 details={"source_id": source_id, "name": service.name, "relinked_buildings": relinked})
    return service


def edit_service(session: Session, actor: audit.Actor, service: ServicePoint, fields: ServiceFields) -> int:
    """Change a service point; returns how many buildings' links were recomputed."""
    values = _checked_service(session, fields)
    old_category, old_point = service.category, service.geom
    moved = not values["geom"].equals(old_point)
    if not moved:
        values.pop("geom")
    changed = _changes(service, values)
    if not changed:
        return 0
    session.flush()
    relinked = (links.refresh_after_service_change(session, service, old_category)
                if moved or "category" in changed else 0)
    audit.record(session, actor, "service.edited", "service", service.id,
                 details={**_without_geometry(changed),
                          **({"moved_from": [old_point.x, old_point.y]} if moved else {}),
                          "relinked_buildings": relinked})
    return relinked


def remove_service(session: Session, actor: audit.Actor, service: ServicePoint, reason: str | None) -> int:
    """Delete a service point; returns how many buildings' links were recomputed. `reason`: see _reason."""
    reason = _reason(reason)
    audit.record(session, actor, "service.removed", "service", service.id, reason=reason,
                 details={"source_id": service.source_id, "name": service.name, "category": service.category})
    return links.remove_service_point(session, service)


def save_officer(session: Session, actor: audit.Actor, officer: Officer | None, beat: PoliceBeat, name: str,
                 phone: str) -> Officer:
    """A new officer of the beat (`officer` None), or a change to one."""
    values = {"name": _text(name, "name", 50), "phone": _phone(phone, required=True), "beat_id": beat.id}
    if officer is None:
        officer = Officer(name=values["name"], phone=values["phone"], beat=beat)  # in the beat's list at once
        session.add(officer)
        session.flush()
        audit.record(session, actor, "officer.added", "officer", officer.id, details=values)
        return officer
    changed = _changes(officer, values)
    if changed:
        session.flush()
        audit.record(session, actor, "officer.edited", "officer", officer.id, details=changed)
    return officer


def remove_officer(session: Session, actor: audit.Actor, officer: Officer, reason: str | None) -> None:
    reason = _reason(reason)
    audit.record(session, actor, "officer.removed", "officer", officer.id, reason=reason,
                 details={"name": officer.name, "beat_id": officer.beat_id})
    beat = officer.beat
    session.delete(officer)
    session.flush()
    session.expire(beat, ["officers"])  # read again without it


def edit_note(session: Session, actor: audit.Actor, note: CultureNote, title: str, body: str) -> None:
    changed = _changes(note, {"title": _text(title, "title", 200), "body": _text(body, "body", 5000)})
    if changed:
        session.flush()
        audit.record(session, actor, "note.edited", "note", note.id, details=changed)


def _taken(session: Session, model, source_id: str) -> bool:
    return session.scalar(select(model.id).where(model.source_id == source_id)) is not None


def _checked_area(session: Session, area: MultiPolygon) -> MultiPolygon:
    if area.is_empty or not area.is_valid:
        raise DataError("the area is not a valid polygon: %(why)s", why=shapely.is_valid_reason(area))
    inside = area.representative_point()
    if district_containing(session, inside.x, inside.y) is None:
        raise DataError("the area around %(longitude)s, %(latitude)s lies outside every district of the city",
                        longitude=round(inside.x, 6), latitude=round(inside.y, 6))
    return area


def _moved(record, values: dict, column: str) -> shapely.Geometry | None:
    """The record's old geometry if `values` moves it, else None (and the unchanged geometry left out of values)."""
    old = getattr(record, column)
    if values[column].equals(old):
        values.pop(column)
        return None
    return old


@dataclass(frozen=True)
class ZoneFields:
    """A culture zone and its note, as the culture import has them: the zone's name is its note's title."""

    name: str
    body: str
    area: MultiPolygon


def _checked_zone(session: Session, fields: ZoneFields) -> dict:
    return {"name": _text(fields.name, "name", 100), "body": _text(fields.body, "body", 5000),
            "geom": _checked_area(session, fields.area)}


def add_zone(session: Session, actor: audit.Actor, source_id: str, fields: ZoneFields) -> CultureZone:
    """A new culture zone with its note, linked to the buildings inside it."""
    source_id = _text(source_id, "source_id", 64)
    if _taken(session, CultureZone, source_id) or _taken(session, CultureNote, source_id):
        raise DataError("there is already a culture zone or note %(source_id)s", source_id=source_id)
    values = _checked_zone(session, fields)
    zone = CultureZone(source_id=source_id, name=values["name"], geom=values["geom"])
    session.add(zone)
    session.flush()
    session.add(CultureNote(source_id=source_id, title=zone.name, body=values["body"], zone_id=zone.id))
    session.flush()
    relinked = links.refresh_after_area_change(session, zone.geom)
    audit.record(session, actor, "zone.added", "zone", zone.id,
                 details={"source_id": source_id, "name": zone.name, "relinked_buildings": relinked})
    return zone


def zone_note(session: Session, zone: CultureZone) -> CultureNote | None:
    """The note a zone's page shows first (the one its import made)."""
    return session.scalars(select(CultureNote).where(CultureNote.zone_id == zone.id).order_by(CultureNote.id)
                           .limit(1)).first()


def edit_zone(session: Session, actor: audit.Actor, zone: CultureZone, fields: ZoneFields) -> int:
    """Change a culture zone and its note; returns how many buildings' links were recomputed."""
    values = _checked_zone(session, fields)
    body = values.pop("body")
    old_area = _moved(zone, values, "geom")
    changed = _changes(zone, values)
    note = zone_note(session, zone)
    if note is None:
        session.add(CultureNote(source_id=zone.source_id, title=zone.name, body=body, zone_id=zone.id))
        changed["body"] = [None, body]
    else:
        edit_note(session, actor, note, zone.name, body)
    if not changed and old_area is None:
        return 0
    session.flush()
    relinked = links.refresh_after_area_change(session, old_area, zone.geom) if old_area is not None else 0
    audit.record(session, actor, "zone.edited", "zone", zone.id,
                 details={**_without_geometry(changed), **({"moved": True} if old_area is not None else {}),
                          "relinked_buildings": relinked})
    return relinked


def remove_zone(session: Session, actor: audit.Actor, zone: CultureZone, reason: str | None) -> int:
    """Delete a culture zone and its notes; returns how many buildings' links were recomputed."""
    reason = _reason(reason)
    area = zone.geom
    notes = list(session.scalars(select(CultureNote).where(CultureNote.zone_id == zone.id)))
    audit.record(session, actor, "zone.removed", "zone", zone.id, reason=reason,
                 details={"source_id": zone.source_id, "name": zone.name, "notes": [note.title for note in notes]})
    for note in notes:
        session.delete(note)
    session.delete(zone)
    session.flush()
    return links.refresh_after_area_change(session, area)


@dataclass(frozen=True)
class BeatFields:
    """A police beat and its officer, as the beats import has them (officer and phone, or neither)."""

    name: str
    station: str
    officer: str | None
    phone: str | None
    area: MultiPolygon


def _checked_beat(session: Session, fields: BeatFields) -> dict:
    return {"name": _text(fields.name, "name", 100), "station": _text(fields.station, "station", 100),
            "geom": _checked_area(session, fields.area)}


def _set_officer(session: Session, actor: audit.Actor, beat: PoliceBeat, name: str | None,
                 phone: str | None) -> None:
    """Make the beat's first officer the one named (None: the beat has none now)."""
    officers = sorted(beat.officers, key=lambda officer: officer.id or 0)
    if name is None and phone is None:
        for officer in officers:
            remove_officer(session, actor, officer, None)
        return
    save_officer(session, actor, officers[0] if officers else None, beat, name, phone)


def add_beat(session: Session, actor: audit.Actor, source_id: str, fields: BeatFields) -> PoliceBeat:
    """A new police beat (and its officer), linked to the buildings inside it."""
    source_id = _text(source_id, "source_id", 64)
    if _taken(session, PoliceBeat, source_id):
        raise DataError("there is already a police beat %(source_id)s", source_id=source_id)
    beat = PoliceBeat(source_id=source_id, **_checked_beat(session, fields))
    session.add(beat)
    session.flush()
    if fields.officer is not None or fields.phone is not None:
        _set_officer(session, actor, beat, fields.officer, fields.phone)
    relinked = links.refresh_after_area_change(session, beat.geom)
    audit.record(session, actor, "beat.added", "beat", beat.id,
                 details={"source_id": source_id, "name": beat.name, "relinked_buildings": relinked})
    return beat


def edit_beat(session: Session, actor: audit.Actor, beat: PoliceBeat, fields: BeatFields) -> int:
    """Change a police beat and its officer; returns how many buildings' links were recomputed."""
    values = _checked_beat(session, fields)
    old_area = _moved(beat, values, "geom")
    changed = _changes(beat, values)
    _set_officer(session, actor, beat, fields.officer, fields.phone)
    if not changed and old_area is None:
        return 0
    session.flush()
    relinked = links.refresh_after_area_change(session, old_area, beat.geom) if old_area is not None else 0
    audit.record(session, actor, "beat.edited", "beat", beat.id,
                 details={**_without_geometry(changed), **({"moved": True} if old_area is not None else {}),
                          "relinked_buildings": relinked})
    return relinked


def remove_beat(session: Session, actor: audit.Actor, beat: PoliceBeat, reason: str | None) -> int:
    """Delete a police beat and its officers; returns how many buildings' links were recomputed."""
    reason = _reason(reason)
    area = beat.geom
    audit.record(session, actor, "beat.removed", "beat", beat.id, reason=reason,
                 details={"source_id": beat.source_id, "name": beat.name, "station": beat.station,
                          "officers": [officer.name for officer in beat.officers]})
    session.delete(beat)
    session.flush()
    return links.refresh_after_area_change(session, area)


@dataclass(frozen=True)
class AssistanceFields:
    window_name: str | None
    window_address: str | None
    window_hours: str | None
    window_phone: str | None
    window_point: tuple[float, float] | None  # longitude, latitude
    hotline: str | None


def save_assistance(session: Session, actor: audit.Actor, division: Division, fields: AssistanceFields) -> bool:
    """Set a district's or subdistrict's assistance window and hotline; whether anything changed."""
    if division.level == DivisionLevel.COMMUNITY:
        raise DataError("%(division)s is a community: windows and hotlines belong to subdistricts and districts.",
                        division=division.name)
    values = {"window_name": _text(fields.window_name, "window_name", 100, required=False),
              "window_address": _text(fields.window_address, "window_address", 200, required=False),
              "window_hours": _text(fields.window_hours, "window_hours", 100, required=False),
              "window_phone": _phone(fields.window_phone, "window_phone"), "window_point": None,
              "hotline": _phone(fields.hotline, "hotline")}
    if values["window_name"] is None and any(values[name] for name in ("window_address", "window_hours",
                                                                     "window_phone")):
        raise DataError("Give the window a name (what residents look for at the service centre).")
    if fields.window_point is not None:
        if values["window_name"] is None:
            raise DataError("Give the window a name before its place.")
        lon, lat = fields.window_point
        if district_containing(session, lon, lat) is None:
            raise _outside_the_city(lon, lat)
        values["window_point"] = shapely.Point(lon, lat)
    office = session.get(AssistanceOffice, division.id)
    if office is None:
        if not any(value is not None for value in values.values()):
            return False
        office = AssistanceOffice(division_id=division.id)
        session.add(office)
    old_point = office.window_point
    if old_point is not None and values["window_point"] is not None and old_point.equals(values["window_point"]):
        values.pop("window_point")
    changed = _changes(office, values)
    if not changed:
        return False
    session.flush()
    if "window_point" in changed:
        point = values["window_point"]
        changed["window_point"] = [[old_point.x, old_point.y] if old_point is not None else None,
                                   [point.x, point.y] if point is not None else None]
    audit.record(session, actor, "assistance.edited", "division", division.code, details=changed)
    return True


def find(session: Session, model, record_id: int):
    """:raises NotFoundError: no such record."""
    record = session.get(model, record_id)
    if record is None:
        raise NotFoundError("There is no %(record)s %(id)s.", record=labels.RECORDS[model.__tablename__], id=record_id)
    return record
