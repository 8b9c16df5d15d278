"""The migration: snapshot, restore, upgrade, instances, settings, verify --
one module per step, in the order they run, applied by :mod:`.runner`. With
``--catch-up logical`` the source is prepared and publishes before the
snapshot, and the copy subscribes after its instances and settings.

Cutover is its own workflow (:mod:`snapmigrate.cutover`), not a migrate step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from snapmigrate.inplace import PATH
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.instances import InstancesStep
from snapmigrate.migrate.prepare_source import PrepareSourceStep
from snapmigrate.migrate.publication import PublicationStep
from snapmigrate.migrate.restore import RestoreStep
from snapmigrate.migrate.settings import SettingsStep
from snapmigrate.migrate.snapshot import SnapshotStep
from snapmigrate.migrate.subscription import SubscriptionStep
from snapmigrate.migrate.upgrade import UpgradeStep
from snapmigrate.migrate.verify import VerifyStep
from snapmigrate.model import Plan, PlannedStep, SourceCluster, TargetSpec
from snapmigrate.workflow.step import Workflow

MIGRATION: Workflow[Basis, MigrateContext] = Workflow(
    "migrate",
    (
        PrepareSourceStep(),
        PublicationStep(),
        SnapshotStep(),
        RestoreStep(),
        UpgradeStep(),
        InstancesStep(),
        SettingsStep(),
        SubscriptionStep(),
        VerifyStep(),
    ),
)


#: The in-place path's name (``plan|migrate --path in-place``): its own workflow.
IN_PLACE = PATH


def workflow_for(path: str) -> Workflow[Basis, MigrateContext]:
    """The workflow a plan of this path runs: the snapshot path's, or the in-place one
    (:mod:`snapmigrate.inplace`, same layer, imported when asked for)."""
    if path == IN_PLACE:
        from snapmigrate.inplace.workflow import IN_PLACE_WORKFLOW

        return IN_PLACE_WORKFLOW
    return MIGRATION


def build(spec: TargetSpec, source: SourceCluster) -> tuple[PlannedStep, ...]:
    """The ordered steps for migrating ``source`` to ``spec``."""
    return workflow_for(spec.path).plan(Basis(spec, source))


def read_plan(data: Mapping[str, Any]) -> Plan:
    """A migration plan from its JSON (a ``--plan-file``, or a run's journal)."""
    path = (data.get("target") or {}).get("path") or "snapshot"
    return Plan.from_dict(data, workflow_for(path).decode)
