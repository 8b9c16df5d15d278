"""The in-place path's workflow: its steps in the order they run (``--path in-place``).

The contract names, in order: ``safety-snapshot``, ``convert`` (Serverless v1
only), ``upgrade`` (when the version has no Serverless v2), ``scaling``,
``add-serverless-reader``, ``failover``, ``add-reader`` (another zone),
``remove-provisioned``. The same runner, journal and resume as the snapshot path.
"""

from __future__ import annotations

from snapmigrate.inplace.cluster import (
    ConvertStep,
    InPlaceUpgradeStep,
    SafetySnapshotStep,
    ScalingStep,
)
from snapmigrate.inplace.instances import (
    AddReaderStep,
    AddServerlessReaderStep,
    FailoverStep,
    RemoveProvisionedStep,
)
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.workflow.step import Workflow

IN_PLACE_WORKFLOW: Workflow[Basis, MigrateContext] = Workflow(
    "in-place",
    (
        SafetySnapshotStep(),
        ConvertStep(),
        InPlaceUpgradeStep(),
        ScalingStep(),
        AddServerlessReaderStep(),
        FailoverStep(),
        AddReaderStep(),
        RemoveProvisionedStep(),
    ),
)
#: The steps whose write outage the probe measures.
DISRUPTIVE = ("convert", "upgrade", "failover")
