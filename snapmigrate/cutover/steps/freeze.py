"""The freeze step: the source read-only for new sessions, other sessions ended,
no write transaction left -- journaled first, undone exactly."""

from __future__ import annotations

from dataclasses import replace

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.steps.base import Basis, NoInputs
from snapmigrate.cutover.swap import swap_for
from snapmigrate.db import freeze as db_freeze
from snapmigrate.errors import ConnectError, OperationFailed, WaitTimeout
from snapmigrate.migrate.dataplane import is_fatal
from snapmigrate.migrate.snapshot import SnapshotDetails
from snapmigrate.progress import Status
from snapmigrate.workflow.step import Outcome, Step


def freeze_record(ctx: CutoverContext) -> db_freeze.FreezeRecord | None:
    """The freeze this run made: the cutover's own, else the one made before the snapshot."""
    return ctx.state.freeze or SnapshotDetails.of(ctx.record).freeze


def frozen_now(ctx: CutoverContext) -> bool:
    """Every database of the freeze record is read-only for new sessions now."""
    record = freeze_record(ctx)
    if record is None:
        return False
    names = [d.name for d in record.databases]
    found = db_freeze.read_only_databases(ctx.source, names, connect_map=ctx.connect_map)
    return set(found) == set(names)


class FreezeStep(Step[Basis, CutoverContext, NoInputs]):
    """The source read-only for new sessions, other sessions ended, no write
    transaction left. SQL only, as the master user: no IAM action."""

    name = "freeze"
    inputs = NoInputs

    def plan(self, basis: Basis) -> NoInputs:
        return NoInputs()

    def describe(self, inputs: NoInputs) -> str:
        return "make every database of the source read-only; end other sessions"

    def is_done(self, ctx: CutoverContext, inputs: NoInputs) -> bool:
        return ctx.phase_done(self.name) and frozen_now(ctx)

    def apply(self, ctx: CutoverContext, inputs: NoInputs) -> Outcome:
        """Freeze (or re-assert the freeze made before the snapshot); journal first."""
        state = ctx.state
        before_snapshot = SnapshotDetails.of(ctx.record).freeze
        # A freeze made before the snapshot is adopted -- unless a rollback lifted it since.
        adopted = not state.freeze and not state.history and before_snapshot is not None
        record = freeze_record(ctx)
        if record is None:
            record = db_freeze.prepare(ctx.source, connect_map=ctx.connect_map)
            ctx.save(replace(ctx.state, freeze=record))
        done = db_freeze.apply(ctx.source, record, connect_map=ctx.connect_map)
        first = ctx.state.frozen_at or (record.frozen_at if adopted else done.frozen_at)
        ctx.save(replace(ctx.state, freeze=done, frozen_at=first, freeze_adopted=adopted))
        names = ", ".join(d.name for d in done.databases)
        since = " (frozen since before the snapshot)" if adopted else ""
        return Outcome(
            f"{len(done.databases)} database(s) read-only ({names}){since}; "
            f"{done.terminated} session(s) ended; no write transaction open"
        )

    def undo(self, ctx: CutoverContext, inputs: NoInputs) -> str | None:
        """Put every database's setting back as it was. Idempotent.

        After a rename back, the source's endpoint name resolves again only minutes
        later (as the target's did): the source is waited for while it cannot be
        reached, as long as the mode's names may take (a short ``--prove-timeout`` does
        not shorten the way back); a refused login fails at once."""
        record = freeze_record(ctx)
        if record is None:
            return None
        label, last = ctx.source.host, dict[str, str]()

        def poll() -> dict[str, Status]:
            try:
                db_freeze.unfreeze(ctx.source, record, connect_map=ctx.connect_map)
            except ConnectError as e:
                if is_fatal(str(e)):
                    raise
                last["error"] = str(e)
                return {label: Status("not reachable yet")}
            return {label: Status("writable again", done=True)}

        swap = swap_for(ctx.options.mode) if ctx.options.mode else None
        window = max(swap.prove_timeout(ctx), swap.prove_window_s) if swap else 120.0
        try:
            ctx.wait(f"{label} to answer again", poll, cap=window)
        except WaitTimeout as e:
            raise OperationFailed(f"the source stays frozen: {last.get('error', e)}") from e
        return f"{len(record.databases)} database(s) writable again"
