"""The cutover's phases, as steps of the one shape: guardrails, freeze, catch-up,
verify, swap, prove (:data:`CUTOVER`, in that order). A run with a logical
catch-up has drain, sequences and verify-changes in place of catch-up and
verify, and ends it (end-catch-up) after the proof.

A phase that leaves nothing to look at (guardrails, catch-up, verify, prove)
is done when the journal says so; the freeze is done when the databases are
read-only now, the swap when clients' name leads to the target now.
Rolling back is the steps' ``undo`` in reverse order: swap back, unfreeze.
"""

from __future__ import annotations

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.steps.base import Basis
from snapmigrate.cutover.steps.catchup import (
    DrainStep,
    EndCatchUpStep,
    SequencesStep,
    VerifyChangesStep,
)
from snapmigrate.cutover.steps.compare import CatchUpStep, VerifyStep
from snapmigrate.cutover.steps.freeze import FreezeStep, frozen_now
from snapmigrate.cutover.steps.guardrails import GuardrailsStep
from snapmigrate.cutover.steps.prove import ProveStep
from snapmigrate.cutover.steps.swap import SwapStep
from snapmigrate.workflow.step import Workflow

#: The cutover, in order. The first step runs before the freeze (and asks);
#: a failure in any later one rolls back.
CUTOVER: Workflow[Basis, CutoverContext] = Workflow(
    "cutover",
    (
        GuardrailsStep(),
        FreezeStep(),
        CatchUpStep(),
        DrainStep(),
        SequencesStep(),
        VerifyStep(),
        VerifyChangesStep(),
        SwapStep(),
        ProveStep(),
        EndCatchUpStep(),
    ),
)


__all__ = ["CUTOVER", "Basis", "frozen_now"]
