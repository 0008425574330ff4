"""The database extension and what every connection needs on each backend.

SQLite takes one writer at a time, and a connection that finds the database locked waits in C (its
busy timeout) without letting any other greenlet of a gevent worker run: were the writer that holds the
lock a greenlet of the same worker, paused on any cooperative I/O (Redis, a socket) between its first
write and its commit, the whole worker froze for the busy timeout and the second writer failed with
"database is locked". So each process lets its connections write one at a time: a lock (gevent's,
where gevent has patched threading) taken at a transaction's first write and let go at its end, on
which another writer waits cooperatively. Between processes SQLite's own lock and busy timeout decide.
"""

import os
import re
import threading

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


_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_WITH_WRITE = re.compile(r"\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE | re.DOTALL)
_WRITER = "platesvc_writer"


class _Writers:
    """This process's one writer at a time. Made afresh in each process (a fork must not inherit a held lock) and
    at first use (after gevent has patched threading, so that a waiting greenlet lets the others run)."""

    def __init__(self):
        self._pid, self._lock = None, None

    def lock(self):
        if self._pid != os.getpid():
            self._pid, self._lock = os.getpid(), threading.RLock()  # one thread's second connection is let by
        return self._lock


WRITERS = _Writers()


def take_writer_lock(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    """Before a transaction's first write: wait (cooperatively) until no other connection of this process writes."""
    if _WRITER in connection.info or not (_WRITE.match(statement) or _WITH_WRITE.match(statement)):
        return
    lock = WRITERS.lock()
    lock.acquire()
    connection.info[_WRITER] = lock


def release_writer_lock(connection) -> None:
    """At a transaction's end (commit or rollback, just before SQLite's; nothing yields in between)."""
    lock = connection.info.pop(_WRITER, None)
    if lock is not None:
        try:
            lock.release()
        except RuntimeError:  # not this thread's: its own ended (a pool's clean-up); the lock went with its process
            pass


def _release_on_checkin(_dbapi_connection, record) -> None:
    """A connection given back without a commit or rollback having been seen lets the lock go too."""
    lock = record.info.pop(_WRITER, None)
    if lock is not None:
        try:
            lock.release()
        except RuntimeError:
            pass


def configure_engine(engine: Engine) -> Engine:
    """Attach the per-backend connection setup to an engine."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", prepare_sqlite_connection)
        event.listen(engine, "begin", begin_sqlite_transaction)
        event.listen(engine, "before_cursor_execute", take_writer_lock)
        event.listen(engine, "commit", release_writer_lock)
        event.listen(engine, "rollback", release_writer_lock)
        event.listen(engine, "checkin", _release_on_checkin)
    return engine


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url))
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    generations.watch_sessions()
