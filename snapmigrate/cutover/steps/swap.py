"""The swap step: clients' name moved to the target by the mode's strategy."""

from __future__ import annotations

from dataclasses import dataclass

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.steps.base import Basis
from snapmigrate.cutover.steps.freeze import freeze_record
from snapmigrate.cutover.swap import swap_for
from snapmigrate.db import freeze as db_freeze
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome, Step


@dataclass(frozen=True)
class SwapInputs(Record):
    mode: str


class SwapStep(Step[Basis, CutoverContext, SwapInputs]):
    """Clients' name moved to the target by the mode's strategy (:mod:`.swap`)."""

    name = "swap"
    inputs = SwapInputs

    def plan(self, basis: Basis) -> SwapInputs | None:
        return SwapInputs(basis.options.mode) if basis.options.mode else None

    def describe(self, inputs: SwapInputs) -> str:
        return f"swap by {inputs.mode}"

    def is_done(self, ctx: CutoverContext, inputs: SwapInputs) -> bool:
        return ctx.phase_done(self.name) and swap_for(inputs.mode).is_done(ctx)

    def apply(self, ctx: CutoverContext, inputs: SwapInputs) -> Outcome:
        """Swap -- after lifting, on the target, a freeze its snapshot carried.

        ``ALTER DATABASE ... SET`` lives in the cluster's catalog, so a snapshot
        of a frozen source (``--freeze-before-snapshot``) restores read-only
        databases: the target gets the settings the source had before.
        """
        thawed = ""
        record = freeze_record(ctx)
        if ctx.state.freeze_adopted and record is not None:
            db_freeze.unfreeze(ctx.target, record, connect_map=ctx.connect_map)
            thawed = (
                f"; {len(record.databases)} database(s) of the target made writable "
                "(the snapshot was taken frozen)"
            )
        done = swap_for(inputs.mode).apply(ctx)
        ctx.relocate()
        return Outcome(done + thawed)

    def undo(self, ctx: CutoverContext, inputs: SwapInputs) -> str | None:
        """Swap back (with the mode's strategy); None when nothing was swapped."""
        line = swap_for(inputs.mode).undo(ctx)
        if line is not None:
            ctx.relocate()
        return line
