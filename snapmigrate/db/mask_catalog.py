"""What masking needs from the SOURCE, read-only, before anything is created: the
catalog facts of the tables the rules name (columns, types, keys, foreign keys,
partitions) in every user database that holds them, and the checks only a server
can make -- a constant that does not cast, a ``sql`` expression that does not
run, a negative integer where ``hash`` needs none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

from snapmigrate.db import mask_sql as q
from snapmigrate.db.connect import Endpoint, connect, list_databases
from snapmigrate.db.mask import Keys, TablePlan, params_for, targets
from snapmigrate.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from snapmigrate.connectmap import ConnectMap


# -- the source's catalog -------------------------------------------------------------


@dataclass(frozen=True)
class ColumnFacts:
    """One column as the source's catalog describes it."""

    name: str
    type: str  # format_type(), e.g. "character varying(40)"
    base_type: str  # the pg_type name under any domain, e.g. "varchar"
    not_null: bool = False
    max_length: int | None = None
    generated: bool = False
    identity_always: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: ``table`` (``schema.name``) ``columns`` refer to ``ref_table``'s."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableFacts:
    """A table the rules name, in one database of the source."""

    database: str
    schema: str
    name: str
    columns: Mapping[str, ColumnFacts]
    primary_key: tuple[str, ...] = ()
    #: Its foreign keys, and those of other tables that point at it.
    foreign_keys: tuple[ForeignKey, ...] = ()
    referenced_by: tuple[ForeignKey, ...] = ()
    #: Partitions and inheritance children (``schema.name``), all levels.
    descendants: tuple[str, ...] = ()
    partitioned: bool = False

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name} (database {self.database})"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def keys(self) -> frozenset[str]:
        """The primary key's columns and those of its foreign keys."""
        return frozenset(self.primary_key) | {c for fk in self.foreign_keys for c in fk.columns}


def check_on_source(
    conn: psycopg.Connection[Any], plans: Sequence[TablePlan], database: str
) -> None:
    """What only the server can say, in a read-only transaction on the source: a
    constant that does not cast, a sql expression that does not run, a negative
    integer where hash needs none. Bad input (exit 2)."""
    keys = Keys()
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        for plan in plans:
            for target in targets(plan):
                where = f"{plan.schema}.{plan.name}.{target.column} (database {database})"
                if target.strategy in ("constant", "sql"):
                    try:
                        with conn.transaction():
                            probe = q.probe_value(plan.schema, plan.name, target)
                            conn.execute(probe, params_for(plan, keys))
                    except psycopg.Error as e:
                        first = (str(e).strip().splitlines() or ["error"])[0]
                        raise BadInput(
                            f"mask rules: {where}: {target.strategy} does not fit: {first}"
                        ) from None
                if target.strategy == "hash" and target.base_type in q.INT_BITS:
                    row = conn.execute(q.lowest(plan.schema, plan.name, target.column)).fetchone()
                    if row and row[0] is not None and row[0] < 0:
                        raise BadInput(
                            f"mask rules: {where}: hash of integers needs values >= 0, "
                            f"the source holds {row[0]}"
                        )


def _facts(
    conn: psycopg.Connection[Any], database: str, schema: str, name: str, version: int
) -> TableFacts | None:
    found = conn.execute(q.TABLE, {"schema": schema, "name": name}).fetchone()
    if found is None:
        return None
    oid, kind = found
    args = {"oid": oid}
    columns = {
        row[0]: ColumnFacts(
            row[0], row[1], row[2], bool(row[3]), row[4], bool(row[5]), bool(row[6])
        )
        for row in conn.execute(q.columns_query(version), args).fetchall()
    }
    key = tuple(r[0] for r in conn.execute(q.PRIMARY_KEY, args).fetchall())

    def keys(outgoing: bool) -> tuple[ForeignKey, ...]:
        rows = conn.execute(q.foreign_keys_query(outgoing), args).fetchall()
        return tuple(ForeignKey(r[0], tuple(r[1]), r[2], tuple(r[3])) for r in rows)

    below = tuple(f"{s}.{n}" for s, n in conn.execute(q.DESCENDANTS, args).fetchall())
    return TableFacts(
        database,
        schema,
        name,
        columns,
        key,
        keys(True),
        keys(False),
        below,
        partitioned=kind == "p",
    )


def read_facts(
    endpoint: Endpoint,
    tables: Sequence[tuple[str | None, str, str]],
    *,
    connect_map: ConnectMap | None = None,
) -> tuple[list[str], list[TableFacts]]:
    """The source's user databases, and the facts of every ``(database or None,
    schema, table)`` named, in each database that holds it (None: any)."""
    databases = list_databases(endpoint, connect_map=connect_map)
    found: list[TableFacts] = []
    for database in databases:
        wanted = {(s, n) for d, s, n in tables if d in (None, database)}
        if not wanted:
            continue
        with connect(endpoint, database, connect_map=connect_map) as conn:
            try:
                version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
                for schema, name in sorted(wanted):
                    facts = _facts(conn, database, schema, name, version)
                    if facts is not None:
                        found.append(facts)
            except psycopg.Error as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise OperationFailed(
                    f"cannot read the catalog of the {endpoint.describe(database)}: {first}"
                ) from None
    return databases, found


def check_plans(
    endpoint: Endpoint,
    plans: Mapping[str, Sequence[TablePlan]],
    *,
    connect_map: ConnectMap | None = None,
) -> None:
    """:func:`check_on_source` in every database the plans touch."""
    for database, tables in plans.items():
        with connect(endpoint, database, connect_map=connect_map, autocommit=False) as conn:
            check_on_source(conn, tables, database)
