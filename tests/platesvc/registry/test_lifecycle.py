"""A plate's life: the transitions allowed, an audit event for each (who, when, what, why), an
append-only trail, bulk marking from a list of IDs, and IDs that are never reused."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from platesvc.errors import ConflictError, DataError
from platesvc.registry import lifecycle
from platesvc.registry.audit import SYSTEM, Actor, history
from platesvc.registry.plate_ids import issue_plates, parse_plate_id
from platesvc.store.database import db
from platesvc.store.models import AuditEvent, Building, BuildingStatus, Plate, PlateStatus

INSTALLER = Actor("installer-7")


def _plates(count: int) -> list[Plate]:
    return db.session.scalars(select(Plate).order_by(Plate.id).limit(count)).all()


def test_a_plate_lives_issued_printed_installed_damaged_replaced_installed(issued_app):
    plate = _plates(1)[0]
    lifecycle.record_printing(db.session, SYSTEM, [plate.id], "batch-1")
    db.session.refresh(plate)
    lifecycle.change_plate_status(db.session, plate, "installed", INSTALLER)
    lifecycle.change_plate_status(db.session, plate, "damaged", INSTALLER, "hit by a delivery van")
    lifecycle.record_printing(db.session, SYSTEM, [plate.id], "batch-2")
    db.session.refresh(plate)
    assert plate.status == PlateStatus.REPLACED
    lifecycle.change_plate_status(db.session, plate, "installed", INSTALLER, "new plate mounted")
    db.session.commit()
    trail = [(e.action, e.old_value, e.new_value, e.actor, e.reason) for e in history(db.session, "plate", plate.id)]
    assert trail == [
        ("plate.issued", None, "issued", "system", None),
        ("plate.printed", "issued", "printed", "system", "printed in batch batch-1"),
        ("plate.status", "printed", "installed", "installer-7", "mounted on the building"),
        ("plate.status", "installed", "damaged", "installer-7", "hit by a delivery van"),
        ("plate.printed", "damaged", "replaced", "system", "printed in batch batch-2"),
        ("plate.status", "replaced", "installed", "installer-7", "new plate mounted"),
    ]
    assert all(event.at is not None for event in history(db.session, "plate", plate.id))


@pytest.mark.parametrize("start, target, error", [
    ("issued", "installed", ConflictError),  # not printed yet
    ("installed", "printed", ConflictError),
    ("damaged", "installed", ConflictError),  # needs its replacement first
    ("installed", "damaged", DataError),  # no reason given
    ("installed", "lost", DataError),
])
def test_transitions_out_of_order_or_without_a_reason_are_refused(issued_app, start, target, error):
    plate = _plates(1)[0]
    plate.status = start
    with pytest.raises(error):
        lifecycle.change_plate_status(db.session, plate, target, INSTALLER)
    assert plate.status == start


def test_retiring_a_plate_retires_its_building_and_can_name_where_it_merged(issued_app, client):
    gone, merged, kept = _plates(3)
    lifecycle.change_plate_status(db.session, gone, "retired", INSTALLER, "demolished for the new school")
    lifecycle.change_plate_status(db.session, merged, "retired", INSTALLER, "joined to its neighbour", kept)
    db.session.commit()
    assert gone.building.status == BuildingStatus.RETIRED and merged.building.merged_into_id == kept.building_id
    assert client.get(f"/api/v1/plates/{merged.id}").json["successor"] == kept.id
    with pytest.raises(ConflictError, match="is retired and cannot change"):
        lifecycle.change_plate_status(db.session, gone, "installed", INSTALLER)
    event = history(db.session, "plate", merged.id)[-1]
    assert (event.new_value, event.reason) == ("retired", "joined to its neighbour") and kept.id in event.details


def test_a_retired_id_is_never_issued_again(issued_app):
    plate = _plates(1)[0]
    retired_id, building_id = plate.id, plate.building_id
    lifecycle.change_plate_status(db.session, plate, "retired", SYSTEM, "demolished")
    db.session.add(Building(source_id="NEW-ON-THE-SAME-SPOT", division_code=plate.building.division_code,
                            point=plate.building.point, number="1"))
    db.session.commit()
    issue_plates(db.session)
    assert db.session.get(Plate, retired_id).building_id == building_id
    assert db.session.scalar(select(Plate.id).join(Building).where(Building.source_id == "NEW-ON-THE-SAME-SPOT")) \
        != retired_id


def test_the_audit_trail_refuses_updates_and_deletes(issued_app):
    count = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with db.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == count
    assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.id == count)) == "system"


def test_plates_mark_installs_a_list_and_names_every_row_it_refuses(issued_app, runner, tmp_path):
    printed, installed, unprinted, *_ = _plates(5)
    lifecycle.record_printing(db.session, SYSTEM, [printed.id, installed.id], "batch-1")
    db.session.commit()
    runner.invoke(args=["plates", "status", installed.id, "installed"])
    display = parse_plate_id(printed.id).display
    listing = tmp_path / "installed.csv"
    listing.write_text(f"门牌编号\n{display.lower()}\n{installed.id}\n{unprinted.id}\n{printed.id}\n640104-00000-X\n"
                       f"{printed.id[:-1]}\n", encoding="utf-8-sig")
    result = runner.invoke(args=["plates", "mark", "installed", str(listing)])
    assert result.exit_code == 0, result.output
    assert "Marked 1 plates installed; 1 were so already; 4 rows refused." in result.output
    for row, why in ((4, "it can only become printed"), (5, "Listed twice"), (6, "check character"),
                     (7, "12 characters")):
        assert f"refused row {row}" in result.output and why in result.output
    db.session.expire_all()
    assert db.session.get(Plate, printed.id).status == PlateStatus.INSTALLED
    assert db.session.get(Plate, unprinted.id).status == PlateStatus.ISSUED
    assert history(db.session, "plate", printed.id)[-1].reason == "listed in installed.csv"


def test_plates_status_and_history_on_the_command_line(issued_app, runner):
    plate = _plates(1)[0]
    refused = runner.invoke(args=["plates", "status", plate.id, "installed"])
    assert refused.exit_code != 0 and "it can only become printed, retired, not installed" in refused.output
    runner.invoke(args=["plates", "status", plate.id, "retired", "--reason", "demolished"])
    shown = runner.invoke(args=["plates", "history", parse_plate_id(plate.id).display])
    assert "issued → retired (demolished)" in shown.output and "command line" in shown.output
