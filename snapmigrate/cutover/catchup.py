"""The catch-up's guardrails, before the freeze: it streams, it is close behind,
its slots hold no more WAL than allowed -- and a verification of everything,
so that inside the freeze only what changed since needs verifying again.

The baseline's write counters are read *before* its comparison starts: a table
written after them is verified again inside the freeze, whatever the
comparison saw; a table that differed then (a change in flight) is too. Any
schema difference is DDL the catch-up did not carry: the cutover stops there,
having changed nothing.
"""

from __future__ import annotations

from dataclasses import replace

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.dataplane import compare, verify_line
from snapmigrate.cutover.state import CatchUp, Guardrail, stamp
from snapmigrate.db.schema_diff import SchemaDifference
from snapmigrate.db.stats import write_counters
from snapmigrate.errors import SnapmigrateError
from snapmigrate.migrate.catchup import CatchUpDetails, measure, over_limit, slots_of
from snapmigrate.model import QualifiedTable

#: The most the copy may lag when the freeze begins: what it still has to apply
#: then is part of the outage.
MAX_LAG_BYTES = 64 * 1024**2
MIB = 1024**2


def state(ctx: CutoverContext) -> CatchUp:
    return ctx.state.catch_up or CatchUp()


def save(ctx: CutoverContext, part: CatchUp) -> None:
    ctx.save(replace(ctx.state, catch_up=part))


def slots(ctx: CutoverContext) -> dict[str, str]:
    return slots_of(ctx.run_id, ctx.plan.target.catch_up.databases)


def guardrails(ctx: CutoverContext, mode: str) -> list[Guardrail]:
    """The catch-up's checks before anything changes (in place of the run's verification)."""
    streaming = _streaming(ctx)
    if not streaming.passed:
        return [streaming]
    return [streaming, _baseline(ctx, mode)]


def _streaming(ctx: CutoverContext) -> Guardrail:
    details = CatchUpDetails.of(ctx.record)
    if details.ended:
        return Guardrail(
            "catch-up",
            False,
            f"the catch-up ended ({details.ended}): the copy misses the source's writes since; "
            "migrate again",
        )
    spec = ctx.plan.target.catch_up
    try:
        found = measure(ctx.source, slots(ctx), connect_map=ctx.connect_map)
    except SnapmigrateError as e:
        return Guardrail("catch-up", False, f"cannot read the source's slots: {e}")
    too_much = over_limit(found, spec.max_retained_wal_bytes)
    if too_much:
        return Guardrail("catch-up", False, f"{too_much}: end it with 'snapmigrate rollback'")
    if found.state != "streaming":
        return Guardrail("catch-up", False, f"{found.state}: {found.reason}")
    lag = found.lag_bytes or 0
    save(ctx, replace(state(ctx), lag_bytes=lag))
    if lag > MAX_LAG_BYTES:
        return Guardrail(
            "catch-up",
            False,
            f"the copy is {lag / MIB:.0f} MiB behind (more than {MAX_LAG_BYTES // MIB} MiB to "
            "apply inside the freeze): cut over once it has caught up (see 'snapmigrate status')",
        )
    retained = (found.retained_wal_bytes or 0) / MIB
    return Guardrail(
        "catch-up",
        True,
        f"streaming, {lag:,} byte(s) behind ({found.lag_s or 0:.1f} s); its slots hold "
        f"{retained:.1f} MiB of WAL",
    )


def ddl(differences: tuple[SchemaDifference, ...] | list[SchemaDifference]) -> list[str]:
    """Schema differences the catch-up cannot explain (a sequence behind is not one:
    the cutover sets sequences)."""
    return [
        d.message for d in differences if not (d.kind == "sequence" and d.difference == "behind")
    ]


def _baseline(ctx: CutoverContext, mode: str) -> Guardrail:
    """Counters, then a verification of everything; the tables in flight noted."""
    try:
        source = write_counters(ctx.source, connect_map=ctx.connect_map)
        target = write_counters(ctx.target, connect_map=ctx.connect_map)
        result = compare(ctx, mode)
    except SnapmigrateError as e:
        return Guardrail("verification", False, f"cannot verify before the freeze: {e}")
    schema = ddl(result.schema_differences)
    if schema:
        shown = "; ".join(schema[:5]) + (f" and {len(schema) - 5} more" if len(schema) > 5 else "")
        return Guardrail(
            "verification",
            False,
            f"the schemas differ, and logical replication carries no DDL: {shown}. Migrate "
            "again from a new snapshot",
        )
    differing = tuple(
        QualifiedTable(t.database, t.schema, t.name) for t in result.tables if not t.equal
    )
    save(
        ctx,
        replace(
            state(ctx),
            baseline_at=stamp(),
            source_counters=source,
            target_counters=target,
            differing=differing,
        ),
    )
    return Guardrail(
        "verification",
        True,
        f"verified before the freeze: {verify_line(result)}; {len(differing)} table(s) in "
        "flight are verified again inside it, with every table written since",
    )
