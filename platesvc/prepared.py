"""A hot read compiled once and run on a connection each thread keeps (scans, change counters).

A scan is one indexed single-statement read. Through a Session it also pays for a
pool checkout, BEGIN, ROLLBACK and check-in, several times the read itself. Here the
statement is compiled once per dialect and runs in autocommit on a DBAPI connection
that the thread holds for good (detached from the pool, so it is simply closed when
the thread goes). One statement needs no transaction to see a consistent snapshot.
"""

import contextlib
import threading

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select


class PreparedRead:
    """One Select, compiled for each dialect it runs on."""

    def __init__(self, statement: Select):
        self._statement = statement
        self._compiled = {}  # dialect name → compiled statement
        self._names: dict[str, list[str]] = {}  # dialect name → the columns' names, as its first run gave them
        self._local = threading.local()

    def one_or_none(self, engine: Engine, **params) -> dict | None:
        """The single row the statement finds for `params`, as a dict, or None."""
        sql, defaults, order = self._compile(engine)
        sql_params = {**defaults, **params} if params else defaults
        if order is not None:
            sql_params = [sql_params[name] for name in order]
        for attempt in (1, 2):
            connection = self._connection(engine)
            try:
                cursor = connection.cursor()
                cursor.execute(sql, sql_params)
                row = cursor.fetchone()
                names = self._names.get(engine.dialect.name) or [column[0] for column in cursor.description]
                cursor.close()
                self._names[engine.dialect.name] = names
                return dict(zip(names, row)) if row is not None else None
            except engine.dialect.loaded_dbapi.Error as error:
                self._forget(engine)  # a dropped connection is replaced once, then the error stands
                if attempt == 2 or not engine.dialect.is_disconnect(error, connection, None):
                    raise DBAPIError.instance(sql, sql_params, error, engine.dialect.loaded_dbapi.Error) from error
        raise AssertionError("unreachable")

    def _compile(self, engine: Engine) -> tuple[str, dict, tuple | None]:
        """The SQL, the default parameters and (for positional drivers) their order, for this dialect."""
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            # Rendered in full (constants SQLAlchemy would fill in at run time, too), so each
            # run binds only the parameters; every bindparam needs a placeholder value here.
            statement = self._statement.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
            order = tuple(statement.positiontup) if statement.positiontup is not None else None
            compiled = self._compiled[engine.dialect.name] = (statement.string, dict(statement.params), order)
        return compiled

    def _connection(self, engine: Engine):
        held = getattr(self._local, "connections", None)
        if held is None:
            held = self._local.connections = {}
        connection = held.get(engine)
        if connection is None:
            proxied = engine.raw_connection()  # runs the engine's connect hooks (SQLite functions, pragmas)
            connection = proxied.driver_connection
            proxied.detach()
            if engine.dialect.name == "postgresql":
                connection.autocommit = True  # never sit idle in a transaction between scans
            held[engine] = connection
        return connection

    def _forget(self, engine: Engine) -> None:
        connection = self._local.connections.pop(engine, None)
        if connection is not None:
            with contextlib.suppress(engine.dialect.loaded_dbapi.Error):  # already broken
                connection.close()
