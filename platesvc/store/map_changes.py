"""Where the map changed: a short log of the box of every committed change to what tiles show.

Triggers on the tables tiles are made from (plates and their buildings, roads, service
points, police beats) add the box of what each statement changed, in the same
transaction, whoever writes: the app, an import, or SQL typed at a console. A worker
keeps a finished tile with the stamp of the log when it was made, and makes it again
only when the log has a change in the tile's box since (tiles.py): a staff member's
plate change redraws the tiles around that plate, not the map.

The stamp is what orders changes by commit. On SQLite writers take turns, so a change's
row id is its place; on PostgreSQL ids are handed out before commit, in another order,
so each change carries its transaction id and a reader's stamp is the oldest transaction
its snapshot may not see (pg_current_snapshot's xmin): a change from that one or later
is checked again. The log keeps its last KEPT rows; a tile older than that is made again.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import BigInteger, bindparam, column, exists, func, literal_column, select, table
from sqlalchemy.engine import Engine

from platesvc.store.prepared import PreparedRead
from platesvc.store.spatial import bound_box, box_values

KEPT = 100_000
TABLE = "map_changes"

# table → the rows whose geometry's box a change covers, from the changed rows ("changed").
_BOXES = {
    "plates": ("SELECT b.point AS g FROM {changed} AS c JOIN buildings AS b ON b.id = c.building_id",
               "SELECT point AS g FROM buildings WHERE id = {row}.building_id"),
    "buildings": ("SELECT point AS g FROM {changed}", "SELECT {row}.point AS g"),
    "roads": ("SELECT geom AS g FROM {changed}", "SELECT {row}.geom AS g"),
    "service_points": ("SELECT geom AS g FROM {changed}", "SELECT {row}.geom AS g"),
    "police_beats": ("SELECT geom AS g FROM {changed}", "SELECT {row}.geom AS g"),
}
_EVENTS = ("INSERT", "UPDATE", "DELETE")


def create_log(dialect: str) -> list[str]:
    """The statements that make the log and the triggers that fill it."""
    if dialect == "postgresql":
        statements = [
            f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, stamp bigint NOT NULL DEFAULT txid_current(), "
            "min_x double precision NOT NULL, min_y double precision NOT NULL, "
            "max_x double precision NOT NULL, max_y double precision NOT NULL)",
            f"CREATE INDEX ix_{TABLE}_stamp ON {TABLE} (stamp)",
            f"""CREATE FUNCTION record_map_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                EXECUTE format('INSERT INTO {TABLE} (min_x, min_y, max_x, max_y) '
                               'SELECT min(ST_XMin(g)), min(ST_YMin(g)), max(ST_XMax(g)), max(ST_YMax(g)) '
                               'FROM (%s) AS changed_rows WHERE g IS NOT NULL HAVING count(*) > 0', TG_ARGV[0]);
                DELETE FROM {TABLE} WHERE id <= (SELECT max(id) FROM {TABLE}) - {KEPT};
                RETURN NULL;
            END $$""",
        ]
        for table, (boxes, _) in _BOXES.items():
            for event in _EVENTS:
                # A trigger with transition tables takes one event; an update moves from old to new.
                tables = {"INSERT": "NEW TABLE AS changed", "DELETE": "OLD TABLE AS changed",
                          "UPDATE": "OLD TABLE AS before NEW TABLE AS changed"}[event]
                source = boxes.format(changed="changed")
                if event == "UPDATE":
                    source += " UNION ALL " + boxes.format(changed="before")
                statements.append(
                    f"CREATE TRIGGER {table}_map_change_{event.lower()} AFTER {event} ON {table} "
                    f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION record_map_change("
                    f"'{source.replace(chr(39), chr(39) * 2)}')")
        return statements
    # SQLite has no statement triggers: a row each (its bounds from the functions the R*Tree
    # triggers use, registered on every connection the service opens).
    statements = [
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, min_x REAL NOT NULL, min_y REAL NOT NULL, "
        "max_x REAL NOT NULL, max_y REAL NOT NULL)",
        f"CREATE TRIGGER {TABLE}_keep AFTER INSERT ON {TABLE} BEGIN "
        f"DELETE FROM {TABLE} WHERE id <= new.id - {KEPT}; END",
    ]
    for table, (_, row_box) in _BOXES.items():
        for event in _EVENTS:
            rows = {"INSERT": ["new"], "DELETE": ["old"], "UPDATE": ["old", "new"]}[event]
            inserts = " ".join(
                f"INSERT INTO {TABLE} (min_x, min_y, max_x, max_y) SELECT ST_MinX(g), ST_MinY(g), ST_MaxX(g), "
                f"ST_MaxY(g) FROM ({row_box.format(row=row)}) WHERE g IS NOT NULL;" for row in rows)
            statements.append(f"CREATE TRIGGER {table}_map_change_{event.lower()} AFTER {event} ON {table} "
                              f"BEGIN {inserts} END")
    return statements


def drop_log(dialect: str) -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {table}_map_change_{event.lower()}"
                  + (f" ON {table}" if dialect == "postgresql" else "")
                  for table in _BOXES for event in _EVENTS]
    statements.append(f"DROP TABLE IF EXISTS {TABLE}")
    if dialect == "postgresql":
        statements.append("DROP FUNCTION IF EXISTS record_map_change()")
    return statements


_LOG = table(TABLE, column("id"), column("stamp"), column("min_x"), column("min_y"), column("max_x"), column("max_y"))


@dataclass(frozen=True)
class Stamp:
    """Where the log stood when a reader looked: its stamp (see above), and its newest row."""

    stamp: int
    newest: int


@lru_cache(maxsize=2)
def _read(dialect: str) -> PreparedRead:
    """(stamp, newest and oldest row, whether a change since :seen meets the box min_x…max_y), in one read."""
    min_x, min_y, max_x, max_y = bound_box()
    meets = [_LOG.c.max_x >= min_x, _LOG.c.min_x <= max_x, _LOG.c.max_y >= min_y, _LOG.c.min_y <= max_y]
    seen = bindparam("seen", type_=BigInteger)
    if dialect == "postgresql":
        stamp = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        since = _LOG.c.stamp >= seen  # that transaction may have been running, unseen
    else:
        stamp = select(func.coalesce(func.max(_LOG.c.id), 0)).scalar_subquery()
        since = _LOG.c.id > seen
    return PreparedRead(select(
        stamp.label("stamp"),
        select(func.coalesce(func.max(_LOG.c.id), 0)).scalar_subquery().label("newest"),
        select(func.coalesce(func.min(_LOG.c.id), 0)).scalar_subquery().label("oldest"),
        exists().where(since, *meets).label("changed")))


def look(engine: Engine, held: Stamp | None, bbox) -> tuple[Stamp, bool]:
    """The log's stamp now, and whether what was made at `held` (None: nothing) may be out of date in the box."""
    row = _read(engine.dialect.name).one_or_none(engine, seen=held.stamp if held else 0, **box_values(bbox))
    now = Stamp(int(row["stamp"]), int(row["newest"]))
    if held is None:
        return now, True
    pruned_since = row["oldest"] > held.newest + 1  # changes after it was made are gone from the log
    return now, bool(row["changed"]) or pruned_since
