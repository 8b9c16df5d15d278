"""Major-version upgrade of the restored cluster, when the plan needs one."""

from __future__ import annotations

from typing import Any

from snapmigrate.errors import OperationFailed
from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import resources
from snapmigrate.steps.context import Outcome, StepContext
from snapmigrate.steps.restore import cluster_status
from snapmigrate.waiting import Status

NAME = "upgrade"
PERMISSIONS = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")
UNDO_PERMISSIONS: tuple[str, ...] = ()


def plan(spec: TargetSpec, source: SourceCluster) -> Step | None:
    if not spec.major_upgrade:
        return None
    return Step(
        NAME,
        {
            "cluster_id": spec.identifier,
            "from_version": spec.restore_version,
            "engine_version": spec.engine_version,
            "parameter_group": spec.parameter_group,
        },
        f"upgrade {spec.identifier} from {spec.restore_version} to {spec.engine_version} "
        "(AllowMajorVersionUpgrade)",
    )


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """The AWS ids this step stands for."""
    return {"cluster": step.params["cluster_id"]}


def _upgraded(cluster: dict[str, Any] | None, version: str) -> Status:
    status = cluster_status(cluster)
    if cluster is None or status.failed:
        return status
    at = cluster.get("EngineVersion", "?")
    if at != version:
        return Status(f"{status.status}, at {at}")
    return Status(status.status, done=status.done)


def is_done(ctx: StepContext, step: Step) -> bool:
    """Done when our cluster runs the planned version and is available."""
    cluster = resources.owned_cluster(ctx, step.params["cluster_id"])
    if cluster is None:
        return False
    return _upgraded(cluster, step.params["engine_version"]).done


def apply(ctx: StepContext, step: Step) -> Outcome:
    """ModifyDBCluster to the new major version (once), then wait for it."""
    cluster_id, version = step.params["cluster_id"], step.params["engine_version"]
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is None:
        raise OperationFailed(f"cluster {cluster_id} is gone: the restore step must run first (--resume)")
    resources.check_owned(ctx, cluster, "cluster", cluster_id)
    if cluster.get("EngineVersion") != version and cluster.get("Status") != "upgrading":
        api: dict[str, Any] = {
            "DBClusterIdentifier": cluster_id,
            "EngineVersion": version,
            "AllowMajorVersionUpgrade": True,
            "ApplyImmediately": True,
        }
        if step.params.get("parameter_group"):
            api["DBClusterParameterGroupName"] = step.params["parameter_group"]
        ctx.call(f"upgrade {cluster_id} to {version}", ctx.rds().modify_db_cluster, **api)
    waited = ctx.wait(
        NAME,
        f"upgrade of {cluster_id} to {version}",
        lambda: {cluster_id: _upgraded(resources.find_cluster(ctx, cluster_id), version)},
        labels=(cluster_id,),
    )
    return Outcome(
        f"upgraded {cluster_id} from {step.params['from_version']} to {version}",
        resources={"cluster": cluster_id},
        details={"engine_version": version},
        waits=(waited,),
    )


def undo(ctx: StepContext, step: Step) -> str:
    """A major upgrade cannot be reversed; deleting the cluster (restore's undo) removes it."""
    return "nothing to undo: deleting the cluster removes the upgrade"
