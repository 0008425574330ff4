"""What the database holds, for Prometheus: plates by status, residents' reports by status, imports.

Read at each scrape, so the figures count what command-line runs and staff jobs did too.
"""

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from platesvc.store.models import AuditEvent, Plate, ResidentReport, as_utc


class DatabaseFigures:
    """What the database says at scrape time."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def collect(self):
        with self._engine.connect() as connection:
            plates = connection.execute(select(Plate.status, func.count()).group_by(Plate.status)).all()
            reports = connection.execute(
                select(ResidentReport.status, func.count()).group_by(ResidentReport.status)).all()
            imports = connection.execute(
                select(AuditEvent.action, func.count(), func.max(AuditEvent.at))
                .where(AuditEvent.action.startswith("import.")).group_by(AuditEvent.action)).all()
        by_status = GaugeMetricFamily("platesvc_plates", "Plates by status", labels=["status"])
        for status, count in plates:
            by_status.add_metric([status], count)
        queue = GaugeMetricFamily("platesvc_reports", "Resident reports by status", labels=["status"])
        for status, count in reports:
            queue.add_metric([status], count)
        done = CounterMetricFamily("platesvc_imports", "Committed imports, by kind", labels=["kind"])
        last = GaugeMetricFamily("platesvc_last_import_timestamp_seconds", "When each kind was last imported",
                                 labels=["kind"])
        for action, count, at in imports:
            kind = action.removeprefix("import.")
            done.add_metric([kind], count)
            last.add_metric([kind], as_utc(at).timestamp())
        return [by_status, queue, done, last]
