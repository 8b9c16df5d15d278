"""The publishing side of the logical catch-up: what the source can publish, its
publications and replication slots, and how far a subscriber has come.

Aurora documents the order: a publication and a logical replication slot on
the source *before* the snapshot or clone, so every change after the copy's
LSN is in the slot's stream:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html

The publication names its tables (not ``FOR ALL TABLES``): a table created
later without a primary key would otherwise join it, and UPDATE/DELETE on
such a table fail on the publisher
(https://www.postgresql.org/docs/current/logical-replication-publication.html).
Identifiers only through :mod:`psycopg.sql`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect, list_databases
from snapmigrate.errors import OperationFailed
from snapmigrate.model import QualifiedTable

#: Slot and publication names: lowercase, digits, underscores (``rds*`` is Aurora's).
PREFIX = "snapmigrate_"
#: How long ALTER TABLE ... REPLICA IDENTITY may wait for its lock on a busy source.
LOCK_TIMEOUT = "5s"

RELATIONS = sql.SQL(
    """SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text,
       c.relreplident::text,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident
               AND i.indisvalid),
       pg_has_role(c.relowner, 'USAGE')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_(toast|temp)'
 ORDER BY 1, 2"""
)
LARGE_OBJECTS = sql.SQL("SELECT count(*)::int FROM pg_largeobject_metadata")
SERVER = sql.SQL(
    """SELECT current_setting('wal_level'), current_setting('server_version_num')::int,
       current_setting('max_replication_slots')::int,
       (SELECT count(*) FROM pg_replication_slots)::int,
       current_setting('max_wal_senders')::int,
       r.rolsuper, r.rolreplication,
       EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_superuser'
               AND pg_has_role(g.oid, 'MEMBER')),
       EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication'
               AND pg_has_role(g.oid, 'MEMBER')),
       current_user::text
  FROM pg_roles r WHERE r.rolname = current_user"""
)
SLOTS = sql.SQL(
    """SELECT s.slot_name::text, s.database::text, s.active, pg_current_wal_lsn()::text,
       s.confirmed_flush_lsn::text,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,
       extract(epoch FROM r.replay_lag)::float8, s.active_pid
  FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
 WHERE s.slot_name = ANY(%s)"""
)
IDENTITIES = {"d": "default", "n": "nothing", "f": "full", "i": "index"}


@dataclass(frozen=True)
class DatabaseFacts:
    """What one database holds that the catch-up cares about."""

    name: str
    tables: tuple[QualifiedTable, ...] = ()  # every table to publish
    no_identity: tuple[QualifiedTable, ...] = ()  # neither a primary key nor a replica identity
    full_identity: tuple[QualifiedTable, ...] = ()  # REPLICA IDENTITY FULL already (the user's)
    not_owned: tuple[QualifiedTable, ...] = ()  # tables, sequences of roles not the master's
    unlogged: tuple[QualifiedTable, ...] = ()
    matviews: tuple[QualifiedTable, ...] = ()
    large_objects: int = 0
    sequences: int = 0


@dataclass(frozen=True)
class SourceFacts:
    """What the source's server says about publishing."""

    wal_level: str
    version_num: int
    max_replication_slots: int
    slots_used: int
    max_wal_senders: int
    superuser: bool
    replication: bool
    rds_superuser: bool
    rds_replication: bool
    user: str
    databases: tuple[DatabaseFacts, ...] = ()


def names(run_id: str, databases: Sequence[str]) -> dict[str, str]:
    """Database -> the slot (and subscription) name of run ``run_id`` there."""
    return {db: f"{PREFIX}{run_id}_{n}" for n, db in enumerate(databases, 1)}


def publication_name(run_id: str) -> str:
    return f"{PREFIX}{run_id}"


def _session(
    endpoint: Endpoint, database: str, connect_map: ConnectMap | None, timeout: int = 10
) -> psycopg.Connection[Any]:
    """Our own session on the source: read-write even where the cutover froze it."""
    conn = connect(endpoint, database, connect_map=connect_map, timeout=timeout)
    conn.execute("SET default_transaction_read_only = off")
    return conn


def _ident(table: QualifiedTable) -> sql.Identifier:
    return sql.Identifier(table.schema, table.table)


def inspect_source(endpoint: Endpoint, *, connect_map: ConnectMap | None = None) -> SourceFacts:
    """Read the source's server settings, the master user's roles and, per user
    database, its tables' replica identities, owners and kinds."""
    databases = list_databases(endpoint, connect_map=connect_map)
    found: list[DatabaseFacts] = []
    server: tuple[Any, ...] = ()
    for db in databases:
        with connect(endpoint, db, connect_map=connect_map) as conn:
            if not server:
                server = _one(conn, SERVER, endpoint, db)
            rows = _all(conn, RELATIONS, endpoint, db)
            (lobs,) = _one(conn, LARGE_OBJECTS, endpoint, db)
        found.append(_database_facts(db, rows, int(lobs)))
    if not server:
        raise OperationFailed(f"the {endpoint.describe()} has no database to publish")
    wal, version, slots, used, senders, sup, repl, rds_sup, rds_repl, user = server
    return SourceFacts(
        str(wal),
        int(version),
        int(slots),
        int(used),
        int(senders),
        bool(sup),
        bool(repl),
        bool(rds_sup),
        bool(rds_repl),
        str(user),
        tuple(found),
    )


def _database_facts(db: str, rows: Iterable[tuple[Any, ...]], lobs: int) -> DatabaseFacts:
    tables, none, full, foreign, unlogged, matviews = [], [], [], [], [], []
    sequences = 0
    for schema, name, kind, persistence, ident, has_pk, has_index, owned in rows:
        qualified = QualifiedTable(db, schema, name)
        if kind == "S":  # its value is set on the target at the cutover: it must be readable
            sequences += 1
            if not owned:
                foreign.append(qualified)
            continue
        if kind == "m":
            matviews.append(qualified)
            continue
        if persistence != "p":
            unlogged.append(qualified)
            continue
        tables.append(qualified)
        if not owned:
            foreign.append(qualified)
        if ident == "f":
            full.append(qualified)
        elif not (has_pk and ident == "d") and not (has_index and ident == "i"):
            none.append(qualified)
    return DatabaseFacts(
        db,
        tuple(tables),
        tuple(none),
        tuple(full),
        tuple(foreign),
        tuple(unlogged),
        tuple(matviews),
        lobs,
        sequences,
    )


# -- publishing ---------------------------------------------------------------------------


def publishable(
    endpoint: Endpoint, database: str, *, connect_map: ConnectMap | None = None
) -> tuple[DatabaseFacts, dict[QualifiedTable, str]]:
    """``database``'s tables now, and each one's replica identity (default,
    nothing, full or index)."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        rows = _all(conn, RELATIONS, endpoint, database)
    identities = {QualifiedTable(database, r[0], r[1]): IDENTITIES.get(r[4], r[4]) for r in rows}
    return _database_facts(database, rows, 0), identities


def set_replica_identity(
    endpoint: Endpoint,
    database: str,
    tables: Sequence[QualifiedTable],
    identity: str,
    *,
    connect_map: ConnectMap | None = None,
) -> None:
    """``ALTER TABLE ... REPLICA IDENTITY FULL|DEFAULT|NOTHING`` (a brief lock each)."""
    keyword = {"full": "FULL", "default": "DEFAULT", "nothing": "NOTHING"}[identity]
    with _session(endpoint, database, connect_map) as conn:
        lock = sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT))
        _all(conn, lock, endpoint, database)
        for table in tables:
            statement = sql.SQL("ALTER TABLE {} REPLICA IDENTITY {}").format(
                _ident(table), sql.SQL(keyword)
            )
            _all(conn, statement, endpoint, database)


def publication_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone()
    return row is not None


def has_publication(
    endpoint: Endpoint, database: str, name: str, *, connect_map: ConnectMap | None = None
) -> bool:
    with connect(endpoint, database, connect_map=connect_map) as conn:
        return publication_exists(conn, name)


def create_publication(
    endpoint: Endpoint,
    database: str,
    name: str,
    tables: Sequence[QualifiedTable],
    *,
    connect_map: ConnectMap | None = None,
) -> bool:
    """The publication of ``tables`` (none: an empty one); False when it was there."""
    with _session(endpoint, database, connect_map) as conn:
        if publication_exists(conn, name):
            return False
        statement = sql.SQL("CREATE PUBLICATION {}").format(sql.Identifier(name))
        if tables:
            listed = sql.SQL(", ").join(_ident(t) for t in tables)
            statement = sql.SQL("{} FOR TABLE {}").format(statement, listed)
        _all(conn, statement, endpoint, database)
    return True


def drop_publication(
    endpoint: Endpoint, database: str, name: str, *, connect_map: ConnectMap | None = None
) -> bool:
    """Drop the publication; False when there was none."""
    with _session(endpoint, database, connect_map) as conn:
        if not publication_exists(conn, name):
            return False
        _all(conn, sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(name)), endpoint, database)
    return True


def slot_exists(conn: psycopg.Connection[Any], slot: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,))
    return row.fetchone() is not None


def create_slot(
    endpoint: Endpoint, database: str, slot: str, *, connect_map: ConnectMap | None = None
) -> bool:
    """A logical replication slot (pgoutput) in ``database``; False when it was there.
    It waits for the transactions open now to end (that is how it finds its start)."""
    with _session(endpoint, database, connect_map, timeout=30) as conn:
        if slot_exists(conn, slot):
            return False
        create = sql.SQL("SELECT pg_create_logical_replication_slot({}, 'pgoutput')")
        _all(conn, create.format(sql.Literal(slot)), endpoint, database)
    return True


def drop_slots(
    endpoint: Endpoint,
    slots: Sequence[str],
    *,
    connect_map: ConnectMap | None = None,
    timeout_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Drop the named slots (ending the WAL sender of one still in use); the dropped."""
    dropped: list[str] = []
    deadline = time.monotonic() + timeout_s
    with _session(endpoint, endpoint.dbname or "postgres", connect_map) as conn:
        pending = list(slots)
        while pending:
            for slot in list(pending):
                row = conn.execute(
                    "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                ).fetchone()
                if row is None:
                    pending.remove(slot)
                    continue
                if row[0] is not None:  # still streaming: end its sender, try again
                    conn.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                    continue
                try:
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                except psycopg.errors.ObjectInUse:
                    continue
                except psycopg.errors.UndefinedObject:
                    pass
                else:
                    dropped.append(slot)
                pending.remove(slot)
            if pending:
                if time.monotonic() > deadline:
                    raise OperationFailed(
                        f"replication slot(s) {', '.join(pending)} on the "
                        f"{endpoint.describe()} stay in use: drop them with "
                        "pg_drop_replication_slot() once their sender ends"
                    )
                sleep(0.2)
    return dropped


# -- progress -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotState:
    """One slot as the source sees it now."""

    slot: str
    database: str
    active: bool
    current_lsn: str
    confirmed_lsn: str | None
    lag_bytes: int | None
    retained_bytes: int | None
    lag_s: float | None


def slot_states(
    endpoint: Endpoint, slots: Sequence[str], *, connect_map: ConnectMap | None = None
) -> list[SlotState]:
    """The named slots that exist, with the subscriber's progress."""
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        rows = _all(conn, SLOTS, endpoint, None, (list(slots),))
    return [
        SlotState(
            str(slot),
            str(db),
            bool(active),
            str(current),
            None if confirmed is None else str(confirmed),
            None if lag is None else int(lag),
            None if kept is None else int(kept),
            None if seconds is None else float(seconds),
        )
        for slot, db, active, current, confirmed, lag, kept, seconds, _pid in rows
    ]


def wal_level(endpoint: Endpoint, *, connect_map: ConnectMap | None = None) -> str:
    """The server's ``wal_level`` now (``logical`` once the source can publish)."""
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        (level,) = _one(conn, sql.SQL("SELECT current_setting('wal_level')"), endpoint, None)
    return str(level)


def current_lsn(endpoint: Endpoint, *, connect_map: ConnectMap | None = None) -> str:
    """The source's WAL insert position now."""
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        (lsn,) = _one(conn, sql.SQL("SELECT pg_current_wal_lsn()::text"), endpoint, None)
    return str(lsn)


def lsn_value(lsn: str) -> int:
    """``'16/B374D848'`` as a number, to compare LSNs without a server."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


# -- helpers ------------------------------------------------------------------------------


def _all(
    conn: psycopg.Connection[Any],
    query: sql.SQL | sql.Composed,
    endpoint: Endpoint,
    database: str | None,
    params: tuple[Any, ...] | None = None,
) -> list[tuple[Any, ...]]:
    try:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []
    except psycopg.Error as e:
        raise failure(endpoint, database, e) from None


def _one(
    conn: psycopg.Connection[Any],
    query: sql.SQL | sql.Composed,
    endpoint: Endpoint,
    database: str | None,
) -> tuple[Any, ...]:
    rows = _all(conn, query, endpoint, database)
    return rows[0] if rows else ()


def first_line(error: BaseException) -> str:
    """A PostgreSQL error's first line (no detail, no context)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def failure(endpoint: Endpoint, database: str | None, error: BaseException) -> OperationFailed:
    """A failed statement as the error users see: where, and the server's first line."""
    return OperationFailed(f"on the {endpoint.describe(database)}: {first_line(error)}")
