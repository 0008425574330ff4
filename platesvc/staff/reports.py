"""Residents' reports of a damaged, missing or wrong plate or of wrong information, and the staff queue.

A resident needs no account and gives nothing about themselves: what is wrong, a few
words if they like, a photo if they like. A photo is decoded and stored again as a
plain JPEG, which drops its metadata (a phone photo says where it was taken, and by
which phone). Each report gets a ticket to check its status with; staff assign
and close reports, and every step is in the audit trail. City 12345 systems send and
read reports through Open311 (web/open311.py).
"""

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platesvc import labels
from platesvc.errors import DataError, NotFoundError
from platesvc.registry import audit
from platesvc.registry.plate_ids import ALPHABET, check_value, normalize
from platesvc.store.models import ReportAddition, ReportKind, ReportStatus, ResidentReport, User

MAX_DESCRIPTION = 1000
PHOTO_LONG_SIDE = 2048  # pixels: enough to see a plate's damage, small enough to keep
PHOTO_MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding them
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO"}  # MPO: the JPEG some phones write
REFERENCE_BODY = 8  # random Crockford symbols, then a check symbol: 40 bits, and typos are caught
OPEN = (ReportStatus.RECEIVED, ReportStatus.ASSIGNED)
CLOSED = (ReportStatus.RESOLVED, ReportStatus.REJECTED)


def new_ticket() -> str:
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_BODY))
        check = _check_symbol(body)
        if check is not None:  # as with plate IDs: only the 32 plain symbols
            return body + check


def _check_symbol(body: str) -> str | None:
    value = check_value(body)
    return ALPHABET[value] if value < len(ALPHABET) else None


EXAMPLE_TICKET = "KX7M-2Q9H-1"  # a well-formed one, for messages and the API document


def display_ticket(ticket: str) -> str:
    """KX7M-2Q9H-1, as residents are told it."""
    return f"{ticket[:4]}-{ticket[4:8]}-{ticket[8:]}"


def parse_ticket(text: str) -> str:
    """Any spelling of a ticket, canonical (case and separators do not matter; O, I, L read as 0, 1, 1).

    :raises NotFoundError: not the shape of a ticket, or a mistyped one.
    """
    candidate = normalize(text or "")
    if (len(candidate) != REFERENCE_BODY + 1 or any(c not in ALPHABET for c in candidate)
            or _check_symbol(candidate[:-1]) != candidate[-1]):
        raise NotFoundError("%(text)s is not a ticket number (one looks like %(example)s).", text=text,
                            example=EXAMPLE_TICKET)
    return candidate


@dataclass(frozen=True)
class Place:
    """Where a report is about: a plate, and what the plate page shows of it, or a point."""

    plate_id: str | None
    longitude: float | None
    latitude: float | None
    address: str | None


def clean_photo(data: bytes) -> bytes:
    """The photo as a JPEG of at most PHOTO_LONG_SIDE pixels, upright, with no metadata.

    :raises DataError: not a picture this service reads.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in PHOTO_FORMATS:
                raise DataError("A photo must be JPEG, PNG, WebP or GIF, not %(format)s.", format=image.format)
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise DataError("The photo has too many pixels.")
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise DataError("The photo cannot be read as a picture.") from error
    upright.thumbnail((PHOTO_LONG_SIDE, PHOTO_LONG_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)  # nothing of the original's metadata is carried
    return out.getvalue()


def _description(text: str | None) -> str | None:
    """A resident's words as kept: stripped, None for none.

    :raises DataError: longer than MAX_DESCRIPTION.
    """
    text = (text or "").strip() or None
    if text and len(text) > MAX_DESCRIPTION:
        raise DataError("The description has %(count)s characters; it may have at most %(most)s.", count=len(text),
                        most=MAX_DESCRIPTION)
    return text


def submit_report(session: Session, actor: audit.Actor, kind: str, place: Place, description: str | None = None,
                  photo: bytes | None = None, media_url: str | None = None, source: str = "page") -> ResidentReport:
    """A new report in the queue (not committed).

    :raises DataError: an unknown kind, too long a description, an unreadable photo, or nowhere given.
    """
    try:
        kind = ReportKind(kind)
    except ValueError:
        raise DataError("There is no kind of report %(kind)s: choose one of %(kinds)s.", kind=kind,
                        kinds=list(ReportKind)) from None
    description = _description(description)
    if place.plate_id is None and place.address is None and place.longitude is None:
        raise DataError("Say which plate or where: a plate ID, a location or an address.")
    report = ResidentReport(
        ticket=new_ticket(), kind=kind, plate_id=place.plate_id, description=description,
        longitude=place.longitude, latitude=place.latitude, address=place.address,
        photo=clean_photo(photo) if photo else None, media_url=media_url, source=source,
        status=ReportStatus.RECEIVED)
    session.add(report)
    session.flush()
    audit.record(session, actor, "report.received", "report", report.ticket, new=ReportStatus.RECEIVED,
                 details={"kind": kind.value, "plate": place.plate_id, "source": source})
    return report


def open_reports_of(session: Session, plate_id: str, limit: int = 5) -> list[ResidentReport]:
    """The plate's open reports, newest first: what a second resident may add to rather than report again."""
    return list(session.scalars(
        select(ResidentReport).where(ResidentReport.plate_id == plate_id, ResidentReport.status.in_(OPEN))
        .order_by(ResidentReport.created_at.desc(), ResidentReport.id.desc()).limit(limit)))


def add_to_report(session: Session, actor: audit.Actor, report: ResidentReport, description: str | None = None,
                  photo: bytes | None = None) -> ReportAddition:
    """Another resident's word on an open report (none at all says "I see it too"); not committed.

    :raises DataError: the report is closed (report it afresh), too long a description, an unreadable photo.
    """
    if report.status not in OPEN:
        raise DataError("This report has been closed since: if the problem is still there, report it again.")
    description = _description(description)
    addition = ReportAddition(report_id=report.id, description=description,
                              photo=clean_photo(photo) if photo else None)
    session.add(addition)
    report.updated_at = datetime.now(UTC)
    session.flush()
    audit.record(session, actor, "report.added_to", "report", report.ticket,
                 details={"addition": addition.id, "photo": photo is not None, "described": description is not None})
    return addition


def find_report(session: Session, text: str) -> ResidentReport:
    """:raises NotFoundError: no such report."""
    report = session.scalar(select(ResidentReport).where(ResidentReport.ticket == parse_ticket(text)))
    if report is None:
        raise NotFoundError("No report %(ticket)s has been received.", ticket=text)
    return report


def update_report(session: Session, actor: audit.Actor, report: ResidentReport, *, status: str | None = None,
                  assignee: User | None | bool = False, public_notes: str | None = None,
                  reason: str | None = None) -> None:
    """Assign (`assignee`; None unassigns), move on (`status`) and answer (`public_notes`) a report, each an event.

    :raises DataError: an unknown status, or closing a report without saying what was done.
    """
    now = datetime.now(UTC)
    if assignee is not False and assignee is not report.assignee:
        audit.record(session, actor, "report.assigned", "report", report.ticket,
                     old=report.assignee.username if report.assignee else None,
                     new=assignee.username if assignee else None, reason=reason)
        report.assignee = assignee
        if assignee is not None and report.status == ReportStatus.RECEIVED and status is None:
            status = ReportStatus.ASSIGNED
    if public_notes is not None and public_notes.strip() != (report.public_notes or ""):
        report.public_notes = public_notes.strip()[:MAX_DESCRIPTION] or None
        audit.record(session, actor, "report.answered", "report", report.ticket, reason=report.public_notes)
    if status is not None and status != report.status:
        try:
            status = ReportStatus(status)
        except ValueError:
            raise DataError("There is no report status %(status)s: choose one of %(statuses)s.", status=status,
                            statuses=list(labels.REPORT_STATUSES.values())) from None
        if status in CLOSED and not (report.public_notes or reason):
            raise DataError("Say what was done (a note for the resident) before closing a report.")
        audit.record(session, actor, "report.status", "report", report.ticket, old=report.status, new=status,
                     reason=reason)
        report.status = status
        report.closed_at = now if status in CLOSED else None
    report.updated_at = now


def queue(session: Session, statuses=OPEN, kind: str | None = None, limit: int = 200,
          offset: int = 0) -> list[ResidentReport]:
    """Reports in these statuses, oldest first (the longest waiting at the top)."""
    query = select(ResidentReport).where(ResidentReport.status.in_(list(statuses)))
    if kind:
        query = query.where(ResidentReport.kind == kind)
    return list(session.scalars(query.order_by(ResidentReport.created_at, ResidentReport.id)
                                .limit(limit).offset(offset)))


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(ResidentReport.status, func.count()).group_by(ResidentReport.status)).all()
    return {status.value: 0 for status in ReportStatus} | dict(rows)


def photo_of(session: Session, report: ResidentReport, addition_id: int | None = None) -> bytes | None:
    """The report's photo, or that of one of its additions."""
    if addition_id is None:
        return session.scalar(select(ResidentReport.photo).where(ResidentReport.id == report.id))
    return session.scalar(select(ReportAddition.photo).where(ReportAddition.report_id == report.id,
                                                              ReportAddition.id == addition_id))


def additions_with_photos(session: Session, report: ResidentReport) -> set[int]:
    """Which of the report's additions came with a photo (without reading the photos)."""
    return set(session.scalars(select(ReportAddition.id).where(ReportAddition.report_id == report.id,
                                                              ReportAddition.photo.is_not(None))))
