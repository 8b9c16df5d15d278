"""Major-version upgrade of the restored cluster, when the plan needs one.

A snapshot restores at its own major version; a later major needs
``ModifyDBCluster --engine-version --allow-major-version-upgrade``:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html

What AWS reports wins over the plan: a cluster already at the planned version
or a later one (RDS may upgrade a cluster on its own, say with Extended Support
opted out) is not upgraded again, and the version recorded is AWS's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.restore import owned_cluster, restored_cluster
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

NAME = "upgrade"


@dataclass(frozen=True)
class UpgradeInputs(Record):
    cluster_id: str
    from_version: str
    engine_version: str
    parameter_group: str | None = None


@dataclass(frozen=True)
class UpgradeDetails(StepDetails):
    step = NAME
    always = frozenset({"engine_version"})

    engine_version: str | None = None


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def reached(found: str | None, planned: str) -> bool:
    """Whether a cluster at ``found`` is at ``planned`` or later (``13.12`` < ``13.9`` is false)."""
    return bool(found) and _numbers(found or "") >= _numbers(planned)


def upgraded(cluster: rds.Resource | None, version: str) -> Status:
    """Done when the cluster is available at ``version`` or a later one."""
    status = rds.cluster_status(cluster)
    if cluster is None or status.failed:
        return status
    at = cluster.get("EngineVersion", "?")
    if not reached(at, version):
        return Status(f"{status.status}, at {at}")
    return Status(status.status, done=status.done)


class UpgradeStep(Step[Basis, MigrateContext, UpgradeInputs]):
    """The restored cluster upgraded to the planned major version (once)."""

    name = NAME
    inputs = UpgradeInputs
    permissions = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")

    def plan(self, basis: Basis) -> UpgradeInputs | None:
        spec = basis.spec
        if not spec.major_upgrade:
            return None
        return UpgradeInputs(
            spec.identifier, spec.restore_version, spec.engine_version, spec.parameter_group
        )

    def describe(self, inputs: UpgradeInputs) -> str:
        return (
            f"upgrade {inputs.cluster_id} from {inputs.from_version} to {inputs.engine_version} "
            "(AllowMajorVersionUpgrade)"
        )

    def ids(self, ctx: MigrateContext, inputs: UpgradeInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: UpgradeInputs) -> bool:
        """Done when our cluster runs the planned version and is available."""
        cluster = owned_cluster(ctx, inputs.cluster_id)
        return cluster is not None and upgraded(cluster, inputs.engine_version).done

    def apply(self, ctx: MigrateContext, inputs: UpgradeInputs) -> Outcome:
        """ModifyDBCluster to the new major version (once), then wait for it."""
        cluster_id, version = inputs.cluster_id, inputs.engine_version
        cluster = restored_cluster(ctx, cluster_id)
        at = cluster.get("EngineVersion")
        if not reached(at, version) and cluster.get("Status") != "upgrading":
            api: dict[str, Any] = {
                "DBClusterIdentifier": cluster_id,
                "EngineVersion": version,
                "AllowMajorVersionUpgrade": True,
                "ApplyImmediately": True,
            }
            if inputs.parameter_group:
                api["DBClusterParameterGroupName"] = inputs.parameter_group
            ctx.aws.call(
                f"upgrade {cluster_id} to {version}", ctx.aws.rds().modify_db_cluster, **api
            )
        waited = ctx.wait(
            NAME,
            f"upgrade of {cluster_id} to {version}",
            lambda: {cluster_id: upgraded(rds.find_cluster(ctx.aws, cluster_id), version)},
            labels=(cluster_id,),
        )
        now = (rds.find_cluster(ctx.aws, cluster_id) or {}).get("EngineVersion") or version
        return Outcome(
            f"upgraded {cluster_id} from {inputs.from_version} to {now}",
            resources={"cluster": cluster_id},
            details=UpgradeDetails(engine_version=now),
            waits=(waited,),
        )

    def undo(self, ctx: MigrateContext, inputs: UpgradeInputs) -> str:
        """A major upgrade cannot be reversed; deleting the cluster (restore's undo) removes it."""
        return "nothing to undo: deleting the cluster removes the upgrade"
