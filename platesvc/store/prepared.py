"""A hot read compiled once and run on a connection each thread keeps (scans, map answers, counters).

A scan is one indexed single-statement read. Through a Session it also pays for a
pool checkout, BEGIN, ROLLBACK and check-in, several times the read itself. Here the
statement is compiled once per dialect and runs in autocommit on a DBAPI connection
that the thread holds for good (detached from the pool, so it is simply closed when
the thread goes). One statement needs no transaction to see a consistent snapshot.
All the reads of a thread share its connection (two on PostgreSQL: the one-plan reads
have their own), so a worker holds as many connections as it has threads, however many
shapes of query its clients ask for.

On SQLite a read may also be remembered: `PRAGMA data_version` on a connection changes
whenever any other connection (in any process) has committed, and this connection never
writes, so while it stands still a row read before is still the row. Asking it costs
a third of the scan's read. PostgreSQL has no such counter: there every call reads.
"""

import contextlib
import sys
import threading
import weakref

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

_DATA_VERSION = "PRAGMA data_version"


def _per_thread():
    """A thread's own namespace, also where gevent has made threading.local one per greenlet: a server
    worker's greenlets then share its connections (one at a time, as a sync worker's requests would)
    rather than each opening its own."""
    gevent = sys.modules.get("gevent.monkey")
    if gevent is not None and gevent.is_module_patched("threading"):
        return gevent.get_original("_thread", "_local")()
    return threading.local()


_THREAD = _per_thread()  # each thread's connections


class PreparedRead:
    """One Select, compiled for each dialect it runs on.

    `remember`: on SQLite, how many rows (by their parameters) each thread gives again
    while the database is unchanged; 0 reads every time. `one_plan`: on PostgreSQL, plan
    the statement once for all its values, for a statement written so that its best plan
    does not depend on them; left to choose, PostgreSQL plans a box on a large table
    afresh on every run.
    """

    def __init__(self, statement: Select, remember: int = 0, one_plan: bool = False):
        self._statement = statement
        self._remember = remember
        self._one_plan = one_plan
        self._compiled = {}  # dialect name → compiled statement
        self._names = list(statement.selected_columns.keys())  # the row's keys, as the statement labels them
        self._local = _per_thread()  # this statement's remembered rows, per thread

    @property
    def statement(self) -> Select:
        """The statement itself, to run in a session's transaction instead (where a write reads what it checks)."""
        return self._statement

    @property
    def names(self) -> list[str]:
        """The keys of the row, in column order."""
        return self._names

    def one_or_none(self, engine: Engine, **params) -> dict | None:
        """The single row the statement finds for `params`, as a dict (not to be changed), or None."""
        if not self._remember or engine.dialect.name != "sqlite":
            return self._read(engine, params)
        remembered = self._remembered(engine)
        version = self._execute(engine, _DATA_VERSION, ())[0]
        connection = self._connection(engine)  # a counter is only comparable on the connection that gave it
        if remembered.version != version or remembered.connection is not connection:
            remembered.rows.clear()
            remembered.version, remembered.connection = version, connection
        key = tuple(params.items())
        if key in remembered.rows:
            return remembered.rows[key]
        row = self._read(engine, params)
        if len(remembered.rows) >= self._remember:
            del remembered.rows[next(iter(remembered.rows))]  # the first remembered goes first
        remembered.rows[key] = row
        return row

    def all(self, engine: Engine, **params) -> list[tuple]:
        """Every row the statement finds for `params`, as tuples in its column order."""
        return self._execute(engine, *self._bound(engine, params), every=True)

    def _read(self, engine: Engine, params: dict) -> dict | None:
        row = self._execute(engine, *self._bound(engine, params))
        return dict(zip(self._names, row)) if row is not None else None

    def _bound(self, engine: Engine, params: dict) -> tuple[str, dict | list]:
        sql, defaults, order = self._compile(engine)
        sql_params = {**defaults, **params} if params else defaults
        if order is not None:
            sql_params = [sql_params[name] for name in order]
        return sql, sql_params

    def _execute(self, engine: Engine, sql: str, params, every: bool = False):
        """The first row of `sql` on this thread's connection (every row, with `every`)."""
        for attempt in (1, 2):
            try:
                connection = self._connection(engine)
            except engine.dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it elsewhere
                raise DBAPIError.instance(sql, params, error, engine.dialect.loaded_dbapi.Error) from error
            try:
                cursor = connection.cursor()
                cursor.execute(sql, params)
                row = cursor.fetchall() if every else cursor.fetchone()
                cursor.close()
                return row
            except engine.dialect.loaded_dbapi.Error as error:
                self._forget(engine)  # a dropped connection is replaced once, then the error stands
                if attempt == 2 or not engine.dialect.is_disconnect(error, connection, None):
                    raise DBAPIError.instance(sql, params, error, engine.dialect.loaded_dbapi.Error) from error
        raise AssertionError("unreachable")

    def _remembered(self, engine: Engine) -> "_Remembered":
        held = getattr(self._local, "remembered", None)
        if held is None:
            held = self._local.remembered = weakref.WeakKeyDictionary()
        remembered = held.get(engine)
        if remembered is None:
            remembered = held[engine] = _Remembered()
        return remembered

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
        held, own_plan = self._held(engine), self._own_plan(engine)
        connection = held.get(own_plan)
        if connection is None:
            proxied = engine.raw_connection()  # runs the engine's connect hooks (SQLite functions, pragmas)
            connection = proxied.driver_connection
            proxied.detach()
            if engine.dialect.name == "postgresql":
                connection.autocommit = True  # never sit idle in a transaction between scans
                if own_plan:  # the connection of the one-plan reads alone
                    connection.execute("SET plan_cache_mode = force_generic_plan")
            held[own_plan] = connection
        return connection

    def _own_plan(self, engine: Engine) -> bool:
        return self._one_plan and engine.dialect.name == "postgresql"

    @staticmethod
    def _held(engine: Engine) -> dict:
        """This thread's connections to `engine`, by whether they plan once; they go when the engine does."""
        engines = getattr(_THREAD, "engines", None)
        if engines is None:
            engines = _THREAD.engines = weakref.WeakKeyDictionary()
        held = engines.get(engine)
        if held is None:
            held = engines[engine] = {}
        return held

    def _forget(self, engine: Engine) -> None:
        # The next connection counts its data_version afresh: every statement's remembered rows
        # were read on this one (one_or_none sees the connection change).
        connection = self._held(engine).pop(self._own_plan(engine), None)
        if connection is not None:
            with contextlib.suppress(engine.dialect.loaded_dbapi.Error):  # already broken
                connection.close()


class _Remembered:
    """A thread's remembered rows, all read while `connection`'s data_version was `version`."""

    def __init__(self):
        self.version: int | None = None
        self.connection = None
        self.rows: dict[tuple, dict | None] = {}
