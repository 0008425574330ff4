"""Imports and print batches started from the staff pages: put on the job queue (queue.py) and run by its
consumer, each in a process of its own (`platesvc jobs run ID`), so a job outlives the request that starts
it, its memory goes back when it ends, and a kill takes that job alone.

A job runs the very function the command line does (importers.import_file,
batches.print_plates) and keeps the same summary. Its folder (under
PLATESVC_JOBS_DIR) holds the upload, the runner's log, the CSV of refused rows, and the progress
the runner writes as it goes: a file, because an import's one transaction holds
SQLite's write lock until it ends.

A runner that dies (kill -9, a crash) without ending its job: the consumer that waits on it ends the
job as failed at once. Where that consumer is gone too (the machine), `reap` ends it once its process
is gone or has been silent for STALLED_SECONDS, kills what is left of its process group and removes a
print's unfinished files; it runs each minute in the consumer, before any job starts and whenever a job
is looked at, so a dead runner never blocks the next job. Staff cancel a job: a queued one at once, a
running one at its next step (a cancel file the runner looks for as it reports progress; its transaction
rolls back).
"""

import contextlib
import json
import logging
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from platesvc import config as config_module
from platesvc import labels, spreadsheets
from platesvc.errors import DataError, NotFoundError, PlatesvcError
from platesvc.intake import importers
from platesvc.messages import Message
from platesvc.printing import batches
from platesvc.printing.artwork import PlateStyle
from platesvc.registry import audit, lifecycle
from platesvc.spreadsheets import RowNote
from platesvc.staff.queue import JobQueue, location
from platesvc.store.models import JobStatus, StaffJob, User, as_utc

log = logging.getLogger(__name__)
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
PROGRESS_FILE = "progress.json"
LOG_FILE = "job.log"
INPUT_FOLDER = "input"
CANCEL_FILE = "cancel"
HEARTBEAT_SECONDS = 5
STALLED_SECONDS = 120  # a running job silent this long has lost its runner (or hangs), wherever it runs
BURY_PATIENCE_SECONDS = 10  # how long a dead print runner's batch lock may take to be let go (its last threads)
UNSTARTED_SECONDS = 60  # a queued job no consumer has begun in this long: none is running
DIED = Message("The job stopped before it finished (its process was killed or crashed): nothing it did was kept. "
               "Start it again; if it stops again, tell the administrator.")
UNTAKEN = Message("No job worker took the job within %(seconds)s seconds, so it was not started: ask the "
                  "administrator to start the job worker (platesvc worker), then start the job again.",
                  seconds=UNSTARTED_SECONDS)
UNQUEUED = Message("The job queue could not be reached, so the job was not started: try again, or tell the "
                   "administrator.")
STARTING, WAITING = Message("Starting"), Message("Waiting to start")
STOPPED = Message("The job stopped on an unexpected error: nothing it did was kept. Tell the administrator (the "
                  "job's log says why).")
DRAFTS_FOLDER = "drafts"  # uploads being previewed, by token
OWNER_FILE = "owner"
DRAFT_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
DRAFT_SECONDS = 24 * 3600
READABLE = {".shp", ".gpkg", ".geojson", ".json", ".csv", ".txt", ".xlsx"}  # what an import reads


class JobCancelled(Exception):
    """Staff cancelled the job while it ran."""


def _folder(config: Mapping, job_id: int) -> Path:
    return Path(config["JOBS_DIR"]) / f"{job_id:06d}"


def _refuse_a_second(session: Session, config: Mapping, kind: str) -> None:
    reap(session, config)
    running = session.scalar(select(StaffJob.id).where(StaffJob.kind == kind, StaffJob.status.in_(ACTIVE)).limit(1))
    if running is not None:
        raise DataError("%(kind)s job #%(job)s has not finished yet: one at a time. Wait for it, or cancel it on its "
                        "page.", kind=labels.JOB_KINDS[kind], job=running)


def _new_job(session: Session, config: Mapping, user: User, kind: str, params: dict) -> StaffJob:
    _refuse_a_second(session, config, kind)
    job = StaffJob(kind=kind, status=JobStatus.QUEUED, params="{}", folder="", created_by=user)
    session.add(job)
    session.flush()
    job.folder = str(_folder(config, job.id))
    job.params = json.dumps(params, ensure_ascii=False)
    return job


@dataclass(frozen=True)
class Draft:
    """An upload staff look at, map and check before importing it: kept under its token until imported or
    DRAFT_SECONDS old."""

    token: str
    folder: Path
    path: Path  # the file an import would read


def save_draft(config: Mapping, user: User, uploads: list) -> Draft:
    """Keep an upload (a file, a Shapefile's parts, or a ZIP of them) for its owner to preview and import.

    `uploads` are werkzeug FileStorage objects.

    :raises DataError: nothing readable uploaded.
    """
    token = secrets.token_urlsafe(16)
    folder = Path(config["JOBS_DIR"]) / DRAFTS_FOLDER / token
    try:
        path = _save_upload(uploads, folder / INPUT_FOLDER, config["IMPORT_MAX_BYTES"])
        (folder / OWNER_FILE).write_text(str(user.id))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Draft(token, folder, path)


def find_draft(config: Mapping, user: User, token: str) -> Draft:
    """The upload `user` kept under `token`.

    :raises NotFoundError: no such upload of theirs, or it was removed for age.
    """
    folder = Path(config["JOBS_DIR"]) / DRAFTS_FOLDER / token
    try:
        owner = (folder / OWNER_FILE).read_text() if DRAFT_TOKEN.fullmatch(token) else None
    except (FileNotFoundError, NotADirectoryError):
        owner = None
    if owner != str(user.id):
        raise NotFoundError("This upload is no longer kept (uploads are kept for a day until they are imported): "
                            "upload the file again.")
    return Draft(token, folder, _file_to_import(folder / INPUT_FOLDER))


def start_import(session: Session, config: Mapping, user: User, draft: Draft, kind: str, *,
                 layer: str | None = None, crs: str | None = None, encoding: str | None = None,
                 fields: dict[str, str] | None = None, dry_run: bool = True, retire_missing: bool = False,
                 create_roads: bool = False) -> StaffJob:
    """Start importing a kept upload: by default a dry run, which shows what the import would change.

    Commits the queued job, then queues it.

    :raises DataError: an unknown kind, or an import already running.
    """
    if kind not in importers.KINDS:
        raise DataError("There is no kind of import %(kind)s: choose one of %(kinds)s.", kind=kind,
                        kinds=[labels.IMPORT_KINDS[known] for known in importers.KINDS])
    params = {"kind": kind, "layer": layer or None, "crs": crs or None, "encoding": encoding or None,
              "fields": fields or {}, "dry_run": dry_run, "retire_missing": retire_missing,
              "create_roads": create_roads, "draft": draft.token}
    return _start_with_input(session, config, user, "import", params,
                             lambda folder: _copy_input(draft.path, folder))


def import_for_real(session: Session, config: Mapping, user: User, checked: StaffJob,
                    retire_confirmed: bool = False) -> StaffJob:
    """Import for real what the dry run `checked` read, as it read it.

    :raises DataError: `checked` is not a finished dry run, or it would retire records and that is not
        confirmed.
    """
    params = json.loads(checked.params)
    if checked.kind != "import" or not params.get("dry_run") or checked.status != JobStatus.SUCCEEDED:
        raise DataError("Job %(job)s is not a finished check of an import: only a check can be imported.",
                        job=checked.id)
    would_retire = would_be_retired(checked)
    if would_retire and not retire_confirmed:
        raise DataError("This import would retire %(count)s buildings that are not in the file: tick the box that "
                        "confirms it, or check the file again without retiring.", count=would_retire)
    checked_file = Path(params["path"])
    params = {**params, "dry_run": False, "checked_by_job": checked.id}
    return _start_with_input(session, config, user, "import", params,
                             lambda folder: _copy_input(checked_file, folder))


def would_be_retired(job: StaffJob) -> int:
    """How many stored buildings a dry run would retire, as asked, for not being in its file."""
    return summary_of(job).get("counts", {}).get("retired", 0) if json.loads(job.params).get("dry_run") else 0


def start_marking(session: Session, config: Mapping, user: User, status: str, reason: str | None,
                  uploads: list) -> StaffJob:
    """Save a list of plate IDs (CSV or XLSX) and mark every plate in it, e.g. as installed, in the background.

    :raises DataError: a status a list cannot mark, a missing reason, no list, or a marking already running.
    """
    lifecycle.check_change_many(status, reason)
    return _start_with_input(session, config, user, "mark", {"status": status, "reason": reason},
                             lambda folder: _save_upload(uploads, folder, config["IMPORT_MAX_BYTES"]))


def _start_with_input(session: Session, config: Mapping, user: User, kind: str, params: dict,
                      save_input: Callable[[Path], Path]) -> StaffJob:
    """A job of `kind` whose input `save_input(folder)` puts into its folder, returning the file to read."""
    job = _new_job(session, config, user, kind, params)
    folder = Path(job.folder)
    try:
        params["path"] = str(save_input(folder / INPUT_FOLDER))
        params["file"] = Path(params["path"]).name
        job.params = json.dumps(params, ensure_ascii=False)
        audit.record(session, audit.Actor.of(user), "job.started", "job", job.id, details=params)
        session.commit()
    except BaseException:
        session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _submit(session, config, job)
    return job


def start_print(session: Session, config: Mapping, user: User, selection: batches.Selection,
                formats: str, error_correction: str | None = None, sheet: str | None = None,
                per_file: int = 0) -> StaffJob:
    """Start a print batch of the selected plates; the ZIP lands in PLATESVC_PRINT_DIR.

    :raises DataError: a setting that cannot work, or a batch already printing.
    """
    try:  # what would make the runner fail at once is refused before anything is queued
        parsed = batches.parse_formats(formats)
        PlateStyle.parse(config["PLATE_SIZE"], config["PLATE_GROUND"], config["PLATE_INK"],
                         error_correction or config["PLATE_ERROR_CORRECTION"])
        _ = selection.canonical_ids  # a mistyped plate ID
        batches.check_names(session, selection)  # a misspelt road or community
    except PlatesvcError as error:
        raise DataError(error.words) from error
    if not set(selection.statuses) <= set(batches.PRINTABLE_STATUSES):
        raise DataError("Only plates that are %(statuses)s can be printed.",
                        statuses=[labels.PLATE_STATUSES[status] for status in batches.PRINTABLE_STATUSES])
    params = {"selection": asdict(selection), "formats": list(parsed), "error_correction": error_correction,
              "sheet": sheet or None, "per_file": per_file}
    job = _new_job(session, config, user, "print", params)
    Path(job.folder).mkdir(parents=True)
    audit.record(session, audit.Actor.of(user), "job.started", "job", job.id, details=params)
    session.commit()
    _submit(session, config, job)
    return job


def job_queue(config: Mapping) -> JobQueue:
    """The queue this deployment's jobs wait in."""
    return _queue_at(location(config))


@lru_cache(maxsize=4)
def _queue_at(where: str) -> JobQueue:
    return JobQueue(where, dispatch, reap)


def _submit(session: Session, config: Mapping, job: StaffJob) -> None:
    """Put a committed job on the queue; if the queue cannot take it, the job ends as failed, saying so."""
    try:
        job_queue(config).submit(job.id)
    except Exception:
        log.exception("job %s could not be queued", job.id)
        _end(session, job, JobStatus.FAILED, UNQUEUED, audit.SYSTEM)
        session.commit()


def _save_upload(uploads: list, folder: Path, max_bytes: int) -> Path:
    """Store the uploaded files (ZIPs unpacked) and say which one to import."""
    folder.mkdir(parents=True)
    for upload in uploads:
        name = _plain_name(upload.filename)
        if name.lower().endswith(".zip"):
            archive = folder.parent / name
            upload.save(archive)
            _unpack(archive, folder, max_bytes)
        else:
            upload.save(folder / name)
    return _file_to_import(folder)


def _copy_input(path: Path, folder: Path) -> Path:
    """Copy a kept input (the file to read and the files beside it, a Shapefile's parts) into `folder`."""
    shutil.copytree(path.parent, folder)
    return folder / path.name


def _plain_name(name: str | None) -> str:
    """The file's own name, with no folder in it (nor a way out of ours); Chinese names are kept."""
    plain = Path((name or "").replace("\\", "/")).name.strip()
    if not plain or plain.startswith(".") or any(ord(c) < 32 for c in plain):
        raise DataError("%(name)s is not a usable file name.", name=repr(name))
    return plain


def _unpack(archive: Path, folder: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
            if sum(member.file_size for member in members) > max_bytes:
                raise DataError("%(file)s unpacks to more than %(mib)s MiB.", file=archive.name,
                                mib=max_bytes // 2 ** 20)
            for member in members:
                name = Path(member.filename.replace("\\", "/")).name
                if not name or name.startswith("."):
                    continue
                with bundle.open(member) as source, open(folder / name, "wb") as target:
                    shutil.copyfileobj(source, target)
    except zipfile.BadZipFile as error:
        raise DataError("%(file)s is not a ZIP archive that can be opened.", file=archive.name) from error
    finally:
        archive.unlink(missing_ok=True)


def _file_to_import(folder: Path) -> Path:
    files = sorted(path for path in folder.iterdir() if path.is_file())
    readable = [path for path in files if path.suffix.lower() in READABLE]
    shapefiles = [path for path in readable if path.suffix.lower() == ".shp"]
    chosen = shapefiles or readable
    if len(chosen) != 1:
        raise DataError("Upload one Shapefile (with its .dbf, .shx, .prj and .cpg), GeoPackage, GeoJSON, CSV or Excel "
                        "(.xlsx) file, or a ZIP of one; this upload holds %(files)s.",
                        files=[path.name for path in files] or "-")
    return chosen[0]


def dispatch(session: Session, config: Mapping, job_id: int) -> None:
    """Run a job taken off the queue in a runner process of its own, and wait for it; a runner that ends
    without ending its job (killed, crashed) has its job ended as failed, its leftovers removed."""
    job = session.get(StaffJob, job_id)
    if job is None or job.status != JobStatus.QUEUED:
        return  # cancelled, or ended for want of a worker, while it waited
    environment = {**os.environ, **config_module.environment_for(config)}
    # A new process takes seconds to import its libraries: staff see at once that the job has been taken.
    _write_progress(Path(job.folder) / PROGRESS_FILE, {"stage": STARTING.as_json(), "done": 0, "total": None})
    with open(Path(job.folder) / LOG_FILE, "ab") as log_file:
        runner = subprocess.Popen([sys.executable, "-m", "platesvc", "jobs", "run", str(job.id)],
                                  env=environment, stdin=subprocess.DEVNULL, stdout=log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    runner.wait()
    session.rollback()
    job = session.get(StaffJob, job_id)
    if job.status in ACTIVE:
        _bury(session, config, job, _progress_file(job) or {}, DIED)
        session.commit()


def _write_progress(path: Path, state: dict) -> None:
    """Replace the progress file whole, so a reader never sees half of it."""
    unfinished = path.with_suffix(".tmp")
    unfinished.write_text(json.dumps(state, ensure_ascii=False))
    os.replace(unfinished, path)


class _Progress:
    """What the runner is doing, written to the job's folder as it goes, at most twice a second; and at
    each step, whether staff have cancelled it."""

    def __init__(self, path: Path):
        self._path = path
        self._cancel = path.with_name(CANCEL_FILE)
        self._state = {"stage": STARTING.as_json(), "done": 0, "total": None, "pid": os.getpid(),
                       "host": socket.gethostname()}
        self._written = 0.0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.write(force=True)
        threading.Thread(target=self._beat, name="job-heartbeat", daemon=True).start()

    def stage(self, message: Message) -> None:
        self._check_cancelled()
        self._state["stage"] = message.as_json()
        self.write(force=True)

    def advance(self, count: int, total: int) -> None:
        self._check_cancelled()
        self._state["done"] += count
        self._state["total"] = total
        self.write()

    def _check_cancelled(self) -> None:
        if not self._stopped.is_set() and self._cancel.exists():
            raise JobCancelled()

    def write(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._written < 0.5:
            return
        with self._lock:
            self._written = now
            _write_progress(self._path, {**self._state, "updated": now})

    def stop(self) -> None:
        self._stopped.set()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            self.write(force=True)


def limit_memory(config: Mapping) -> int | None:
    """Cap this process's address space (RLIMIT_AS) at JOB_MEMORY_MB, so that a job that would take more fails
    with a MemoryError rather than the machine (and the OOM killer) failing; the cap in bytes, or None."""
    mib = int(config["JOB_MEMORY_MB"])
    if mib <= 0:
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mib * 2 ** 20 if hard == resource.RLIM_INFINITY else min(mib * 2 ** 20, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def run(session: Session, config: Mapping, job_id: int) -> StaffJob:
    """Run a queued job to its end, recording success (with its summary) or failure (with the reason)."""
    job = find(session, job_id)
    if job.status != JobStatus.QUEUED:
        raise DataError("Job %(job)s is %(status)s, not queued.", job=job_id, status=labels.JOB_STATUSES[job.status])
    job.status, job.started_at = JobStatus.RUNNING, datetime.now(UTC)
    session.commit()
    actor = audit.Actor.of(job.created_by)
    params = json.loads(job.params)
    progress = _Progress(Path(job.folder) / PROGRESS_FILE)
    outcome, summary, error = JobStatus.FAILED, None, None
    try:
        summary = _RUNNERS[job.kind](session, config, Path(job.folder), params, progress, actor)
        outcome = JobStatus.SUCCEEDED
    except JobCancelled:
        outcome, error = JobStatus.CANCELLED, Message("Cancelled by staff: nothing it did was kept.")
    except PlatesvcError as failure:
        error = failure.words
    except MemoryError:  # under JOB_MEMORY_MB (limit_memory): what it held is let go as the stack unwinds
        log.exception("job %s ran out of memory", job_id)
        error = Message("The job needed more memory than a job may take (%(mib)s MiB): nothing it did was kept. Is "
                        "the file what it should be? If so, split it, or ask the administrator to raise "
                        "PLATESVC_JOB_MEMORY_MB.", mib=config["JOB_MEMORY_MB"])
    except BaseException:
        log.exception("job %s stopped", job_id)
        error = STOPPED
        raise
    finally:
        progress.stop()  # before the last stage below, which a cancel file must not stop
        session.rollback()
        job = session.get(StaffJob, job_id)
        job.summary = json.dumps(summary, ensure_ascii=False) if summary else None
        _end(session, job, outcome, error, actor)
        session.commit()
        progress.stage(labels.JOB_STATUSES[outcome])
    return job


def cancel(session: Session, actor: audit.Actor, job: StaffJob) -> None:
    """Cancel a job: a queued one now, a running one at its next step (not committed).

    :raises DataError: the job has ended already.
    """
    if job.status not in ACTIVE:
        raise DataError("Job %(job)s has ended (%(status)s): there is nothing to cancel.", job=job.id,
                        status=labels.JOB_STATUSES[job.status])
    audit.record(session, actor, "job.cancel", "job", job.id, old=job.status)
    if job.status == JobStatus.QUEUED:
        _end(session, job, JobStatus.CANCELLED, Message("Cancelled by %(name)s before it started.", name=actor.name),
             actor)
    else:
        Path(job.folder).mkdir(parents=True, exist_ok=True)
        (Path(job.folder) / CANCEL_FILE).write_text(actor.name)


def reap(session: Session, config: Mapping) -> list[int]:
    """End as failed every job whose runner is gone (committed), and remove uploads kept too long; their ids."""
    drafts = Path(config["JOBS_DIR"]) / DRAFTS_FOLDER
    if drafts.is_dir():
        for folder in drafts.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if time.time() - folder.stat().st_mtime > DRAFT_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
    reaped = []
    for job in list(session.scalars(select(StaffJob).where(StaffJob.status.in_(ACTIVE)))):
        state = _progress_file(job)
        if _runner_gone(job, state):
            _bury(session, config, job, state, DIED if state and "pid" in state else UNTAKEN)
            reaped.append(job.id)
    if reaped:
        session.commit()
    return reaped


def _bury(session: Session, config: Mapping, job: StaffJob, state: dict | None, reason: str) -> None:
    """End a job whose runner is gone as failed, and remove what it left: its processes and unfinished files."""
    if state and "pid" in state and state.get("host") == socket.gethostname():
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the runner and its drawing workers
            os.killpg(state["pid"], signal.SIGKILL)
    log.warning("job %s: %s", job.id, reason)
    _end(session, job, JobStatus.FAILED, reason, audit.SYSTEM)
    if job.kind == "print":
        for name in batches.remove_unfinished(session, config["PRINT_DIR"], patience=BURY_PATIENCE_SECONDS):
            log.warning("job %s: removed the unfinished print batch %s", job.id, name)


def _runner_gone(job: StaffJob, state: dict | None) -> bool:
    if state is None or "pid" not in state:  # never started
        waited = (datetime.now(UTC) - as_utc(job.created_at)).total_seconds()
        return job.status == JobStatus.QUEUED and waited > UNSTARTED_SECONDS
    if state.get("host") == socket.gethostname() and not _alive(state["pid"]):
        return True
    return time.time() - state.get("updated", 0) > STALLED_SECONDS


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its number taken again by someone else's
        return False
    try:  # a zombie (ended, not yet collected by the worker that started it) is no runner
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: the signal's answer stands


def _end(session: Session, job: StaffJob, status: JobStatus, error: Message | None, actor: audit.Actor) -> None:
    job.status, job.finished_at = status, datetime.now(UTC)
    job.error = error.stored() if error else None
    audit.record(session, actor, "job.finished", "job", job.id, new=status, reason=error.english() if error else None)


def _run_import(session, config, folder: Path, params: dict, progress: _Progress, actor) -> dict:
    result = importers.import_file(
        session, params["kind"], params["path"], layer=params["layer"], crs=params["crs"],
        encoding=params["encoding"], fields=params["fields"], dry_run=params["dry_run"],
        retire_missing=params["retire_missing"], create_roads=params.get("create_roads", False),
        progress=progress.advance, stage=progress.stage, actor=actor)
    return {"lines": [line.as_json() for line in result.summary()], "counts": result.counts(),
            "notes": result.save_notes(folder)}


def _run_marking(session, config, folder: Path, params: dict, progress: _Progress, actor) -> dict:
    progress.stage(Message("Reading the list"))
    rows = lifecycle.plate_ids_in_file(params["path"])
    progress.stage(Message("Marking %(count)s plates %(status)s", count=len(rows),
                           status=labels.PLATE_STATUSES[params["status"]]))
    reason = lifecycle.list_reason(params["status"], params["reason"], params["file"])
    result = lifecycle.change_many(session, rows, params["status"], actor, reason)
    session.commit()
    return {"lines": [line.as_json() for line in result.summary()],
            "notes": {importers.ROWS_FILE: spreadsheets.save_notes(result.refused, folder / importers.ROWS_FILE)}}


def _run_print(session, config, folder: Path, params: dict, progress: _Progress, actor) -> dict:
    style = PlateStyle.parse(config["PLATE_SIZE"], config["PLATE_GROUND"], config["PLATE_INK"],
                             params["error_correction"] or config["PLATE_ERROR_CORRECTION"])
    settings = batches.PrintSettings(style, params["sheet"] or config["PRINT_SHEET"], tuple(params["formats"]),
                                           os.cpu_count() or 1, params["per_file"])
    selection = params["selection"]
    selection = batches.Selection(**{**selection, "statuses": tuple(selection["statuses"]),
                                           "plate_ids": tuple(selection["plate_ids"])})
    result = batches.print_plates(session, config, config["PRINT_DIR"], selection, settings,
                                        progress.advance, progress.stage, actor)
    return {"lines": [line.as_json() for line in result.summary()],
            "files": {result.archive.name: str(result.archive)}}


_RUNNERS = {"import": _run_import, "mark": _run_marking, "print": _run_print}


def progress_of(job: StaffJob) -> dict:
    """The runner's last word: stage, done, total, and whether it has gone silent."""
    state = _progress_file(job) or {"stage": WAITING.as_json(), "done": 0, "total": None, "updated": None}
    stage = state["stage"]
    state["stage"] = Message.from_json(stage) if isinstance(stage, dict) else Message.plain(str(stage))
    state["stalled"] = (job.status == JobStatus.RUNNING and state.get("updated") is not None
                        and time.time() - state["updated"] > STALLED_SECONDS)
    state["cancelling"] = job.status == JobStatus.RUNNING and (Path(job.folder) / CANCEL_FILE).exists()
    return state


def _progress_file(job: StaffJob) -> dict | None:
    try:
        return json.loads((Path(job.folder) / PROGRESS_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def summary_of(job: StaffJob) -> dict:
    """What the job did: its summary's lines (messages), counts, row-by-row reports and files."""
    summary = json.loads(job.summary) if job.summary else {}
    summary["lines"] = [Message.from_json(line) if isinstance(line, dict) else Message.plain(line)
                        for line in summary.get("lines", [])]
    return summary


def notes_of(job: StaffJob, name: str) -> Iterator[RowNote]:
    """A row-by-row report the job kept (importers.ROWS_FILE or ABSENT_FILE), note by note.

    :raises NotFoundError: the job kept no such report, or it has been removed since.
    """
    path = Path(job.folder) / name
    if name not in summary_of(job).get("notes", {}) or not path.is_file():
        raise NotFoundError("Job %(job)s has no such report.", job=job.id)
    return spreadsheets.read_notes(path)


def file_of(job: StaffJob, name: str) -> Path:
    """A file the job made, by the name its summary gives it.

    :raises NotFoundError: the job made no such file, or it has been removed since.
    """
    path = summary_of(job).get("files", {}).get(name)
    if path is None or not Path(path).is_file():
        raise NotFoundError("Job %(job)s has no file %(file)s.", job=job.id, file=name)
    return Path(path)


def recent(session: Session, limit: int = 50) -> list[StaffJob]:
    return list(session.scalars(select(StaffJob).order_by(StaffJob.id.desc()).limit(limit)))


def find(session: Session, job_id: int) -> StaffJob:
    job = session.get(StaffJob, job_id)
    if job is None:
        raise NotFoundError("There is no job %(job)s.", job=job_id)
    return job


def elapsed(job: StaffJob) -> float | None:
    """Seconds the job has run (so far, or in all)."""
    if job.started_at is None:
        return None
    end = as_utc(job.finished_at) if job.finished_at else datetime.now(UTC)
    return (end - as_utc(job.started_at)).total_seconds()
