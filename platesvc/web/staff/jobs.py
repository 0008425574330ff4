"""Staff pages for imports and print batches: the forms, each job's progress, its summary and its files."""

import tempfile

from flask import Blueprint, current_app, redirect, request, send_file, url_for
from sqlalchemy import select

from platesvc import spreadsheets
from platesvc.errors import DataError, NotFoundError
from platesvc.intake import importers
from platesvc.printing import batches
from platesvc.staff import jobs
from platesvc.store.database import db
from platesvc.store.models import Division, DivisionLevel, JobStatus, PlateStatus, Role
from platesvc.web.staff import actor, page, requires, signed_in_user

bp = Blueprint("jobs", __name__)


def _fields(text: str) -> dict[str, str]:
    """"number=门牌号" lines (the command line's --field) into a mapping."""
    mapping = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, column = line.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise DataError("“%(line)s”: write one field and its column a line, as field=column (e.g. number=door_no).",
                            line=line.strip())
        mapping[name.strip()] = column.strip()
    return mapping


@bp.get("/imports/new")
@requires(Role.OPERATOR)
def import_form():
    return page("import.html", kinds=importers.KINDS, fields=importers.FIELDS,
                max_mb=current_app.config["IMPORT_MAX_BYTES"] // 2 ** 20)


@bp.post("/imports")
@requires(Role.OPERATOR, body_limit="IMPORT_MAX_BYTES")
def start_import():
    """The same import as `platesvc import`, run in the background; the job page shows its progress and result."""
    form = request.form
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        raise DataError("Choose the file to import.")
    job = jobs.start_import(db.session, current_app.config, signed_in_user(), form.get("kind", ""), uploads,
                            layer=form.get("layer", "").strip(), crs=form.get("crs", "").strip(),
                            encoding=form.get("encoding", "").strip(), fields=_fields(form.get("fields", "")),
                            dry_run=form.get("dry_run") == "1", retire_missing=form.get("retire_missing") == "1")
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


@bp.get("/prints/new")
@requires(Role.OPERATOR)
def print_form():
    districts = db.session.execute(select(Division.code, Division.name).where(
        Division.level == DivisionLevel.DISTRICT).order_by(Division.code)).all()
    return page("print.html", districts=districts, statuses=batches.PRINTABLE_STATUSES,
                formats=batches.FORMATS, default_formats=batches.DEFAULT_FORMATS)


@bp.post("/prints")
@requires(Role.OPERATOR)
def start_print():
    """The same batch as `platesvc plates print`, in the background; its ZIP is downloaded from the job page."""
    form = request.form
    plate_ids = tuple(text for text in form.get("plates", "").replace(",", " ").split() if text)
    selection = batches.Selection(form.get("district") or None, form.get("road", "").strip() or None,
                                        form.get("community", "").strip() or None,
                                        tuple(form.getlist("status")) or (PlateStatus.ISSUED.value,), plate_ids)
    if not (selection.district or selection.road or selection.community or plate_ids) and not form.get("everything"):
        raise DataError("No district, road, community or plate ID is chosen. To print every plate of the chosen "
                        "statuses, tick “Print every plate” and send the form again.")
    job = jobs.start_print(db.session, current_app.config, signed_in_user(), selection,
                           ",".join(form.getlist("format")) or ",".join(batches.DEFAULT_FORMATS),
                           form.get("error_correction") or None)
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


@bp.get("/jobs")
@requires(Role.OPERATOR)
def recent():
    jobs.reap(db.session, current_app.config)
    return page("jobs.html", jobs=jobs.recent(db.session))


@bp.get("/jobs/<int:job_id>")
@requires(Role.OPERATOR)
def job(job_id: int):
    """A job's progress (the page refreshes itself while it runs), then its summary and files."""
    jobs.reap(db.session, current_app.config)  # a runner that died ends its job here, not never
    found = jobs.find(db.session, job_id)
    return page("job.html", job=found, progress=jobs.progress_of(found), summary=jobs.summary_of(found),
                elapsed=jobs.elapsed(found), running=found.status in (JobStatus.QUEUED, JobStatus.RUNNING))


@bp.post("/jobs/<int:job_id>/cancel")
@requires(Role.OPERATOR)
def cancel(job_id: int):
    """Cancel a job: a queued one at once, a running one at its next step; nothing it did is kept."""
    jobs.cancel(db.session, actor(), jobs.find(db.session, job_id))
    db.session.commit()
    return redirect(url_for("staff.jobs.job", job_id=job_id), 303)


@bp.get("/jobs/<int:job_id>/files/<name>")
@requires(Role.OPERATOR)
def download(job_id: int, name: str):
    return send_file(jobs.file_of(jobs.find(db.session, job_id), name), as_attachment=True, download_name=name)


# A job's row-by-row reports, by the name they are downloaded as: written in the reader's language on the way.
REPORTS = {"rows": importers.ROWS_FILE, "absent": importers.ABSENT_FILE}


@bp.get("/jobs/<int:job_id>/reports/<report>.<form>")
@requires(Role.OPERATOR)
def report(job_id: int, report: str, form: str):
    """What became of each row of the file the job read (rows), or the stored records it lacks (absent), as CSV
    or Excel (xlsx)."""
    if report not in REPORTS or form not in spreadsheets.FORMATS:
        raise NotFoundError("There is no such report.")
    notes = jobs.notes_of(jobs.find(db.session, job_id), REPORTS[report])
    out = tempfile.SpooledTemporaryFile(max_size=2 ** 22)  # a big report goes to disk, not the worker's memory
    spreadsheets.write_rows(spreadsheets.note_rows(notes), out, form)
    out.seek(0)
    return send_file(out, mimetype=spreadsheets.FORMATS[form], as_attachment=True,
                     download_name=f"job-{job_id}-{report}.{form}")
