"""The collections staff change through OGC API - Features Part 4 (Create, Replace, Update, Delete):
what a feature's geometry and properties mean for each, handed to the staff pages' own edits
(reference/edits.py), so a change links, audits and checks exactly as it does there.

Service points, culture zones (each with its note) and police beats (each with its officer)
are edited by hand; buildings and plates change through imports and the plate lifecycle only.
Nothing here commits.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import shapely
from sqlalchemy.orm import Session

from gis.shapes import to_multipolygons
from platesvc.errors import DataError
from platesvc.maps.features import COLLECTIONS, Collection
from platesvc.reference import edits
from platesvc.reference.edits import BeatFields, ServiceFields, ZoneFields
from platesvc.registry.audit import Actor
from platesvc.store.models import CultureZone, PoliceBeat, ServiceCategory, ServicePoint


@dataclass(frozen=True)
class Feature:
    """A feature as a client sent it, read and checked against its collection's schema (geometry in CRS84)."""

    geometry: shapely.Geometry
    properties: Mapping


@dataclass(frozen=True)
class Editable:
    collection: Collection
    model: type
    geometry_types: tuple[str, ...]  # GeoJSON types a body's geometry may have
    required: tuple[str, ...]  # properties a body must give (a PUT or a PATCH's result too)
    optional: tuple[str, ...]  # properties it may leave out or set to null
    add: Callable[[Session, Actor, str, Feature], object]
    change: Callable[[Session, Actor, object, Feature], int]
    remove: Callable[[Session, Actor, object, str | None], int]


def _service(feature: Feature) -> ServiceFields:
    properties, point = feature.properties, feature.geometry
    return ServiceFields(properties["name"], properties["category"], properties.get("phone"),
                         properties.get("hours"), point.x, point.y)


def _zone(feature: Feature) -> ZoneFields:
    return ZoneFields(feature.properties["name"], feature.properties["body"], _area(feature))


def _beat(feature: Feature) -> BeatFields:
    properties = feature.properties
    return BeatFields(properties["name"], properties["station"], properties.get("officer"), properties.get("phone"),
                      _area(feature))


def _area(feature: Feature) -> shapely.MultiPolygon:
    return to_multipolygons([feature.geometry])[0]


EDITABLE: dict[str, Editable] = {editable.collection.id: editable for editable in [
    Editable(COLLECTIONS["services"], ServicePoint, ("Point",), ("source_id", "name", "category"),
             ("phone", "hours"),
             add=lambda session, actor, source_id, feature: edits.add_service(session, actor, source_id,
                                                                              _service(feature)),
             change=lambda session, actor, service, feature: edits.edit_service(session, actor, service,
                                                                                _service(feature)),
             remove=edits.remove_service),
    Editable(COLLECTIONS["culture-zones"], CultureZone, ("Polygon", "MultiPolygon"), ("source_id", "name", "body"),
             (),
             add=lambda session, actor, source_id, feature: edits.add_zone(session, actor, source_id, _zone(feature)),
             change=lambda session, actor, zone, feature: edits.edit_zone(session, actor, zone, _zone(feature)),
             remove=edits.remove_zone),
    Editable(COLLECTIONS["police-beats"], PoliceBeat, ("Polygon", "MultiPolygon"), ("source_id", "name", "station"),
             ("officer", "phone"),
             add=lambda session, actor, source_id, feature: edits.add_beat(session, actor, source_id, _beat(feature)),
             change=lambda session, actor, beat, feature: edits.edit_beat(session, actor, beat, _beat(feature)),
             remove=edits.remove_beat),
]}
CATEGORIES = tuple(category.value for category in ServiceCategory)


def locked(session: Session, editable: Editable, key):
    """The record behind a feature, locked until the transaction ends (PostgreSQL; SQLite writes one at a
    time), so a precondition checked on it still holds when the change is written; None if there is none."""
    return session.get(editable.model, key, with_for_update=True)


def add(session: Session, actor: Actor, editable: Editable, feature: Feature):
    """A new feature; returns its record."""
    return editable.add(session, actor, feature.properties["source_id"], feature)


def replace(session: Session, actor: Actor, editable: Editable, record, feature: Feature) -> int:
    """The feature's new content in full; returns how many buildings' links were recomputed.

    :raises DataError: a new source_id (the key imports match rows on: it stays the record's).
    """
    given = feature.properties.get("source_id")
    if given is not None and given != record.source_id:
        raise DataError("source_id %(given)s: it is %(stored)s and stays so (imports match rows by it)", given=given,
                        stored=record.source_id)
    return editable.change(session, actor, record, feature)


def remove(session: Session, actor: Actor, editable: Editable, record, reason: str | None) -> int:
    """Delete the feature; returns how many buildings' links were recomputed."""
    return editable.remove(session, actor, record, reason)


def merged(target, patch):
    """RFC 7396 JSON Merge Patch: `patch` applied to `target` (a null member removes that member)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merged(result.get(name), value)
    return result
