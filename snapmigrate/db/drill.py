"""A drill's SQL: the canary transaction, the heartbeat table, the user's
``sql:FILE`` checks and the damage ``--inject`` does to a restored copy.

Identifiers only through :class:`psycopg.sql.Identifier`; the user's checks
are run as given, one statement each, in a read-only transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from snapmigrate.db.connect import connect
from snapmigrate.db.stats import TableKey, WriteCounters
from snapmigrate.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint

#: The canary's scratch table: created, written, read and dropped in one transaction.
CANARY_TABLE = "snapmigrate_drill_canary"


@dataclass(frozen=True)
class Beat:
    """The newest heartbeat row: when it was written, and the source's counters then."""

    at: datetime
    counters: WriteCounters


@dataclass(frozen=True)
class SqlAnswer:
    """One of the user's queries: its text, ``ok`` and the optional ``detail``."""

    query: str
    ok: bool
    detail: str | None = None


def canary(endpoint: Endpoint, dbname: str, *, connect_map: ConnectMap | None = None) -> None:
    """A read and a write through the cluster endpoint: a scratch table created,
    a row inserted and read back, the table dropped -- one committed transaction
    (a read-only or unreachable server raises :class:`OperationFailed`)."""
    table = sql.Identifier("public", CANARY_TABLE)
    with connect(endpoint, dbname, connect_map=connect_map, timeout=10) as conn:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("CREATE TABLE {} (at timestamptz NOT NULL)").format(table))
                conn.execute(sql.SQL("INSERT INTO {} VALUES (now())").format(table))
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
                conn.execute(sql.SQL("DROP TABLE {}").format(table))
        except psycopg.Error as e:
            raise OperationFailed(f"the canary transaction failed: {_line(e)}") from None
    if not row or row[0] != 1:
        raise OperationFailed("the canary transaction read back no row")


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -- heartbeat -------------------------------------------------------------------------


def ensure_heartbeat(conn: psycopg.Connection[Any], schema: str, table: str) -> None:
    """The heartbeat table: one row per beat, the source's write counters with it."""
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, "
            "at timestamptz NOT NULL DEFAULT clock_timestamp(), counters jsonb NOT NULL)"
        ).format(sql.Identifier(schema, table))
    )


def beat(conn: psycopg.Connection[Any], schema: str, table: str, counters: WriteCounters) -> None:
    """One beat: now, and the per-table write counters read just before."""
    conn.execute(
        sql.SQL("INSERT INTO {} (counters) VALUES (%s::jsonb)").format(
            sql.Identifier(schema, table)
        ),
        (json.dumps(counters.to_dict()),),
    )


def newest_beat(
    endpoint: Endpoint,
    dbname: str,
    schema: str,
    table: str,
    *,
    connect_map: ConnectMap | None = None,
) -> Beat | None:
    """The newest beat in ``endpoint``'s copy of the heartbeat table (None: no table, no row)."""
    query = sql.SQL("SELECT at, counters FROM {} ORDER BY at DESC LIMIT 1").format(
        sql.Identifier(schema, table)
    )
    with connect(endpoint, dbname, connect_map=connect_map) as conn:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        except psycopg.Error as e:
            raise OperationFailed(
                f"cannot read the heartbeat {schema}.{table}: {_line(e)}"
            ) from None
    if row is None:
        return None
    data = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    return Beat(row[0], WriteCounters.from_dict(data))


# -- the user's checks -----------------------------------------------------------------


def split_queries(text: str, where: str) -> tuple[str, ...]:
    """``sql:FILE``: statements separated by ``;`` at the end of a line."""
    found = tuple(q.strip() for q in text.replace("\r\n", "\n").split(";\n") if q.strip())
    found = tuple(q.removesuffix(";").strip() for q in found)
    if not found:
        raise BadInput(f"{where} holds no query: each returns one row with a boolean 'ok'")
    return found


def run_sql_checks(
    endpoint: Endpoint,
    dbname: str,
    queries: Sequence[str],
    *,
    connect_map: ConnectMap | None = None,
) -> list[SqlAnswer]:
    """Each query in a read-only transaction; it must return a column ``ok`` (boolean)
    and may return ``detail``. A query that fails is a failed check, with its error."""
    answers = []
    with connect(endpoint, dbname, connect_map=connect_map) as conn:
        for query in queries:
            try:
                with conn.transaction():
                    conn.execute("SET TRANSACTION READ ONLY")
                    cur = conn.execute(query)  # the user's own check, read-only
                    names = [c.name for c in cur.description or ()]
                    row = cur.fetchone()
            except psycopg.Error as e:
                answers.append(SqlAnswer(query, False, f"error: {_line(e)}"))
                continue
            if "ok" not in names or row is None:
                answers.append(SqlAnswer(query, False, "no row with a column 'ok'"))
                continue
            found = dict(zip(names, row, strict=True))
            detail = found.get("detail")
            answers.append(
                SqlAnswer(query, found["ok"] is True, None if detail is None else str(detail))
            )
    return answers


# -- damage, on the copy only ----------------------------------------------------------

_CHANGEABLE = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
    "WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s) "
    "AND a.attnum > 0 AND NOT a.attisdropped "
    "AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid "
    "AND a.attnum = ANY(i.indkey)) ORDER BY a.attnum"
)
_NUMERIC = ("integer", "bigint", "smallint", "numeric", "double precision", "real")


def corrupt_row(
    endpoint: Endpoint, table: TableKey, *, connect_map: ConnectMap | None = None
) -> str | None:
    """Change one value of one row of ``table`` (a column outside every index: the
    checksum sees it, the row count does not). The column changed, or None when the
    table has no such column or no row."""
    name = sql.Identifier(table.schema, table.table)
    with connect(endpoint, table.database, connect_map=connect_map) as conn:
        columns = conn.execute(_CHANGEABLE, (table.schema, table.table)).fetchall()
        for column, kind in columns:
            col = sql.Identifier(column)
            if kind in _NUMERIC or kind.startswith("numeric"):
                change = sql.SQL("{} = coalesce({}, 0) + 1").format(col, col)
            elif kind == "text" or kind.startswith(("character", "varchar")):
                change = sql.SQL("{} = CASE WHEN {} = 'x' THEN 'y' ELSE 'x' END").format(col, col)
            else:
                continue
            cur = conn.execute(
                sql.SQL("UPDATE {} SET {} WHERE ctid = (SELECT ctid FROM {} LIMIT 1)").format(
                    name, change, name
                )
            )
            return str(column) if cur.rowcount == 1 else None
    return None


def drop_table(
    endpoint: Endpoint, table: TableKey, *, connect_map: ConnectMap | None = None
) -> None:
    """Drop ``table`` (and what depends on it) from the copy."""
    with connect(endpoint, table.database, connect_map=connect_map) as conn:
        conn.execute(
            sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table.schema, table.table))
        )
