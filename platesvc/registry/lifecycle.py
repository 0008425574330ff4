"""A plate's life, and the building life events it follows; every step is an audit event.

    issued → printed → installed → damaged | missing → replaced → installed …

`replaced` means a new plate with the same ID has been printed for a damaged or
missing one; it is `installed` again once mounted. A plate is `retired` when its
building is demolished or merged into another; its ID stays reserved for good.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gis.files import SOURCE_ROW, FileReadError, read_features
from platesvc import labels
from platesvc.errors import ConflictError, DataError, InvalidPlateIdError, NotFoundError
from platesvc.messages import Message
from platesvc.registry import audit
from platesvc.registry.plate_ids import parse_plate_id
from platesvc.spreadsheets import RowNote
from platesvc.store.bulk_writes import chunks
from platesvc.store.models import Building, BuildingStatus, Plate, PlateStatus
from platesvc.store.search_entries import drop_entries

S = PlateStatus
TRANSITIONS: dict[PlateStatus, frozenset[PlateStatus]] = {
    S.ISSUED: frozenset({S.PRINTED, S.RETIRED}),
    S.PRINTED: frozenset({S.INSTALLED, S.DAMAGED, S.MISSING, S.RETIRED}),
    S.INSTALLED: frozenset({S.DAMAGED, S.MISSING, S.RETIRED}),
    S.DAMAGED: frozenset({S.REPLACED, S.RETIRED}),
    S.MISSING: frozenset({S.REPLACED, S.INSTALLED, S.RETIRED}),  # installed: found where it belongs
    S.REPLACED: frozenset({S.INSTALLED, S.DAMAGED, S.MISSING, S.RETIRED}),
    S.RETIRED: frozenset(),
}
# Printing moves these on; a plate in any other state keeps it when printed again.
AFTER_PRINTING = {S.ISSUED: S.PRINTED, S.DAMAGED: S.REPLACED, S.MISSING: S.REPLACED}
# Staff must say why for these; the others have an obvious default.
REASON_REQUIRED = frozenset({S.DAMAGED, S.MISSING, S.RETIRED})
# The audit trail's reasons are kept as written (a person's words, or these), not translated.
DEFAULT_REASONS = {S.INSTALLED: "mounted on the building", S.PRINTED: "printed", S.REPLACED: "replacement printed"}
PLATE_ID_COLUMNS = ("plate_id", "id", "plate", "门牌编号", "编号", "门牌二维码编号")
BULK_MAX_ROWS = 1_000_000  # a list of every plate in a large city; a province's is split by county
BULK_STATUSES = (S.INSTALLED, S.DAMAGED, S.MISSING)  # what a list of plates marks: the field crews' news
NO_SUCH_PLATE = Message("No such plate has been issued.")


def allowed_next(status: str) -> list[str]:
    """The statuses a plate may move to from `status`, in lifecycle order."""
    return [s.value for s in PlateStatus if s in TRANSITIONS[PlateStatus(status)]]


def _target(to_status: str) -> PlateStatus:
    try:
        return PlateStatus(to_status)
    except ValueError:
        raise DataError("There is no plate status %(status)s: choose one of %(statuses)s.", status=to_status,
                        statuses=", ".join(PlateStatus)) from None


def _reason(target: PlateStatus, reason: str | None) -> str:
    reason = (reason or "").strip() or DEFAULT_REASONS.get(target)
    if not reason:
        raise DataError("Say why the plate is %(status)s.", status=labels.PLATE_STATUSES[target])
    return reason


def _refusal(plate_id: str, status: str, target: PlateStatus) -> Message | None:
    """Why the lifecycle does not lead from `status` to `target`, or None when it does."""
    if target in TRANSITIONS[PlateStatus(status)]:
        return None
    display, now = parse_plate_id(plate_id).display, labels.PLATE_STATUSES[status]
    if not allowed_next(status):
        return Message("Plate %(plate)s is %(status)s and cannot change any more.", plate=display, status=now)
    allowed = [labels.PLATE_STATUSES[next_status] for next_status in allowed_next(status)]
    return Message("Plate %(plate)s is %(status)s: it can only become %(allowed)s, not %(target)s.", plate=display,
                   status=now, target=labels.PLATE_STATUSES[target], allowed=allowed)


def change_plate_status(session: Session, plate: Plate, to_status: str, actor: audit.Actor,
                        reason: str | None = None, merged_into: Plate | None = None) -> None:
    """Move a plate on in its life, with the event that says who and why (not committed).

    Retiring a plate retires its building (demolished, or merged into `merged_into`'s).

    :raises ConflictError: the lifecycle does not lead there from the plate's status.
    :raises DataError: no reason where one is required, or an unknown status.
    """
    target = _target(to_status)
    refusal = _refusal(plate.id, plate.status, target)
    if refusal:
        raise ConflictError(refusal)
    reason = _reason(target, reason)
    if target == S.RETIRED:
        retire_building(session, plate.building, actor, reason, merged_into.building if merged_into else None)
        return
    audit.record(session, actor, "plate.status", "plate", plate.id, old=plate.status, new=target, reason=reason)
    plate.status = target
    plate.status_changed_at = datetime.now(UTC)


def retire_building(session: Session, building: Building, actor: audit.Actor, reason: str,
                    merged_into: Building | None = None) -> None:
    """Mark a building demolished (or merged into another); its plate is retired, its ID kept for good."""
    if merged_into is not None and (merged_into.id == building.id or merged_into.status != BuildingStatus.ACTIVE):
        raise DataError("A building can only be merged into another building that stands.")
    now = datetime.now(UTC)
    building.status = BuildingStatus.RETIRED
    building.retired_at = now
    building.merged_into = merged_into
    plate = building.plate
    if plate is not None and plate.status != S.RETIRED:
        details = {"merged_into": merged_into.plate.id} if merged_into is not None and merged_into.plate else None
        audit.record(session, actor, "plate.status", "plate", plate.id, old=plate.status, new=S.RETIRED,
                     reason=reason, details=details)
        plate.status = S.RETIRED
        plate.status_changed_at = now
    drop_entries(session, [building.id])  # search no longer finds it


def record_printing(session: Session, actor: audit.Actor, plate_ids: list[str], batch_name: str) -> None:
    """Move printed plates on (issued → printed, damaged or missing → replaced), with their events."""
    now = datetime.now(UTC)
    reason = f"printed in batch {batch_name}"
    for part in chunks(plate_ids):
        statuses = dict(session.execute(select(Plate.id, Plate.status).where(Plate.id.in_(part))).all())
        audit.record_many(session, actor, "plate.printed", "plate",
                          [(plate_id, statuses[plate_id], AFTER_PRINTING.get(statuses[plate_id], statuses[plate_id]))
                           for plate_id in part], reason=reason)
        for old, new in AFTER_PRINTING.items():
            session.execute(update(Plate).where(Plate.id.in_(part), Plate.status == old)
                            .values(status=new, status_changed_at=now)
                            .execution_options(synchronize_session=False))


@dataclass
class BulkResult:
    """What a bulk status change did, row by row."""

    status: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already in that status
    refused: list[RowNote] = field(default_factory=list)  # each with the ID as written and why

    def summary(self) -> list[Message]:
        """What was done, in a line (the refused rows are in the row-by-row report)."""
        return [Message("Marked %(changed)s plates %(status)s; %(unchanged)s were so already; %(refused)s rows "
                        "refused.", changed=len(self.changed), status=labels.PLATE_STATUSES[self.status],
                        unchanged=len(self.unchanged), refused=len(self.refused))]

    def refuse(self, row: int, text: str, reason: Message) -> None:
        self.refused.append(RowNote(row, text, "refused", reason))


def check_change_many(to_status: str, reason: str | None) -> tuple[PlateStatus, str]:
    """The status and reason a bulk change runs with; refused at once if it could not run: an unknown or
    single-plate status, or a missing reason.

    :raises DataError: saying which.
    """
    target = _target(to_status)
    if target == S.RETIRED:
        raise DataError("Retire plates one at a time: each building's demolition or merger has its own reason.")
    if target not in BULK_STATUSES:
        raise DataError("A list of plates can mark them %(statuses)s; %(status)s comes with printing and replacing.",
                        statuses=[labels.PLATE_STATUSES[status] for status in BULK_STATUSES],
                        status=labels.PLATE_STATUSES[target])
    return target, _reason(target, reason)


def list_reason(to_status: str, reason: str | None, list_name: str) -> str | None:
    """The reason a list's plates are marked with: the one given, or for an installation, the list's name."""
    return reason or (f"listed in {list_name}" if to_status == S.INSTALLED else None)


def change_many(session: Session, rows: Iterable[tuple[int, str]], to_status: str, actor: audit.Actor,
                reason: str | None = None) -> BulkResult:
    """Move every listed plate (row number, ID as typed) to `to_status`; refuse, with the reason, those that cannot.

    Plates are read and changed a chunk at a time, so a whole city's list takes seconds.
    Not committed: the caller commits the whole list at once.

    :raises DataError: an unknown status, a missing reason, or retiring (one plate at a time, with its reason).
    """
    target, reason = check_change_many(to_status, reason)
    result = BulkResult(target.value)
    listed: dict[str, tuple[int, str]] = {}
    for row, text in rows:
        try:
            plate_id = parse_plate_id(text).canonical
        except InvalidPlateIdError as error:
            result.refuse(row, text, error.words)
            continue
        if plate_id in listed:
            result.refuse(row, text, Message("Listed twice (first in row %(row)s).", row=listed[plate_id][0]))
        else:
            listed[plate_id] = (row, text)
    now = datetime.now(UTC)
    for part in chunks(list(listed)):
        statuses = dict(session.execute(select(Plate.id, Plate.status).where(Plate.id.in_(part))).all())
        moving: dict[str, list[str]] = {}  # old status → plates
        for plate_id in part:
            row, text = listed[plate_id]
            status = statuses.get(plate_id)
            refusal = NO_SUCH_PLATE if status is None else _refusal(plate_id, status, target)
            if status == target:
                result.unchanged.append(plate_id)
            elif refusal:
                result.refuse(row, text, refusal)
            else:
                moving.setdefault(status, []).append(plate_id)
        for old, plate_ids in moving.items():
            audit.record_many(session, actor, "plate.status", "plate", [(i, old, target.value) for i in plate_ids],
                              reason=reason)
            session.execute(update(Plate).where(Plate.id.in_(plate_ids), Plate.status == old)
                            .values(status=target, status_changed_at=now)
                            .execution_options(synchronize_session=False))
            result.changed.extend(plate_ids)
    result.refused.sort(key=lambda note: note.row)
    return result


def plate_ids_in_file(path: str | Path) -> list[tuple[int, str]]:
    """(row, plate ID as written) from a CSV or XLSX list: the column named like an ID, else the first.

    :raises DataError: the file cannot be read or lists nothing.
    """
    try:
        table = read_features(path, require_geometry=False, max_rows=BULK_MAX_ROWS).frame  # refused as it streams
    except FileReadError as error:
        raise DataError(Message(error.said.text, **error.said.values)) from error  # gis' words, translated
    columns = [column for column in table.columns if column not in (SOURCE_ROW, table.geometry.name)]
    by_name = {str(column).strip().lower(): column for column in columns}
    column = next((by_name[name] for name in PLATE_ID_COLUMNS if name in by_name), columns[0] if columns else None)
    if column is None or table.empty:
        raise DataError("%(file)s lists no plate IDs.", file=Path(path).name)
    return [(int(row), str(text).strip()) for row, text in zip(table[SOURCE_ROW], table[column])
            if isinstance(text, str) and text.strip()]


def count_by_status(session: Session) -> dict[str, int]:
    """Plates in each status, every status listed."""
    rows = session.execute(select(Plate.status, func.count()).group_by(Plate.status)).all()
    return {status.value: 0 for status in PlateStatus} | dict(rows)


def find_plate(session: Session, text: str) -> Plate:
    """:raises NotFoundError: not a plate ID, or no such plate."""
    try:
        plate = session.get(Plate, parse_plate_id(text).canonical)
    except InvalidPlateIdError as error:
        raise NotFoundError(error.words) from error
    if plate is None:
        raise NotFoundError("No plate %(plate)s has been issued.", plate=text)
    return plate
