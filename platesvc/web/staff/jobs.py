"""Staff pages for imports and print batches: the forms, each job's progress, its summary and its files."""

import json
import tempfile

from flask import Blueprint, current_app, jsonify, redirect, request, send_file, url_for
from sqlalchemy import select

from platesvc import spreadsheets
from platesvc.errors import DataError, NotFoundError, PlatesvcError
from platesvc.intake import importers
from platesvc.printing import batches
from platesvc.staff import jobs
from platesvc.store.database import db
from platesvc.store.models import Division, DivisionLevel, JobStatus, PlateStatus, Road, Role
from platesvc.web.staff import actor, page, requires, signed_in_user

bp = Blueprint("jobs", __name__)


# The kinds of data in the order staff meet them: buildings, the everyday import, first; divisions, which every
# other record hangs on, last.
KINDS_IN_ORDER = ("buildings", "services", "roads", "beats", "culture", "divisions")
FIELD_PREFIX = "field."
ROAD_NAMES = 20  # offered at a time as staff type


@bp.get("/imports/new")
@requires(Role.OPERATOR)
def import_form():
    """Step 1 of an import: the kind of data and its file."""
    return page("import.html", kinds=KINDS_IN_ORDER, chosen=request.args.get("kind", KINDS_IN_ORDER[0]),
                max_mb=current_app.config["IMPORT_MAX_BYTES"] // 2 ** 20)


@bp.post("/imports")
@requires(Role.OPERATOR, body_limit="IMPORT_MAX_BYTES")
def upload():
    """Keep the upload and show how it reads (step 2); nothing is imported yet."""
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        raise DataError("Choose the file to import.")
    kind = _kind(request.form)
    draft = jobs.save_draft(current_app.config, signed_in_user(), uploads)
    return redirect(url_for("staff.jobs.preview", token=draft.token, kind=kind), 303)


@bp.get("/imports/<token>")
@requires(Role.OPERATOR)
def preview(token: str):
    """Step 2: the file's first rows as read, each field's column (matched as the command line matches them,
    changeable), and the options; its form starts the check (step 3)."""
    draft = jobs.find_draft(current_app.config, signed_in_user(), token)
    asked = request.args.copy()
    asked.setdefault("kind", KINDS_IN_ORDER[0])
    settings = _settings(asked)
    try:
        shown = importers.preview_file(draft.path, settings["kind"], layer=settings["layer"], crs=settings["crs"],
                                       encoding=settings["encoding"], fields=settings["fields"])
        problem = None
    except DataError as error:  # wrong encoding or layer, say: the form stays, to change them
        shown, problem = None, error.message
    return page("import_preview.html", token=token, file=draft.path.name, settings=settings, preview=shown,
                problem=problem, fields=importers.FIELDS[settings["kind"]])


@bp.post("/imports/<token>")
@requires(Role.OPERATOR)
def check(token: str):
    """Step 3: a dry run of the import as previewed; its job page shows what importing would change."""
    draft = jobs.find_draft(current_app.config, signed_in_user(), token)
    settings = _settings(request.form)
    job = jobs.start_import(db.session, current_app.config, signed_in_user(), draft, settings["kind"],
                            layer=settings["layer"], crs=settings["crs"], encoding=settings["encoding"],
                            fields=settings["fields"], retire_missing=request.form.get("retire_missing") == "1",
                            create_roads=request.form.get("create_roads") == "1")
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


@bp.post("/jobs/<int:job_id>/import")
@requires(Role.OPERATOR)
def import_checked(job_id: int):
    """Step 4: import for real what a dry run checked."""
    job = jobs.import_for_real(db.session, current_app.config, signed_in_user(), jobs.find(db.session, job_id),
                               retire_confirmed=request.form.get("confirm_retire") == "1")
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


def _kind(values) -> str:
    kind = values.get("kind", "")
    if kind not in importers.KINDS:
        raise DataError("Choose the kind of data to import.")
    return kind


def _settings(values) -> dict:
    """How to read the file, from the preview's form: its kind, layer, CRS, encoding and field → column."""
    kind = _kind(values)
    return {"kind": kind, "layer": values.get("layer", "").strip() or None,
            "crs": values.get("crs", "").strip() or None, "encoding": values.get("encoding", "").strip() or None,
            # Every select is sent once the preview's form is: an empty one is a field the file has not.
            "fields": {name: values[FIELD_PREFIX + name] or None for name in importers.FIELDS[kind]
                       if FIELD_PREFIX + name in values},
            "create_roads": values.get("create_roads") == "1", "retire_missing": values.get("retire_missing") == "1"}


@bp.get("/prints/new")
@requires(Role.OPERATOR)
def print_form():
    return _print_page(batches.Selection())


def _print_page(chosen: batches.Selection, count: int | None = None, problem: str | None = None,
                status: int = 200):
    """The print form with `chosen` in it; after its "count" button, how many plates that prints, or which name
    the registry does not hold and the nearest it does."""
    districts = db.session.execute(select(Division.code, Division.name).where(
        Division.level == DivisionLevel.DISTRICT).order_by(Division.code)).all()
    return page("print.html", status, districts=districts, statuses=batches.PRINTABLE_STATUSES, chosen=chosen,
                count=count, problem=problem, formats=batches.FORMATS, everything=request.form.get("everything"),
                chosen_formats=request.form.getlist("format") or batches.DEFAULT_FORMATS)


@bp.get("/roads")
@requires(Role.VIEWER)
def road_names():
    """Road names holding `q`, for the print form's road picker: JSON, at most ROAD_NAMES of them."""
    typed = request.args.get("q", "").strip()[:50]
    query = select(Road.name).distinct().order_by(Road.name).limit(ROAD_NAMES)
    if typed:
        query = query.where(Road.name.contains(typed, autoescape=True))
    if request.args.get("district"):
        query = query.where(Road.division_code == request.args["district"])
    return jsonify(db.session.scalars(query).all())


@bp.post("/prints")
@requires(Role.OPERATOR)
def start_print():
    """The same batch as `platesvc plates print`, in the background; its ZIP is downloaded from the job page."""
    form = request.form
    selection = _selection(form)
    if form.get("action") == "count":
        try:
            batches.check_names(db.session, selection)
            return _print_page(selection, count=batches.count_selected(db.session, selection))
        except PlatesvcError as error:
            return _print_page(selection, problem=error.message, status=422)
    if not (selection.district or selection.road or selection.community or selection.plate_ids) \
            and not form.get("everything"):
        raise DataError("No district, road, community or plate ID is chosen. To print every plate of the chosen "
                        "statuses, tick “Print every plate” and send the form again.")
    job = jobs.start_print(db.session, current_app.config, signed_in_user(), selection,
                           ",".join(form.getlist("format")) or ",".join(batches.DEFAULT_FORMATS),
                           form.get("error_correction") or None)
    return redirect(url_for("staff.jobs.job", job_id=job.id), 303)


def _selection(values) -> batches.Selection:
    """The plates a print form chose."""
    plate_ids = tuple(text for text in values.get("plates", "").replace(",", " ").split() if text)
    return batches.Selection(values.get("district") or None, values.get("road", "").strip() or None,
                             values.get("community", "").strip() or None,
                             tuple(values.getlist("status")) or (PlateStatus.ISSUED.value,), plate_ids)


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
    params = json.loads(found.params)
    checked = found.kind == "import" and params.get("dry_run") and found.status == JobStatus.SUCCEEDED
    return page("job.html", job=found, params=params, progress=jobs.progress_of(found),
                summary=jobs.summary_of(found), elapsed=jobs.elapsed(found), checked=checked,
                would_retire=jobs.would_be_retired(found) if checked else 0,
                running=found.status in (JobStatus.QUEUED, JobStatus.RUNNING))


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
