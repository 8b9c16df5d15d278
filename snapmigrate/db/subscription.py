"""The subscribing side of the logical catch-up, on the restored copy: its start
LSN, the subscription that reuses the source's slot, and the sequences the
catch-up does not carry. In the order AWS documents
(https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html):
``aurora_volume_logical_start_lsn()``, drop the copy's copy of the slot,
``CREATE SUBSCRIPTION ... WITH (copy_data = false, create_slot = false,
enabled = false, slot_name = ...)``, advance its origin to the start LSN, enable.

The subscription's connection string holds the source's password (the copy's
server dials the source itself); it never reaches a log, the journal or an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.db.logical import failure, first_line
from snapmigrate.errors import OperationFailed

START_LSN = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora_volume_logical_start_lsn.html"
FIND = sql.SQL(
    "SELECT s.oid::int, s.subenabled, s.subslotname::text FROM pg_subscription s "
    "JOIN pg_database d ON d.oid = s.subdbid "
    "WHERE d.datname = current_database() AND s.subname = %s"
)
SEQUENCES = sql.SQL(
    "SELECT schemaname::text, sequencename::text, last_value FROM pg_sequences "
    "WHERE last_value IS NOT NULL AND schemaname NOT IN ('pg_catalog', 'information_schema')"
)
SET_SEQUENCES = sql.SQL(
    "SELECT count(setval(format('%%I.%%I', s, n)::regclass, v, true))::int "
    "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS t(s, n, v)"
)


@dataclass(frozen=True)
class Subscription:
    """A subscription on the copy as its catalog shows it."""

    name: str
    oid: int
    enabled: bool
    slot: str | None

    @property
    def origin(self) -> str:
        """Its replication origin: PostgreSQL names it ``pg_`` and the subscription's oid."""
        return f"pg_{self.oid}"


def publisher_conninfo(
    source: Endpoint, password: str | None, database: str, connect_map: ConnectMap | None
) -> str:
    """How the copy's server reaches the source: the source's endpoint name with TLS
    required -- or, where the connect map has a ``servers`` route for it (the lab,
    a proxy), that address with TLS where the far side offers it."""
    host, port, sslmode = source.host, source.port, "require"
    routed = (connect_map or ConnectMap()).reload().server_route(source.host, source.port)
    if routed is not None:
        (host, port), sslmode = routed, "prefer"
    params: dict[str, Any] = {
        "host": host,
        "port": port,
        "dbname": database,
        "user": source.user,
        "sslmode": sslmode,
        "application_name": "snapmigrate-catch-up",
    }
    if password:
        params["password"] = password
    return make_conninfo(**params)


def password_of(endpoint: Endpoint, *, connect_map: ConnectMap | None = None) -> str | None:
    """The password the tool logs in to ``endpoint`` with (given, from Secrets Manager,
    or libpq's pgpass): the copy's server needs it to dial the source."""
    if endpoint.password:
        return endpoint.password
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        return conn.info.password or None


def start_lsn(endpoint: Endpoint, database: str, *, connect_map: ConnectMap | None = None) -> str:
    """``aurora_volume_logical_start_lsn()``: the LSN the copy was taken at."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        try:
            row = conn.execute("SELECT aurora_volume_logical_start_lsn()::text").fetchone()
        except psycopg.errors.UndefinedFunction:
            raise OperationFailed(
                f"the {endpoint.describe(database)} has no aurora_volume_logical_start_lsn() "
                "(Aurora PostgreSQL 11.15+, 12.10+, 13.6+, 14.3+, 15.2+, 16 and later: "
                f"{START_LSN})"
            ) from None
        except psycopg.Error as e:
            raise failure(endpoint, database, e) from None
    if row is None or row[0] is None:
        raise OperationFailed(f"the {endpoint.describe(database)} returned no start LSN")
    return str(row[0])


def drop_copied(
    endpoint: Endpoint,
    database: str,
    slot: str,
    publication: str,
    *,
    connect_map: ConnectMap | None = None,
) -> list[str]:
    """Drop the copy's copies of the source's slot and publication (the volume
    carried them); what was dropped."""
    dropped = []
    with connect(endpoint, database, connect_map=connect_map) as conn:
        try:
            if conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)
            ).fetchone():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                dropped.append(f"slot {slot}")
            if conn.execute(
                "SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,)
            ).fetchone():
                conn.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(publication)))
                dropped.append(f"publication {publication}")
        except psycopg.Error as e:
            raise failure(endpoint, database, e) from None
    return dropped


def find(
    endpoint: Endpoint, database: str, name: str, *, connect_map: ConnectMap | None = None
) -> Subscription | None:
    with connect(endpoint, database, connect_map=connect_map) as conn:
        row = conn.execute(FIND, (name,)).fetchone()
    return None if row is None else Subscription(name, int(row[0]), bool(row[1]), row[2])


def create(
    endpoint: Endpoint,
    database: str,
    name: str,
    *,
    conninfo: str,
    publication: str,
    slot: str,
    password: str | None,
    connect_map: ConnectMap | None = None,
) -> Subscription:
    """The subscription, disabled, reusing the source's slot, copying no data."""
    statement = sql.SQL(
        "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (copy_data = false, "
        "create_slot = false, enabled = false, connect = true, slot_name = {})"
    ).format(
        sql.Identifier(name),
        sql.Literal(conninfo),
        sql.Identifier(publication),
        sql.Literal(slot),
    )
    with connect(endpoint, database, connect_map=connect_map, timeout=30) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as e:
            why = first_line(e).replace(password, "***") if password else first_line(e)
            raise OperationFailed(
                f"could not subscribe the {endpoint.describe(database)} to the source: {why}"
            ) from None
        row = conn.execute(FIND, (name,)).fetchone()
    assert row is not None
    return Subscription(name, int(row[0]), bool(row[1]), row[2])


def advance_and_enable(
    endpoint: Endpoint,
    database: str,
    sub: Subscription,
    lsn: str,
    *,
    connect_map: ConnectMap | None = None,
) -> None:
    """Advance the (disabled) subscription's origin to ``lsn`` -- never back: an origin
    already past it has applied changes -- then enable it: the source's changes
    after ``lsn`` are applied, none before."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        try:
            if not sub.enabled:
                conn.execute(
                    "SELECT pg_replication_origin_advance(%s, %s::pg_lsn) "
                    "WHERE coalesce(pg_replication_origin_progress(%s, false), '0/0') "
                    "< %s::pg_lsn",
                    (sub.origin, lsn, sub.origin, lsn),
                )
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(sub.name)))
        except psycopg.Error as e:
            raise failure(endpoint, database, e) from None


def drop(
    endpoint: Endpoint, database: str, name: str, *, connect_map: ConnectMap | None = None
) -> bool:
    """Drop the subscription, detached from its slot first (the slot is the source's
    to drop: after a rename the connection string no longer reaches it); False when
    there was none."""
    ident = sql.Identifier(name)
    with connect(endpoint, database, connect_map=connect_map) as conn:
        if conn.execute(FIND, (name,)).fetchone() is None:
            return False
        try:
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident))
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident))
            conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(ident))
        except psycopg.Error as e:
            raise failure(endpoint, database, e) from None
    return True


def copy_sequences(
    source: Endpoint,
    target: Endpoint,
    databases: Sequence[str],
    *,
    connect_map: ConnectMap | None = None,
) -> int:
    """Set every used sequence of the target to the source's value (logical
    replication does not carry them); how many were set."""
    done = 0
    for db in databases:
        with connect(source, db, connect_map=connect_map) as conn:
            rows = conn.execute(SEQUENCES).fetchall()
        if not rows:
            continue
        columns = [list(c) for c in zip(*rows, strict=True)]
        with connect(target, db, connect_map=connect_map) as conn:
            try:
                row = conn.execute(SET_SEQUENCES, columns).fetchone()
            except psycopg.Error as e:
                raise failure(target, db, e) from None
        done += int(row[0]) if row else 0
    return done
