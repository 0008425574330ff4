"""A hot read compiled once and run on a connection each thread keeps (scans, nearby).

A scan is one indexed single-statement read. Through a Session it also pays for a
pool checkout, BEGIN, ROLLBACK and check-in, several times the read itself. Here the
statement is compiled once per dialect and runs in autocommit on a DBAPI connection
that the thread holds for good (detached from the pool, so it is simply closed when
the thread goes). One statement needs no transaction to see a consistent snapshot.
"""

import contextlib
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select


class PreparedRead:
    """`statement` is a Select, or a function of the dialect's name that makes one."""

    def __init__(self, statement: Select | Callable[[str], Select]):
        self._statement = statement
        self._compiled = {}  # dialect name → compiled statement
        self._local = threading.local()

    def one_or_none(self, engine: Engine, **params) -> dict | None:
        """The single row the statement finds for `params`, as a dict, or None."""
        names, rows = self._run(engine, params, many=False)
        return dict(zip(names, rows[0])) if rows else None

    def all(self, engine: Engine, **params) -> list[tuple]:
        """Every row the statement finds for `params`, as tuples in the statement's column order."""
        return self._run(engine, params, many=True)[1]

    def _run(self, engine: Engine, params: dict, many: bool) -> tuple[list[str], list[tuple]]:
        compiled = self._compile(engine)
        sql_params = {**compiled.params, **params}
        if compiled.positiontup is not None:
            sql_params = [sql_params[name] for name in compiled.positiontup]
        for attempt in (1, 2):
            connection = self._connection(engine)
            try:
                cursor = connection.cursor()
                cursor.execute(compiled.string, sql_params)
                rows = cursor.fetchall() if many else [row for row in [cursor.fetchone()] if row is not None]
                names = [column[0] for column in cursor.description]
                cursor.close()
                return names, rows
            except engine.dialect.loaded_dbapi.Error as error:
                self._forget(engine)  # a dropped connection is replaced once, then the error stands
                if attempt == 2 or not engine.dialect.is_disconnect(error, connection, None):
                    raise DBAPIError.instance(compiled.string, sql_params, error,
                                              engine.dialect.loaded_dbapi.Error) from error
        raise AssertionError("unreachable")

    def _compile(self, engine: Engine):
        compiled = self._compiled.get(engine.dialect.name)
        if compiled is None:
            # Rendered in full (constants SQLAlchemy would fill in at run time, too), so each
            # run binds only the parameters; every bindparam needs a placeholder value here.
            statement = self._statement if isinstance(self._statement, Select) else self._statement(engine.dialect.name)
            compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
            self._compiled[engine.dialect.name] = compiled
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
