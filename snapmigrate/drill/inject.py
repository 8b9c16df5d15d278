"""``--inject``: damage done to the restored copy only -- never the source -- after
the restore and before the checks, so that the drill must go red: the self-test
that proves its checks can fail.

- ``corrupt-row``: one value changed in a table whose write counters did not
  move between the copy's newest heartbeat and now (so ``checksum`` must fail);
- ``missing-table``: a table dropped (so ``schema`` must fail).
"""

from __future__ import annotations

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.catalog import qualname
from snapmigrate.db.connect import Endpoint
from snapmigrate.db.drill import corrupt_row, drop_table
from snapmigrate.db.stats import TableKey, WriteCounters, changed_since, write_counters
from snapmigrate.drill.options import DrillOptions
from snapmigrate.errors import BadInput, OperationFailed


def _name(table: TableKey) -> str:
    """As the checks name a table: ``database schema.table`` (quoted where needed)."""
    return f"{table.database} {qualname(table.schema, table.table)}"


def candidates(
    source: Endpoint,
    copy: Endpoint,
    baseline: WriteCounters | None,
    options: DrillOptions,
    cmap: ConnectMap,
) -> list[TableKey]:
    """The copy's tables, the heartbeat's left out -- with a baseline, only those the
    source did not write since it."""
    tables = sorted(write_counters(copy, connect_map=cmap).tables)
    hb = options.heartbeat
    if hb is not None:
        tables = [
            t for t in tables
            if (t.database, t.schema, t.table) != (options.database, hb.schema, hb.name)
        ]  # fmt: skip
    if baseline is not None:
        moved = set(changed_since(baseline, write_counters(source, connect_map=cmap)))
        tables = [t for t in tables if t not in moved and t in baseline.tables]
    return tables


def damage(
    kind: str,
    source: Endpoint,
    copy: Endpoint,
    baseline: WriteCounters | None,
    options: DrillOptions,
    cmap: ConnectMap,
) -> str:
    """Do ``kind`` to the copy; what was done, in one line."""
    if copy.cluster_id == options.source or copy.cluster_id is None:
        raise OperationFailed("--inject refused: the endpoint is not the drill's copy")
    found = candidates(source, copy, baseline, options, cmap)
    if kind == "missing-table":
        if not found:
            raise BadInput("--inject missing-table: the copy has no table to drop")
        table = found[0]
        drop_table(copy, table, connect_map=cmap)
        return f"missing-table: dropped {_name(table)} on the copy"
    for table in found:
        column = corrupt_row(copy, table, connect_map=cmap)
        if column:
            return f"corrupt-row: changed one value (column {column}) of {_name(table)} on the copy"
    raise BadInput(
        "--inject corrupt-row: no table unchanged since the recovery point has a row and a "
        "column to change"
    )
