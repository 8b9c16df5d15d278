"""The catch-up and verify steps: the frozen source compared with the target --
first the tables written since the snapshot (a stale copy stops here), then all."""

from __future__ import annotations

from dataclasses import dataclass, replace

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.dataplane import compare, verify_line
from snapmigrate.cutover.state import (
    Drift,
    FinalVerification,
)
from snapmigrate.cutover.steps.base import Basis, Phase
from snapmigrate.db.stats import changed_since, reset_since, write_counters
from snapmigrate.db.verify import TableRef
from snapmigrate.errors import DifferencesFound
from snapmigrate.migrate.snapshot import SnapshotDetails
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome


@dataclass(frozen=True)
class CatchUpInputs(Record):
    accept_drift: bool = False


class CatchUpStep(Phase[CatchUpInputs]):
    """Tables the source wrote since the snapshot (write counters) compared now:
    if they differ, the copy is stale."""

    name = "catch-up"
    inputs = CatchUpInputs

    def plan(self, basis: Basis) -> CatchUpInputs | None:
        # A logical catch-up drains instead (steps/catchup.py).
        return None if basis.catch_up else CatchUpInputs(basis.options.accept_drift)

    def describe(self, inputs: CatchUpInputs) -> str:
        return "compare the tables the source wrote since the snapshot"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        before = SnapshotDetails.of(ctx.record).write_counters_before
        if before is None or not before.captured or before.counters is None:
            reason = (before.reason if before else None) or "no counters recorded at the snapshot"
            ctx.save(replace(ctx.state, drift=Drift(checked=False, reason=reason)))
            return Outcome(
                "no write counters from the snapshot: the final verification decides alone"
            )
        then = before.counters
        now = write_counters(ctx.source, connect_map=ctx.connect_map)
        moved = sorted(set(changed_since(then, now)) | set(reset_since(then, now)))
        if not moved:
            ctx.save(replace(ctx.state, drift=Drift(checked=True, tables=(), stale=())))
            return Outcome("no table was written on the source since the snapshot")
        refs = tuple(TableRef(k.schema, k.table, k.database) for k in moved)
        result = compare(ctx, "checksum", tables=refs)
        stale = tuple(
            sorted(f"{t.database}.{t.schema}.{t.name}" for t in result.tables if not t.equal)
        )
        names = tuple(f"{k.database}.{k.schema}.{k.table}" for k in moved)
        accepted = bool(stale) and inputs.accept_drift
        ctx.save(replace(ctx.state, drift=Drift(True, None, names, stale, accepted)))
        if not stale:
            return Outcome(
                f"{len(names)} table(s) written around the snapshot, and the copy has those "
                f"writes: {', '.join(names)}"
            )
        if inputs.accept_drift:
            return Outcome(
                f"STALE, ACCEPTED (--accept-drift): writes after the snapshot to "
                f"{', '.join(stale)} are not in the copy and will be lost"
            )
        raise DifferencesFound(
            f"the copy is stale: {', '.join(stale)} changed on the source after the snapshot, "
            "so those writes are not in the target. Migrate again from a new snapshot (with "
            "--freeze-before-snapshot for no loss), or pass --accept-drift to cut over without them"
        )


@dataclass(frozen=True)
class VerifyInputs(Record):
    verify_mode: str = "checksum"


class VerifyStep(Phase[VerifyInputs]):
    """The frozen source against the target; any difference stops the cutover."""

    name = "verify"
    inputs = VerifyInputs

    def plan(self, basis: Basis) -> VerifyInputs | None:
        # A logical catch-up verifies what changed since before the freeze (steps/catchup.py).
        return None if basis.catch_up else VerifyInputs(basis.options.verify_mode)

    def describe(self, inputs: VerifyInputs) -> str:
        return "verify the frozen source against the target"

    def apply(self, ctx: CutoverContext, inputs: VerifyInputs) -> Outcome:
        drift = ctx.state.drift
        accepted = bool(drift and drift.accepted)
        result = compare(ctx, inputs.verify_mode, drift_allowed=accepted)
        line = verify_line(result)
        # equal, or (--accept-drift) different only where drift was accepted
        passed = result.exit_code == 0
        summary = FinalVerification(
            equal=result.equal,
            mode=inputs.verify_mode,
            line=line,
            tables=len(result.tables),
            differing=len(result.differing_tables),
            elapsed_s=round(result.elapsed_s, 3),
            passed=passed,
        )
        ctx.save(replace(ctx.state, verification=summary))
        if not passed:
            raise DifferencesFound(f"final verification failed: {line}")
        how = "equal" if result.equal else "equal but for the accepted drift"
        return Outcome(f"{how}: {line}")
