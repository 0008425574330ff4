"""Prepared reads: one row by its parameters, never older than the last commit, on both backends."""

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, create_engine, insert, select, update

from platesvc.store.database import configure_engine
from platesvc.store.prepared import PreparedRead

METADATA = MetaData()
THINGS = Table("things", METADATA, Column("id", Integer, primary_key=True), Column("name", String))
BY_ID = select(THINGS.c.id, THINGS.c.name).where(THINGS.c.id == bindparam("thing_id", value=0))


@pytest.fixture
def engine(database_url):
    engine = configure_engine(create_engine(database_url))
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(THINGS), [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])
    yield engine
    engine.dispose()


@pytest.mark.parametrize("remember", [0, 2])
def test_a_row_is_read_by_its_parameters_and_a_commit_shows_on_the_next_read(engine, remember):
    read = PreparedRead(BY_ID, remember=remember)
    assert read.one_or_none(engine, thing_id=1) == {"id": 1, "name": "one"}
    assert read.one_or_none(engine, thing_id=3) is None
    with engine.begin() as connection:  # another connection commits
        connection.execute(update(THINGS).where(THINGS.c.id == 1).values(name="uno"))
        connection.execute(insert(THINGS).values(id=3, name="three"))
    assert read.one_or_none(engine, thing_id=1) == {"id": 1, "name": "uno"}
    assert read.one_or_none(engine, thing_id=3) == {"id": 3, "name": "three"}


def test_an_uncommitted_change_is_not_seen(engine):
    read = PreparedRead(BY_ID, remember=2)
    with engine.connect() as connection:
        connection.execute(update(THINGS).where(THINGS.c.id == 2).values(name="dos"))
        assert read.one_or_none(engine, thing_id=2) == {"id": 2, "name": "two"}
        connection.rollback()
    assert read.one_or_none(engine, thing_id=2) == {"id": 2, "name": "two"}


def test_on_sqlite_unchanged_rows_are_given_again_without_reading_them(tmp_path):
    engine = configure_engine(create_engine(f"sqlite:///{tmp_path / 'things.sqlite3'}"))
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(THINGS), [{"id": i, "name": str(i)} for i in (1, 2, 3)])
    read = PreparedRead(BY_ID, remember=2)
    first = [read.one_or_none(engine, thing_id=i) for i in (1, 2)]
    assert [read.one_or_none(engine, thing_id=i) for i in (1, 2)] == first
    assert all(again is row for again, row in zip([read.one_or_none(engine, thing_id=i) for i in (1, 2)], first))
    read.one_or_none(engine, thing_id=3)  # a third: the first remembered goes
    assert read.one_or_none(engine, thing_id=1) is not first[0]
    with engine.begin() as connection:
        connection.execute(update(THINGS).where(THINGS.c.id == 2).values(name="deux"))
    assert read.one_or_none(engine, thing_id=2) == {"id": 2, "name": "deux"}
    engine.dispose()


def test_each_thread_reads_on_its_own_connection(engine):
    read = PreparedRead(BY_ID, remember=2)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(read.one_or_none(engine, thing_id=2)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [{"id": 2, "name": "two"}] * 4


def test_a_thread_holds_one_connection_however_many_reads_it_runs(engine):
    """Clients choose the shape of a map query (its filters, a box or not): each shape is a read,
    and the reads share the thread's connection (two on PostgreSQL, the one-plan reads apart)."""
    opened = []
    real = engine.raw_connection
    engine.raw_connection = lambda: opened.append(1) or real()
    shapes = [PreparedRead(BY_ID.where(THINGS.c.id < limit), one_plan=limit % 2 == 0) for limit in range(2, 42)]
    for read in shapes * 2:
        read.one_or_none(engine, thing_id=1)
    assert len(opened) == (2 if engine.dialect.name == "postgresql" else 1)
