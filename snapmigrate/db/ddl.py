"""Schema changes since the copy was taken: logical replication does not carry
DDL, so the catch-up's cutover compares both sides' whole inventories (tables,
columns, indexes, constraints, sequences, functions, extensions) -- no rows.
https://www.postgresql.org/docs/current/logical-replication-restrictions.html
"""

from __future__ import annotations

from collections.abc import Sequence

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.catalog import read_inventory
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.db.dialect import Dialect
from snapmigrate.db.schema_diff import SchemaDifference, diff_inventories
from snapmigrate.db.sessions import Pair, Side


def schema_differences(
    source: Endpoint,
    target: Endpoint,
    databases: Sequence[str],
    *,
    connect_map: ConnectMap | None = None,
) -> list[SchemaDifference]:
    """Every schema difference between the source and the target, in ``databases``
    (both sides read at once)."""
    found: list[SchemaDifference] = []
    for db in databases:
        with (
            connect(source, db, connect_map=connect_map) as src,
            connect(target, db, connect_map=connect_map) as tgt,
        ):
            pair = Pair(Side("source", src), Side("target", tgt))
            try:
                found += _differences(db, pair)
            finally:
                pair.close()
    return found


def _differences(database: str, pair: Pair) -> list[SchemaDifference]:
    (src_version,), (tgt_version,) = pair.both(lambda side: side.one(Dialect.server_version()))
    dialect = Dialect.for_versions(src_version, tgt_version)
    versions = {id(pair.source): src_version, id(pair.target): tgt_version}
    src_inv, tgt_inv = pair.both(lambda side: read_inventory(side.run, dialect, versions[id(side)]))
    return diff_inventories(database, src_inv, tgt_inv)
