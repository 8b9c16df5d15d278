"""The database reads a cutover makes: comparisons of the source and the target,
and the target's write counters (so a rollback can count what it will not bring back)."""

from __future__ import annotations

import logging

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.state import TableWrites
from snapmigrate.db.stats import FLUSH_DELAY_S, Counts, WriteCounters, write_counters
from snapmigrate.db.verify import TableRef, VerifyOptions, VerifyResult, verify
from snapmigrate.errors import SnapmigrateError
from snapmigrate.migrate.dataplane import baseline
from snapmigrate.migrate.snapshot import SnapshotDetails

log = logging.getLogger(__name__)


def compare(
    ctx: CutoverContext,
    mode: str,
    *,
    tables: tuple[TableRef, ...] | None = None,
    drift_allowed: bool = False,
) -> VerifyResult:
    """The source against the target; with ``drift_allowed``, differences on tables
    the source wrote around the snapshot are drift, not failures."""
    snapshot = SnapshotDetails.of(ctx.record)
    drift = (
        baseline(snapshot.write_counters_before, snapshot.write_counters_after)
        if drift_allowed
        else None
    )
    options = VerifyOptions(mode=mode, tables=tables, baseline=drift, allow_drift=drift is not None)
    return verify(
        ctx.source,
        ctx.target,
        options,
        connect_map=ctx.connect_map,
        progress=log.debug,
        sleep=ctx.waiter.clock.sleep,
    )


def verify_line(result: VerifyResult) -> str:
    """A verification in one line, for phases and guardrails."""
    return (
        f"{len(result.tables)} table(s), {len(result.differing_tables)} differing, "
        f"{len(result.schema_differences)} schema difference(s), {result.mode}, "
        f"{result.elapsed_s:.2f} s"
    )


def target_counters(ctx: CutoverContext) -> WriteCounters | None:
    """The target's write counters when it took over (None when they cannot be read)."""
    try:
        return write_counters(ctx.target, connect_map=ctx.connect_map)
    except SnapmigrateError as e:
        log.warning(
            "could not read the target's write counters (rollback cannot count later writes): %s",
            e,
        )
        return None


def writes_since(ctx: CutoverContext, then: WriteCounters) -> tuple[TableWrites, ...]:
    """Row changes on the target since ``then`` (the cutover), per table."""
    now = write_counters(ctx.target, connect_map=ctx.connect_map)
    out = []
    for key, counts in sorted(now.tables.items()):
        base = then.tables.get(key) or Counts(0, 0, 0)
        delta = [max(0, a - b) for a, b in zip(counts, base, strict=True)]
        if any(delta):
            name = f"{key.database}.{key.schema}.{key.table}"
            out.append(TableWrites(name, delta[0], delta[1], delta[2]))
    if out:
        log.info(
            "counters of sessions still writing may lag up to %.0f s: these counts are a floor",
            FLUSH_DELAY_S,
        )
    return tuple(out)
