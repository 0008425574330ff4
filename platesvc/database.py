"""The database extension and what every connection needs on each backend."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from platesvc import generations  # noqa: F401  (its listeners count every session's writes)
from platesvc.models import Base
from platesvc.replicas import ReadRouter, replica_urls
from platesvc.spatial_index import sqlite_functions

db = SQLAlchemy(model_class=Base)


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Writers wait for each other (issuing in two processes) instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


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
        app.extensions["platesvc_reads"] = ReadRouter(
            db.engine, replica_urls(app.config["DATABASE_REPLICA_URLS"]), app.config["REPLICA_MAX_LAG_SECONDS"],
            app.config["REPLICA_CHECK_SECONDS"])
