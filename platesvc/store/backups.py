"""Backups that restore: a consistent copy of the whole database taken while it is in use, and its
restoring into an empty one.

SQLite copies itself with its online backup API (one step, under a read lock: a snapshot);
PostGIS is dumped by pg_dump in its custom format (a snapshot too) and restored by pg_restore.
"""

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url

from platesvc.errors import DataError


def backup(engine: Engine, path: str | Path) -> Path:
    """Write a backup of `engine`'s database to `path` (made anew; a partial file never stands as a backup)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            _copy_sqlite(engine, partial, to_file=True)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", _libpq_url(engine)])
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def restore(database_url: str, path: str | Path) -> None:
    """Restore the backup at `path` into the database at `database_url`, which must hold no platesvc tables.

    :raises DataError: no such backup, or a database that is not empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("There is no backup at %(path)s.", path=str(path))
    engine = create_engine(database_url)
    try:
        found = set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}  # PostGIS's own
        if found:
            raise DataError("The database is not empty (%(count)s tables, such as %(table)s): restore into a new, "
                            "empty one.", count=len(found), table=min(found))
        if engine.dialect.name == "sqlite":
            _copy_sqlite(engine, path, to_file=False)
        else:
            _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(engine)}", str(path)])
    finally:
        engine.dispose()


def _copy_sqlite(engine: Engine, file: Path, to_file: bool) -> None:
    """SQLite's online backup, from `engine`'s database into `file`, or (to_file=False) the other way."""
    with contextlib.closing(engine.raw_connection()) as database, contextlib.closing(sqlite3.connect(file)) as other:
        source, target = (database.driver_connection, other) if to_file else (other, database.driver_connection)
        source.backup(target)


def _libpq_url(engine: Engine) -> str:
    """The database's URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise DataError("%(program)s is not installed (Debian: postgresql-client).", program=command[0])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DataError("%(program)s failed: %(said)s", program=command[0], said=done.stderr.strip()[-2000:])
