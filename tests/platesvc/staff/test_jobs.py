"""Staff jobs under bad luck: a runner killed with -9 ends its job as failed, leaves no drawing worker and
no half-made batch, and blocks nothing; staff cancel a job, queued or running."""

import io
import json
import os
import resource
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from platesvc.registry.audit import SYSTEM
from platesvc.staff import jobs, queue
from platesvc.store.database import db
from platesvc.store.models import JobStatus, Plate, PlateStatus, PrintBatch, Role, ServicePoint, StaffJob

SECONDS = 120
KILLED_IMPORT_ROWS = 30_000  # seconds of reading and checking: it is killed on its way


def _job(job_id: int) -> StaffJob:
    db.session.rollback()
    return db.session.get(StaffJob, job_id)


def _wait(condition, what: str):
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {SECONDS} s")


def _drawing(job_id: int) -> dict:
    """The print job's progress once its workers are drawing."""
    def state():
        found = jobs.progress_of(_job(job_id))
        return found if found.get("done") and found.get("pid") else None
    return _wait(state, "drawing")


def _group(pid: int) -> list[int]:
    """The processes still in the runner's process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid and fields[0] != "Z":  # its group, and not a zombie
                members.append(int(entry.name))
    return members


def _ended(job_id: int) -> JobStatus:
    return _wait(lambda: _job(job_id).status not in jobs.ACTIVE and _job(job_id).status, f"job {job_id} ending")


def _start_import(app, user, source_id: str, rows: int = 1) -> int:
    """An import of `rows` service points, the first with `source_id`, started as the staff pages start one."""
    rows = "编号,名称,类别,电话,开放时间,经度,纬度\n" + "".join(
        f"{source_id if row == 0 else f'{source_id}-{row}'},凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,"
        f"{106.2 + row % 1000 / 10_000:.4f},{38.4 + row // 1000 / 10_000:.4f}\n" for row in range(rows))
    draft = jobs.save_draft(app.config, user, [FileStorage(io.BytesIO(rows.encode("gbk")), "服务点.csv")])
    return jobs.start_import(db.session, app.config, user, draft, "services", dry_run=False).id


def test_a_job_waits_on_the_queue_until_a_worker_takes_it(seeded_app, staff, request):
    job_id = _start_import(seeded_app, staff[Role.OPERATOR], "QUEUED-1")
    time.sleep(1)
    assert _job(job_id).status == JobStatus.QUEUED  # no worker yet: it waits, and nothing is lost
    request.getfixturevalue("job_worker")
    assert _ended(job_id) == JobStatus.SUCCEEDED
    assert db.session.scalar(select(ServicePoint.name).where(ServicePoint.source_id == "QUEUED-1")) == "凤凰助餐点"


def test_an_import_runner_killed_mid_import_fails_its_job_and_keeps_nothing(seeded_app, staff, job_worker):
    operator = staff[Role.OPERATOR]
    before = db.session.scalar(select(func.count()).select_from(ServicePoint))
    job_id = _start_import(seeded_app, operator, "KILLED-1", rows=KILLED_IMPORT_ROWS)
    state = _wait(lambda: (found := jobs.progress_of(_job(job_id))).get("pid") and found, "the import starting")
    os.kill(state["pid"], signal.SIGKILL)
    killed = time.monotonic()
    assert _ended(job_id) == JobStatus.FAILED and time.monotonic() - killed < 5  # at once, not in minutes
    assert "killed or crashed" in str(_job(job_id).failure)
    assert db.session.scalar(select(func.count()).select_from(ServicePoint)) == before  # nothing was kept
    assert _ended(_start_import(seeded_app, operator, "AFTER-1")) == JobStatus.SUCCEEDED  # and nothing is blocked


def test_a_job_the_queue_cannot_take_is_failed_saying_so(seeded_app, staff, signed_in, monkeypatch):
    client, csrf = signed_in(Role.OPERATOR)

    def unreachable(_queue, _job_id):
        raise ConnectionError("connection refused")
    monkeypatch.setattr(jobs.JobQueue, "submit", unreachable)
    job_id = _start_import(seeded_app, staff[Role.OPERATOR], "UNQUEUED-1")
    assert _job(job_id).status == JobStatus.FAILED and _job(job_id).failure == jobs.UNQUEUED
    assert "无法连接任务队列" in client.get(f"/staff/jobs/{job_id}").text


def _start_print(client, csrf) -> int:
    started = client.post("/staff/prints", data={"csrf_token": csrf, "everything": "1", "status": "issued",
                                                 "format": ["pdf", "png"]})
    assert started.status_code == 303, started.text
    return int(started.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_a_print_runner_killed_mid_batch_fails_its_job_and_leaves_nothing(issued_app, signed_in, plate_font,
                                                                         job_worker):
    client, csrf = signed_in(Role.OPERATOR)
    job_id = _start_print(client, csrf)
    pid = _drawing(job_id)["pid"]
    assert len(_group(pid)) > 1  # the runner and its drawing workers
    os.kill(pid, signal.SIGKILL)  # the runner alone: its workers must not outlive it
    killed = time.monotonic()
    _wait(lambda: "进程被终止或崩溃" in client.get(f"/staff/jobs/{job_id}").text, "the job page saying so")
    assert time.monotonic() - killed < 5 and _job(job_id).status == JobStatus.FAILED  # at once, not in minutes
    _wait(lambda: not _group(pid), "the drawing workers ending")
    print_dir = Path(issued_app.config["PRINT_DIR"])
    assert not [path for path in print_dir.iterdir() if path.name.lstrip(".").startswith("batch-")]
    assert db.session.scalar(select(func.count()).select_from(PrintBatch)) == 0
    assert set(db.session.scalars(select(Plate.status))) == {PlateStatus.ISSUED}  # nothing was kept
    again = _start_print(client, csrf)  # and nothing is blocked
    jobs.cancel(db.session, SYSTEM, _job(again))
    db.session.commit()
    assert _wait(lambda: _job(again).status in (JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.SUCCEEDED) and
                 _job(again).status, "the second job ending") == JobStatus.CANCELLED


def test_a_running_print_is_cancelled_at_its_next_step_and_keeps_nothing(issued_app, signed_in, plate_font,
                                                                          job_worker):
    client, csrf = signed_in(Role.OPERATOR)
    job_id = _start_print(client, csrf)
    _drawing(job_id)
    assert client.post(f"/staff/jobs/{job_id}/cancel", data={"csrf_token": csrf}).status_code == 303
    status = _wait(lambda: _job(job_id).status not in jobs.ACTIVE and _job(job_id).status, "cancelling")
    assert status == JobStatus.CANCELLED and "已被工作人员取消" in client.get(f"/staff/jobs/{job_id}").text
    assert not [path for path in Path(issued_app.config["PRINT_DIR"]).iterdir() if path.name.startswith("batch-")]
    assert set(db.session.scalars(select(Plate.status))) == {PlateStatus.ISSUED}
    refused = client.post(f"/staff/jobs/{job_id}/cancel", data={"csrf_token": csrf})
    assert refused.status_code == 422 and "无需取消" in refused.text


def test_a_queued_job_is_cancelled_at_once_and_its_runner_then_refuses_it(app, staff, tmp_path):
    job = StaffJob(kind="import", status=JobStatus.QUEUED, params="{}", folder=str(tmp_path / "job"),
                   created_by=staff[Role.OPERATOR])
    db.session.add(job)
    db.session.commit()
    jobs.cancel(db.session, SYSTEM, job)
    db.session.commit()
    assert _job(job.id).status == JobStatus.CANCELLED
    with pytest.raises(Exception, match="not queued"):
        jobs.run(db.session, app.config, job.id)


def test_a_job_whose_runner_never_started_or_went_silent_is_ended(app, staff, tmp_path):
    never = StaffJob(kind="import", status=JobStatus.QUEUED, params="{}", folder=str(tmp_path / "never"),
                     created_by=staff[Role.OPERATOR], created_at=datetime.now(UTC) - timedelta(minutes=5))
    silent = StaffJob(kind="print", status=JobStatus.RUNNING, params="{}", folder=str(tmp_path / "silent"),
                      created_by=staff[Role.OPERATOR], started_at=datetime.now(UTC) - timedelta(minutes=10))
    fresh = StaffJob(kind="import", status=JobStatus.QUEUED, params="{}", folder=str(tmp_path / "fresh"),
                     created_by=staff[Role.OPERATOR])
    db.session.add_all([never, silent, fresh])
    db.session.commit()
    Path(silent.folder).mkdir()
    (Path(silent.folder) / jobs.PROGRESS_FILE).write_text(json.dumps(
        {"stage": "drawing", "pid": 2 ** 22 + 1, "host": "another-server", "updated": time.time() - 600}))
    assert sorted(jobs.reap(db.session, app.config)) == sorted([never.id, silent.id])
    assert _job(fresh.id).status == JobStatus.QUEUED  # its runner may yet start


def test_a_dead_consumer_thread_is_replaced_and_readiness_says_so_meanwhile(app, client):
    """huey's health check replaces a thread of the consumer that died; until then /readyz says `degraded`."""
    consumer = jobs.job_queue(app.config).consumer(2)
    path = queue.heartbeat_path(app.config)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert client.get("/readyz").json["jobs"] == "down"  # no worker has ever beaten
    try:
        consumer.worker_threads[0][1].start()  # one of its threads runs; the other and the scheduler have died
        path.write_text(json.dumps(queue.consumer_state(consumer)))
        assert client.get("/readyz").json["jobs"] == "degraded"
        assert not consumer.check_worker_health()  # what the consumer does every HEALTH_CHECK_SECONDS
        path.write_text(json.dumps(queue.consumer_state(consumer)))
        assert client.get("/readyz").json["jobs"] == "ok"
    finally:
        consumer.stop_flag.set()
        for _, thread in [*consumer.worker_threads, (None, consumer.scheduler)]:
            if thread.is_alive():
                thread.join(10)


MILLION_COLUMNS = {  # 10 MB each
    "named": ",".join(f"c{n}" for n in range(1_000_000)).encode() + b"\n1\n",
    "unnamed": b"," * 999_999 + b"\n" + b"," * 999_999 + b"\n",  # a first line under 1 MiB
    "ragged": "编号,名称,类别,经度,纬度\n".encode() + (b"S-1" + b"," * 999_999 + b"\n") * 10,
}


@pytest.mark.parametrize("shape", list(MILLION_COLUMNS))
def test_a_file_of_a_million_columns_fails_its_import_job_in_words_within_seconds_under_1_gib(app, staff, shape):
    """The issue's file, as staff upload it, run as the job worker runs it: in a runner of its own whose address
    space is capped (PLATESVC_JOB_MEMORY_MB); it had driven an import to 5 GB and never left "starting"."""
    app.config["JOB_MEMORY_MB"] = 1024
    user = staff[Role.OPERATOR]
    draft = jobs.save_draft(app.config, user, [FileStorage(io.BytesIO(MILLION_COLUMNS[shape]), "wide.csv")])
    job_id = jobs.start_import(db.session, app.config, user, draft, "services", dry_run=False).id
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    jobs.dispatch(db.session, app.config, job_id)  # the runner, a process of its own, as the worker starts it
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Its processor time, not the wall's: two shared cores under load make a start of 2 s of work take 7.
    took = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    job = _job(job_id)
    runner_said = (Path(job.folder) / jobs.LOG_FILE).read_text()
    assert "memory capped at 1024 MiB" in runner_said, runner_said
    assert job.status == JobStatus.FAILED, runner_said
    assert str(job.failure).startswith("wide.csv") and ("over 1 MiB" in str(job.failure) or "columns" in str(
        job.failure)), job.failure
    assert took < 5, took  # the runner's start (its imports) included
