"""The database extension and what every connection needs on each backend."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from platesvc.store import generations
from platesvc.store.models import Base
from platesvc.store.spatial_index import sqlite_functions

db = SQLAlchemy(model_class=Base)


# A map answer takes the database a millisecond or two: starting parallel workers for it (as
# PostGIS's costly-looking functions tempt the planner to) would take ten.
POSTGRESQL_OPTIONS = "-c max_parallel_workers_per_gather=0"
REPLICA_CONNECT_TIMEOUT = 2  # seconds: a replica that does not answer by then is skipped


def engine_options(url: str, connect_timeout: int | None = None) -> dict:
    if url.startswith("sqlite"):
        # Writers wait for each other (issuing in two processes) instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    timeout = {"connect_timeout": connect_timeout} if connect_timeout else {}
    return {"pool_pre_ping": True, "connect_args": {"options": POSTGRESQL_OPTIONS, **timeout}}


def prepare_sqlite_connection(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
    # DDL and savepoints are transactional too (see the "begin" listener below).
    dbapi_connection.isolation_level = None
    for name, (arguments, function) in sqlite_functions().items():
        dbapi_connection.create_function(name, arguments, function, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def begin_sqlite_transaction(connection) -> None:
    connection.exec_driver_sql("BEGIN")


def configure_engine(engine: Engine) -> Engine:
    """Attach the per-backend connection setup to an engine."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", prepare_sqlite_connection)
        event.listen(engine, "begin", begin_sqlite_transaction)
    return engine


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    generations.watch_sessions()
