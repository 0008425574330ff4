"""Print batches: choose plates, draw them across cores, pack one ZIP, record the batch.

Plates are ordered by road, then side of the street (odd numbers, then even), then door
number, so an installer walks each side in order. Each road (or each run of `per_file`
plates on it) is one PDF and one unit of work for a worker (printing.render_file). Drawn
artwork is kept in `OUT/.artwork`, so a rerun after an interruption, or a reprint, redraws
only what changed. The database changes only at the end, in one transaction: the batch,
where each plate was placed, and each plate's status moving to `printed`.

While a batch is being made its printer holds a lock on `OUT/.NAME.lock` (a POSIX record lock: the kernel
lets go when the printer dies, and its drawing workers, forked with the file open, do not hold it), taken
before its folder exists and let go only once the batch is recorded; clearing
away unfinished batches (`remove_unfinished`) passes over any batch whose lock is held, and reads which
are recorded only once it holds the others', so it never removes a batch being made or made.
"""

import contextlib
import csv
import difflib
import errno
import fcntl
import json
import multiprocessing
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from gis.pinyin import place_pinyin
from platesvc import labels, spreadsheets
from platesvc.errors import InvalidPlateIdError
from platesvc.messages import Message
from platesvc.ops.processes import die_with_parent
from platesvc.printing.artwork import (
    FileJob,
    FileResult,
    PlateStyle,
    PlateText,
    PrintError,
    Sheet,
    render_file,
)
from platesvc.printing.outlines import OutlineFont, find_font
from platesvc.registry import audit
from platesvc.registry.addresses import format_address
from platesvc.registry.lifecycle import NO_SUCH_PLATE, record_printing
from platesvc.registry.plate_ids import check_public_url, parse_plate_id, plate_url
from platesvc.store.bulk_writes import insert_plain_tuples
from platesvc.store.models import (
    Building,
    BuildingStatus,
    Division,
    DivisionLevel,
    Plate,
    PlatePrint,
    PlateStatus,
    PrintBatch,
    Road,
)

FORMATS = ("pdf", "svg", "png", "csv", "xlsx")
DEFAULT_FORMATS = ("pdf", "svg", "csv", "xlsx")
# A retired plate is never printed: its building is gone.
PRINTABLE_STATUSES = tuple(status.value for status in PlateStatus if status != PlateStatus.RETIRED)
ARTWORK_CACHE = ".artwork"
MANIFEST_COLUMNS = ("plate_id", "display_id", "url", "address", "district", "community", "road", "number",
                    "longitude", "latitude", "file", "page", "position", "sheet")
# Already compressed inside; deflating them again costs time and saves nothing.
NAME_CANDIDATES = 200  # registry names looked at for the nearest spelling of a name it does not hold
GENERIC_NAME_CHARACTERS = set("路街巷道里弄段东西南北中大小新社区村")  # in too many names to tell one apart
STORED_SUFFIXES = {".pdf", ".png", ".xlsx"}

Stage = Callable[[str], None]
Progress = Callable[[int, int], None]  # (plates just finished, plates in all)


@dataclass(frozen=True)
class Selection:
    """Which plates to print; every filter given must hold."""

    district: str | None = None  # division code of the building, 6 digits
    road: str | None = None
    community: str | None = None
    statuses: tuple[str, ...] = (PlateStatus.ISSUED.value,)
    plate_ids: tuple[str, ...] = ()

    @property
    def canonical_ids(self) -> list[str]:
        ids = []
        for text in self.plate_ids:
            try:
                ids.append(parse_plate_id(text).canonical)
            except InvalidPlateIdError as error:
                raise PrintError(error.words) from error
        return ids

    def describe(self) -> Message:
        """The selection as staff chose it, in words."""
        said = [Message("district %(code)s", code=self.district) if self.district else None,
                Message("road %(road)s", road=self.road) if self.road else None,
                Message("community %(community)s", community=self.community) if self.community else None,
                Message("plates %(plates)s", plates=list(self.plate_ids)) if self.plate_ids else None,
                Message("status %(statuses)s", statuses=[labels.PLATE_STATUSES[s] for s in self.statuses])]
        return Message("%(parts)s", parts=[part for part in said if part])


@dataclass(frozen=True)
class PrintSettings:
    style: PlateStyle
    sheet: str = "A1"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    workers: int = 1
    per_file: int = 0  # plates per PDF; 0: one PDF per road
    png_dpi: int = 150

    def __post_init__(self):
        check_formats(self.formats)


def parse_formats(text: str) -> tuple[str, ...]:
    """'pdf, SVG,csv' → ('pdf', 'svg', 'csv'), each once.

    :raises PrintError: an unknown format, or none.
    """
    formats = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    check_formats(formats)
    return formats


def check_formats(formats: tuple[str, ...]) -> None:
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise PrintError("There is no format %(formats)s: choose from %(known)s.", formats=unknown or "-",
                         known=list(FORMATS))


@dataclass
class PrintResult:
    batch_name: str
    folder: Path
    archive: Path | None = None
    batch_id: int | None = None
    printed: int = 0
    files: int = 0
    encoded: int = 0
    reused: int = 0
    refused: list[tuple[str, Message]] = field(default_factory=list)  # (plate ID, reason)

    def summary(self) -> list[Message]:
        """The summary staff read after a batch (the command line and the staff pages alike)."""
        lines = [Message("Not printed: %(plate)s: %(reason)s", plate=parse_plate_id(plate_id).display, reason=reason)
                 for plate_id, reason in self.refused]
        lines.append(Message("Printed %(printed)s plates in %(files)s files as batch %(batch)s (%(drawn)s drawn now, "
                             "%(reused)s reused from earlier runs); %(refused)s not printed.", printed=self.printed,
                             files=self.files, batch=self.batch_name, drawn=self.encoded, reused=self.reused,
                             refused=len(self.refused)))
        lines.append(Message("Recorded as batch %(batch)s: issued plates are now printed, damaged or missing ones "
                             "replaced.", batch=self.batch_name))
        return lines


@dataclass(frozen=True)
class _Plate:
    text: PlateText
    address: str
    longitude: float
    latitude: float


def print_plates(session: Session, config, out_dir: str | Path, selection: Selection, settings: PrintSettings,
                 progress: Progress | None = None, stage: Stage | None = None,
                 actor: audit.Actor = audit.SYSTEM) -> PrintResult:
    """Print the selected plates into a new batch folder and ZIP under `out_dir`, and record the batch.

    The batch, and each plate's move on in its life (lifecycle.record_printing), are `actor`'s.

    :raises PrintError: nothing to print, or a setting that cannot work (checked before any drawing).
    """
    stage = stage or (lambda message: None)
    check_public_url(config["PUBLIC_URL"])
    sheet = Sheet.fitting(settings.sheet, settings.style)
    font_path = find_font(config["PLATE_FONT"])
    font = OutlineFont(font_path)
    out_dir = Path(out_dir)
    stage(Message("Choosing plates: %(selection)s", selection=selection.describe()))
    plates, refused = _printable(font, _select(session, config, selection))
    refused += _asked_for_but_not_selected(session, selection, plates, refused)
    session.commit()  # end the read: drawing takes minutes, and no transaction should stay open so long
    if not plates:
        if refused:
            raise PrintError("No plates to print for %(selection)s: %(reasons)s", selection=selection.describe(),
                             reasons=[Message("%(plate)s: %(reason)s", plate=plate_id, reason=reason)
                                      for plate_id, reason in refused[:5]])
        raise PrintError("No plates to print for %(selection)s.", selection=selection.describe())
    out_dir.mkdir(parents=True, exist_ok=True)
    name = _batch_name(session, config, out_dir)
    result = PrintResult(name, out_dir / name, refused=refused)
    with _making(out_dir, name):
        result.folder.mkdir(parents=True)
        try:
            _draw_and_record(session, result, selection, settings, sheet, plates, font_path, out_dir, progress,
                             stage, actor)
        except BaseException:  # stopped, cancelled or failed: no half-made batch is left to be sent
            _remove_batch_files(out_dir, name)
            raise
    return result


def _lock_path(out_dir: Path, name: str) -> Path:
    return out_dir / f".{name}.lock"


@contextlib.contextmanager
def _making(out_dir: Path, name: str) -> Iterator[None]:
    """Hold the batch's lock while it is made and recorded (see the module's doc)."""
    path = _lock_path(out_dir, name)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(descriptor, fcntl.LOCK_EX)
        try:  # the file a remover took and removed before this lock was had is not the batch's lock any more
            if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(descriptor)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(descriptor)


def _try_lock(out_dir: Path, name: str, deadline: float) -> int | None:
    """The batch's lock, held (its descriptor), if no printer holds it by `deadline` (time.monotonic); else None.
    A printer just killed lets go only once the last of its threads has ended, a moment after it is a zombie."""
    descriptor = os.open(_lock_path(out_dir, name), os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except OSError as held:
            if held.errno not in (errno.EACCES, errno.EAGAIN) or time.monotonic() >= deadline:
                os.close(descriptor)
                if held.errno in (errno.EACCES, errno.EAGAIN):
                    return None
                raise
            time.sleep(0.05)


def _draw_and_record(session: Session, result: PrintResult, selection: Selection, settings: PrintSettings, sheet,
                     plates: list, font_path, out_dir: Path, progress, stage, actor) -> None:
    jobs = _jobs(plates, settings, str(font_path), out_dir / ARTWORK_CACHE, result.folder)
    stage(Message("Drawing %(plates)s plates into %(files)s files with %(workers)s workers on %(sheet)s sheets, "
                  "%(per_sheet)s plates a sheet", plates=len(plates), files=len(jobs), workers=settings.workers,
                  sheet=settings.sheet, per_sheet=sheet.per_page))
    results = {result.stem: result for result in _render(jobs, settings.workers, len(plates), progress)}
    placements = {plate_id: (results[job.stem].pdf, page, position)
                  for job in jobs for plate_id, page, position in results[job.stem].placements}
    result.files = len(jobs)
    result.encoded = sum(result.encoded for result in results.values())
    result.reused = sum(result.reused for result in results.values())
    stage(Message("Writing the manifest"))
    rows = [_manifest_row(plate, placements[plate.text.plate_id], settings.sheet) for plate in plates]
    if "csv" in settings.formats:
        _write_csv(result.folder / "manifest.csv", rows)
    if "xlsx" in settings.formats:
        _write_xlsx(result.folder / "manifest.xlsx", rows)
    stage(Message("Packing the ZIP"))
    result.archive = out_dir / f"{result.batch_name}.zip"
    _zip_folder(result.folder, result.archive)
    stage(Message("Recording the batch"))
    result.batch_id = _record(session, result, selection, settings, plates, placements, actor)
    result.printed = len(plates)


def remove_unfinished(session: Session, out_dir: str | Path, patience: float = 0) -> list[str]:
    """Remove the files of every batch under `out_dir` that no printer is making and that was never recorded
    (its printing was killed), and say whose; a batch is recorded last, once all its files are made.

    Which batches are recorded is read afresh, on a connection of its own, once their locks are held: the
    caller's transaction may have begun before a batch's was committed (a SQLite snapshot would not see it).
    A lock still held is waited for up to `patience` seconds in all (a printer just killed)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    candidates = sorted({path.name.removeprefix(".").split(".")[0] for path in out_dir.iterdir()
                         if path.name.lstrip(".").startswith("batch-")})
    held, deadline = {}, time.monotonic() + patience
    try:
        for name in candidates:
            descriptor = _try_lock(out_dir, name, deadline)
            if descriptor is not None:  # else a printer is making it
                held[name] = descriptor
        if not held:
            return []
        with session.get_bind().connect() as connection:
            recorded = set(connection.scalars(select(PrintBatch.name).where(PrintBatch.name.in_(list(held)))))
        unfinished = [name for name in held if name not in recorded]
        for name in unfinished:
            _remove_batch_files(out_dir, name)
        return unfinished
    finally:
        for name, descriptor in held.items():
            _lock_path(out_dir, name).unlink(missing_ok=True)
            os.close(descriptor)


def _remove_batch_files(out_dir: Path, name: str) -> None:
    shutil.rmtree(out_dir / name, ignore_errors=True)
    for path in (out_dir / f"{name}.zip", out_dir / f".{name}.zip.partial"):
        path.unlink(missing_ok=True)


def count_selected(session: Session, selection: Selection) -> int:
    """How many plates a batch of `selection` would take up (those on no road or with no number among them,
    which it would list as refused)."""
    community = aliased(Division)
    query = (select(func.count()).select_from(Plate).join(Building, Building.id == Plate.building_id)
             .outerjoin(Road, Road.id == Building.road_id).outerjoin(community, community.id == Building.community_id))
    return session.scalar(_where_selected(query, selection, community))


def check_names(session: Session, selection: Selection) -> None:
    """Refuse a road or community the registry does not hold, naming the spellings it does hold that are nearest.

    :raises PrintError: a name not in the registry.
    """
    for name, column, level, unknown, suggested in (
            (selection.road, Road.name, None, Message("There is no road named %(name)s in the registry."),
             Message("There is no road named %(name)s in the registry. Did you mean %(nearest)s?")),
            (selection.community, Division.name, DivisionLevel.COMMUNITY,
             Message("There is no community named %(name)s in the registry."),
             Message("There is no community named %(name)s in the registry. Did you mean %(nearest)s?"))):
        if not name:
            continue
        query = select(column).where(Division.level == level) if level else select(column)
        if session.scalar(query.where(column == name).limit(1)) is not None:
            continue
        # Candidates share two characters in a row, or one telling character, with the name: a bounded look,
        # however many roads there are.
        pieces = {name[i:i + 2] for i in range(len(name) - 1)} | {c for c in name if c not in GENERIC_NAME_CHARACTERS}
        candidates = session.scalars(query.where(or_(*(column.contains(piece, autoescape=True)
                                                       for piece in pieces or {name})))
                                     .distinct().limit(NAME_CANDIDATES)).all()
        nearest = difflib.get_close_matches(name, candidates, n=5, cutoff=0.4)
        raise PrintError(Message(suggested.text, name=name, nearest=nearest) if nearest
                         else Message(unknown.text, name=name))


def _where_selected(query, selection: Selection, community):
    """`query` (of plates, their buildings, roads and `community`) narrowed to `selection`."""
    query = query.where(Plate.status.in_(selection.statuses), Building.status == BuildingStatus.ACTIVE)
    if selection.district:
        query = query.where(Building.division_code == selection.district)
    if selection.road:
        query = query.where(Road.name == selection.road)
    if selection.community:
        query = query.where(community.name == selection.community)
    if selection.plate_ids:
        query = query.where(Plate.id.in_(selection.canonical_ids))
    return query


def _select(session: Session, config, selection: Selection) -> Iterable[tuple[_Plate | None, str, Message | None]]:
    """(plate, its ID, why it cannot be printed) for every selected plate, in walking order."""
    district, subdistrict, community = aliased(Division), aliased(Division), aliased(Division)
    query = (
        select(Plate.id, Building.number, Building.name, Building.point, Road.name.label("road"),
               Road.pinyin.label("road_pinyin"), district.name.label("district"),
               subdistrict.name.label("subdistrict"), community.name.label("community"))
        .join(Building, Building.id == Plate.building_id)
        .outerjoin(Road, Road.id == Building.road_id)
        .outerjoin(district, district.code == Building.division_code)
        .outerjoin(community, community.id == Building.community_id)
        .outerjoin(subdistrict, subdistrict.id == community.parent_id)
    )
    rows = sorted(session.execute(_where_selected(query, selection, community)),
                  key=lambda row: (row.road_pinyin or "", row.road or "", row.district or "",
                                   _walking_order(row.number), row.id))
    for row in rows:
        plate_id, road, number = row.id, row.road, row.number
        if not road:
            yield None, plate_id, Message("The building is on no road: a door plate shows its road.")
            continue
        if not number:
            yield None, plate_id, Message("The building has no door number.")
            continue
        full, _ = format_address(config, row.district, row.subdistrict, row.community, road, number, row.name)
        text = PlateText(plate_id, parse_plate_id(plate_id).display, plate_url(config["PUBLIC_URL"], plate_id),
                         road, row.road_pinyin or "", number, row.district or "", row.community or "")
        yield _Plate(text, full, round(row.point.x, 7), round(row.point.y, 7)), plate_id, None


def _asked_for_but_not_selected(session: Session, selection: Selection, plates: list[_Plate],
                                refused: list[tuple[str, Message]]) -> list[tuple[str, Message]]:
    """Why each plate named with --plate is not in the batch, when the other filters left it out."""
    taken = {plate.text.plate_id for plate in plates} | {plate_id for plate_id, _ in refused}
    left_out = [plate_id for plate_id in selection.canonical_ids if plate_id not in taken]
    found = {plate_id: status for plate_id, status in
             session.execute(select(Plate.id, Plate.status).where(Plate.id.in_(left_out)))}
    reasons = []
    for plate_id in left_out:
        status = found.get(plate_id)
        if status is None:
            reasons.append((plate_id, NO_SUCH_PLATE))
        elif status == PlateStatus.RETIRED:
            reasons.append((plate_id, Message("The plate is retired: its building is gone.")))
        elif status not in selection.statuses:
            reasons.append((plate_id, Message("It is %(status)s; choose that status too to print it again.",
                                              status=labels.PLATE_STATUSES[status])))
        else:
            reasons.append((plate_id, Message("It is outside the district, road or community asked for.")))
    return reasons


def _walking_order(number: str | None) -> tuple:
    """Odd numbers first, then even, each rising: one side of the street, then the other."""
    match = re.match(r"\d+", number or "")
    value = int(match[0]) if match else 0
    return (value % 2 == 0, value, number or "")


def _printable(font: OutlineFont, selected) -> tuple[list[_Plate], list[tuple[str, Message]]]:
    plates, refused = [], []
    for plate, plate_id, reason in selected:
        if plate is not None:
            text = plate.text
            missing = font.missing(text.road + text.road_pinyin + text.number + text.district + text.community)
            if missing:
                reason = Message("The plate font %(font)s cannot draw %(characters)s.", font=font.family,
                                 characters="".join(missing))
        if reason:
            refused.append((plate_id, reason))
        else:
            plates.append(plate)
    return plates, refused


def _batch_name(session: Session, config, out_dir: Path) -> str:
    stamp = datetime.now(ZoneInfo(config["TIMEZONE"])).strftime("batch-%Y%m%d-%H%M%S")
    name, suffix = stamp, 1
    while (out_dir / name).exists() or session.scalar(select(PrintBatch.id).where(PrintBatch.name == name)):
        suffix += 1
        name = f"{stamp}-{suffix}"
    return name


def _jobs(plates: list[_Plate], settings: PrintSettings, font_path: str, cache: Path, folder: Path) -> list[FileJob]:
    # Two districts may each have a road of the same name: they are different streets.
    by_road: dict[tuple[str, str], list[PlateText]] = {}
    for plate in plates:
        by_road.setdefault((plate.text.road, plate.text.district), []).append(plate.text)
    jobs = []
    for (road, _), texts in by_road.items():
        size = settings.per_file or len(texts)
        parts = [texts[start:start + size] for start in range(0, len(texts), size)]
        for part_number, part in enumerate(parts, 1):
            stem = f"{len(jobs) + 1:04d}-{_slug(texts[0].road_pinyin) or _slug(place_pinyin(road))}"
            if len(parts) > 1:
                stem += f"-{part_number}"
            jobs.append(FileJob(stem, tuple(part), settings.style, settings.sheet, frozenset(settings.formats),
                                font_path, str(cache), str(folder), settings.png_dpi))
    return jobs


def _slug(text: str) -> str:
    """File names in ASCII: any unzip tool and any manufacturer's computer reads them."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _render(jobs: list[FileJob], workers: int, total: int, progress: Progress | None) -> Iterable[FileResult]:
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            result = render_file(job)
            if progress:
                progress(len(job.plates), total)
            yield result
        return
    # Spawned, not forked: a worker starts clean, without the parent's database connections.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, initializer=die_with_parent)
    try:
        # Longest roads first, so no worker is left with a long one at the end.
        futures = {pool.submit(render_file, job): job
                   for job in sorted(jobs, key=lambda job: len(job.plates), reverse=True)}
        for future in as_completed(futures):
            result = future.result()
            if progress:
                progress(len(futures[future].plates), total)
            yield result
    except BaseException:  # cancelled or failed: the files not begun are not drawn (those begun end first)
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()


def _manifest_row(plate: _Plate, placement: tuple[str | None, int, int], sheet: str) -> dict:
    text = plate.text
    file, page, position = placement
    return {"plate_id": text.plate_id, "display_id": text.display_id, "url": text.url, "address": plate.address,
            "district": text.district, "community": text.community, "road": text.road, "number": text.number,
            "longitude": plate.longitude, "latitude": plate.latitude, "file": file or "",
            "page": page if file else "", "position": position if file else "", "sheet": sheet if file else ""}


def _write_csv(path: Path, rows: list[dict]) -> None:
    # UTF-8 with a byte-order mark: Excel on a Chinese Windows then opens it without mojibake.
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.DictWriter(file, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows({name: spreadsheets.cell(value) for name, value in row.items()} for row in rows)


def _write_xlsx(path: Path, rows: list[dict]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("plates")
    sheet.append(list(MANIFEST_COLUMNS))
    for row in rows:
        sheet.append(spreadsheets.workbook_row(sheet, [row[column] for column in MANIFEST_COLUMNS]))
    book.save(path)


def _zip_folder(folder: Path, archive: Path) -> None:
    partial = archive.with_name(f".{archive.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}",
                             compress_type=zipfile.ZIP_STORED if path.suffix in STORED_SUFFIXES else None)
    os.replace(partial, archive)


def _record(session: Session, result: PrintResult, selection: Selection, settings: PrintSettings,
            plates: list[_Plate], placements: dict, actor: audit.Actor) -> int:
    """The batch, each plate's place in it, and each plate moved on: all in one transaction."""
    now = datetime.now(UTC)
    try:
        batch = PrintBatch(name=result.batch_name, created_at=now, formats=",".join(settings.formats),
                           selection=json.dumps({**selection.__dict__, "sheet": settings.sheet,
                                                 "plate": f"{settings.style.width_mm:g}x{settings.style.height_mm:g}",
                                                 "error_correction": settings.style.error_correction},
                                                ensure_ascii=False),
                           plate_count=len(plates), archive=str(result.archive))
        session.add(batch)
        session.flush()
        plate_ids = [plate.text.plate_id for plate in plates]
        insert_plain_tuples(session, PlatePrint.__table__, ["batch_id", "plate_id", "file", "page", "position"],
                            [(batch.id, plate_id, *placements[plate_id]) for plate_id in plate_ids])
        record_printing(session, actor, plate_ids, result.batch_name)
        audit.record(session, actor, "print.batch", "print_batch", result.batch_name,
                     details={"plates": len(plate_ids), "selection": selection.describe().english()})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return batch.id
