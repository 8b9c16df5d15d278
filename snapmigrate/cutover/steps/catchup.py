"""The cutover's catch-up phases (``--catch-up logical``): inside the freeze,
**drain** (the copy applies everything up to the source's LSN of now),
**sequences** (set on the copy from the source: logical replication does not
carry them), **verify-changes** (only what changed since the verification
before the freeze, and the whole schema); after the proof, **end-catch-up**
(subscriptions, slots, publications dropped).

None of them changes anything a rollback must put back: after a failure the
catch-up goes on, so the cutover can be tried again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from snapmigrate.cutover import catchup
from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.dataplane import compare, verify_line
from snapmigrate.cutover.state import FinalVerification
from snapmigrate.cutover.steps.base import Basis, Phase
from snapmigrate.db import ddl, logical
from snapmigrate.db import subscription as subs
from snapmigrate.db.stats import WriteCounters, changed_since, reset_since, write_counters
from snapmigrate.db.verify import TableRef
from snapmigrate.errors import DifferencesFound, OperationFailed, SnapmigrateError
from snapmigrate.migrate.catchup import end, ended
from snapmigrate.model import QualifiedTable
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.waiting import WaitPolicy
from snapmigrate.workflow.step import Outcome


@dataclass(frozen=True)
class CatchUpInputs(Record):
    databases: tuple[str, ...] = ()


class CatchUpPhase(Phase[CatchUpInputs]):
    """A phase that runs only when the run has a catch-up."""

    def plan(self, basis: Basis) -> CatchUpInputs | None:
        return CatchUpInputs() if basis.catch_up else None


class DrainStep(CatchUpPhase):
    """The copy applies everything the frozen source has written."""

    name = "drain"
    inputs = CatchUpInputs

    def describe(self, inputs: CatchUpInputs) -> str:
        return "wait until the copy has applied the source's WAL up to its position now"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        started = time.monotonic()
        slots = list(catchup.slots(ctx).values())
        goal = logical.current_lsn(ctx.source, connect_map=ctx.connect_map)
        target = logical.lsn_value(goal)

        def applied() -> dict[str, Status]:
            states = logical.slot_states(ctx.source, slots, connect_map=ctx.connect_map)
            found = {s.slot: s for s in states}
            out = {}
            for slot in slots:
                s = found.get(slot)
                if s is None:
                    out[slot] = Status("gone", failed="the slot was dropped: the catch-up ended")
                    continue
                done = s.confirmed_lsn is not None and logical.lsn_value(s.confirmed_lsn) >= target
                idle = "" if s.active else ", no subscriber connected"
                out[slot] = Status(f"{s.lag_bytes or 0:,} bytes to apply{idle}", done=done)
            return out

        # Polled fast: it is part of the outage, and usually a matter of milliseconds.
        policy = WaitPolicy(timeout_s=ctx.remaining(), first_delay_s=0.02, max_delay_s=0.25)
        ctx.waiter.wait(f"the copy to apply the source's WAL up to {goal}", applied, policy)
        took = round(time.monotonic() - started, 3)
        catchup.save(ctx, replace(catchup.state(ctx), drained_to=goal, drain_s=took))
        return Outcome(f"the copy applied everything up to {goal} ({took:.2f} s)")


class SequencesStep(CatchUpPhase):
    """Every sequence of the copy set to the frozen source's value."""

    name = "sequences"
    inputs = CatchUpInputs

    def describe(self, inputs: CatchUpInputs) -> str:
        return "set every sequence of the copy to the source's value"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        databases = ctx.plan.target.catch_up.databases
        count = subs.copy_sequences(ctx.source, ctx.target, databases, connect_map=ctx.connect_map)
        catchup.save(ctx, replace(catchup.state(ctx), sequences=count))
        return Outcome(f"{count} sequence(s) set on the copy from the source")


class VerifyChangesStep(CatchUpPhase):
    """The frozen source against the copy: every table written since the
    verification before the freeze (or in flight then), and the whole schema."""

    name = "verify-changes"
    inputs = CatchUpInputs

    def describe(self, inputs: CatchUpInputs) -> str:
        return "verify the tables changed since the verification before the freeze, and the schema"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        part = catchup.state(ctx)
        if part.source_counters is None or part.target_counters is None:
            raise OperationFailed("no verification before the freeze was journaled: roll back")
        databases = ctx.plan.target.catch_up.databases
        cmap = ctx.connect_map
        source = write_counters(ctx.source, databases=databases, connect_map=cmap)
        target = write_counters(ctx.target, databases=databases, connect_map=cmap)
        tables = touched(part.source_counters, source) | touched(part.target_counters, target)
        tables |= set(part.differing or ())
        found = ddl.schema_differences(ctx.source, ctx.target, databases, connect_map=cmap)
        schema = catchup.ddl(found)
        refs = tuple(TableRef(t.schema, t.table, t.database) for t in sorted(tables, key=str))
        mode = ctx.options.verify_mode
        result = compare(ctx, mode, tables=refs) if refs else None
        line = verify_line(result) if result is not None else "no table changed"
        passed = not schema and (result is None or result.exit_code == 0)
        ctx.save(
            replace(
                ctx.state,
                verification=FinalVerification(
                    equal=passed,
                    mode=mode,
                    line=line,
                    tables=len(refs),
                    differing=len(result.differing_tables) if result else 0,
                    elapsed_s=round(result.elapsed_s, 3) if result else 0.0,
                    passed=passed,
                ),
                catch_up=replace(part, verified=tuple(sorted(tables, key=str))),
            )
        )
        if schema:
            raise DifferencesFound(f"the schemas differ (DDL is not replicated): {schema[0]}")
        if not passed:
            raise DifferencesFound(f"final verification failed: {line}")
        return Outcome(f"equal: {line}; the schema too")


def touched(then: WriteCounters, now: WriteCounters) -> set[QualifiedTable]:
    """Tables written (or whose counters were reset) between two captures."""
    keys = set(changed_since(then, now)) | set(reset_since(then, now))
    return {QualifiedTable(k.database, k.schema, k.table) for k in keys}


class EndCatchUpStep(CatchUpPhase):
    """Subscriptions, slots and publications dropped once clients are on the copy.
    A failure here does not roll the cutover back: it says how to finish."""

    name = "end-catch-up"
    inputs = CatchUpInputs

    def describe(self, inputs: CatchUpInputs) -> str:
        return "drop the copy's subscriptions and the source's slots and publications"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        try:
            dropped = finish(ctx, "cut over")
        except SnapmigrateError as e:
            return Outcome(
                f"NOT ENDED ({e}): run 'snapmigrate cutover {ctx.run_id}' again to drop the "
                "run's slots on the source, or they keep its WAL"
            )
        return Outcome(f"dropped {', '.join(dropped)}" if dropped else "nothing left to drop")


def finish(ctx: CutoverContext, why: str) -> list[str]:
    """End the catch-up now; journal it ended and what was dropped."""
    databases = ctx.plan.target.catch_up.databases
    dropped = end(ctx.source, ctx.target, ctx.run_id, databases, connect_map=ctx.connect_map)
    ctx.record = ended(ctx.record, why)
    catchup.save(ctx, replace(catchup.state(ctx), ended=tuple(dropped)))
    return dropped
