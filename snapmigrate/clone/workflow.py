"""The clone's workflow: its steps in the order they run."""

from __future__ import annotations

from snapmigrate.clone.context import CloneBasis, CloneContext
from snapmigrate.clone.masking import MaskStep, ProofStep
from snapmigrate.clone.restore import InstancesStep, RestoreStep
from snapmigrate.workflow.step import Workflow

CLONE: Workflow[CloneBasis, CloneContext] = Workflow(
    "clone", (RestoreStep(), InstancesStep(), MaskStep(), ProofStep())
)
