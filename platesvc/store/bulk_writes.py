"""Bulk writes: many rows in few statements, for the largest tables and the largest files.

SQLite takes chunks of rows by executemany; PostgreSQL takes them by COPY, some ten
times an executemany's pace. Nothing here commits.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import orjson
from sqlalchemy import JSON, Table, bindparam, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from platesvc.store import generations
from platesvc.store.geometry import GeometryColumn, ewkb_hex

Progress = Callable[[int], None]
CHUNK_ROWS = 5000
COPY_ROWS = 100_000


def chunks(values: list, size: int = CHUNK_ROWS) -> Iterable[list]:
    """Consecutive slices of at most `size` values (bulk statements and IN lists stay bounded)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def insert_rows(session: Session, model, rows: list[dict], progress: Progress | None = None) -> None:
    """Insert plain row dicts (all with the same keys) into the model's table, a chunk at a time."""
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        columns = list(rows[0])
        for chunk in chunks(rows, COPY_ROWS):
            _copy(session, table.name, columns, _copy_values(table, columns, chunk))
            if progress:
                progress(len(chunk))
        return
    # A Core insert of the table runs one executemany per chunk; the ORM bulk path
    # splits rows into groups by which values are None.
    for chunk in chunks(rows):
        session.execute(insert(table), chunk)
        if progress:
            progress(len(chunk))


def _copy_values(table: Table, columns: list[str], rows: list[dict]) -> list[list]:
    """Rows as COPY takes them: geometry as EWKB hex, JSON as its text, the rest as it is."""
    values = [[row[name] for name in columns] for row in rows]
    for position, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, GeometryColumn):
            for row, encoded in zip(values, ewkb_hex([row[name] for row in rows]), strict=True):
                row[position] = encoded
        elif isinstance(kind, JSON):
            for row in values:
                if row[position] is not None:
                    row[position] = orjson.dumps(row[position]).decode()
    return values


def insert_plain_tuples(session: Session, table: Table, columns: list[str], rows: Iterable[tuple]) -> None:
    """Insert value tuples straight through the driver, for the largest derived tables.

    Only for columns whose values need no conversion (integers, floats, text) and tables
    outside the reference data (generations.py sees Session statements, not these).
    SQLAlchemy builds parameters row by row; for the millions of nearest-service rows
    of a large city that costs more than the database's own insert. PostgreSQL takes
    them by COPY.
    """
    if session.get_bind().dialect.name == "postgresql":
        for chunk in chunks(list(rows), COPY_ROWS):
            _copy(session, table.name, columns, chunk)
        return
    compiled = insert(table).values({column: bindparam(column) for column in columns}).compile(
        dialect=session.get_bind().dialect)
    connection = session.connection()
    for chunk in chunks(list(rows), CHUNK_ROWS * 10):
        params = chunk if compiled.positiontup is not None else [dict(zip(columns, row)) for row in chunk]
        connection.exec_driver_sql(compiled.string, params)


def _copy(session: Session, table: str, columns: list[str], rows: Iterable) -> None:
    """COPY rows into a PostgreSQL table in the session's transaction (ten times an executemany's pace)."""
    generations.written(session, {table})
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    connection = session.connection()
    driver_connection = connection.connection.driver_connection
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except connection.dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it: IntegrityError and kin
        raise DBAPIError.instance(statement, None, error, connection.dialect.loaded_dbapi.Error) from error


@contextmanager
def indexes_built_after(session: Session, tables: list[str]) -> Iterator[None]:
    """Fill empty tables with their foreign keys and secondary indexes (not their keys) built at the end.

    On PostgreSQL a row checked against each foreign key and added to each index as it
    comes costs many times a check and an index built once over them all (a join, a
    sort): for the links of a million buildings, minutes against seconds. The tables
    must be empty or nearly so. Inside the caller's transaction, so an error leaves the
    schema as it was. SQLite checks and indexes in-process cheaply: it does as it always does.
    """
    if session.get_bind().dialect.name != "postgresql" or not tables:
        yield
        return
    connection = session.connection()
    foreign_keys = connection.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(:tables) ORDER BY conname"),
        {"tables": tables}).all()
    indexes = connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:tables) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u')) ORDER BY indexname"),
        {"tables": tables}).all()
    for table, name, _ in foreign_keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        connection.exec_driver_sql(definition)
    for table, name, definition in foreign_keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
