"""Restore the snapshot as a provisioned-mode cluster with a Serverless v2 range."""

from __future__ import annotations

import logging
from typing import Any

from snapmigrate.errors import NotFound
from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import resources, snapshot
from snapmigrate.steps.context import Outcome, StepContext
from snapmigrate.waiting import Status

log = logging.getLogger(__name__)

NAME = "restore"
ROLE = "target"
PERMISSIONS = (
    "rds:RestoreDBClusterFromSnapshot",
    "rds:DescribeDBClusters",
    "rds:AddTagsToResource",
    "kms:CreateGrant",
    "kms:DescribeKey",
)
UNDO_PERMISSIONS = ("rds:ModifyDBCluster", "rds:DeleteDBCluster")


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    params: dict[str, Any] = {
        "cluster_id": spec.identifier,
        "engine": spec.engine,
        "engine_version": spec.restore_version,
        "engine_mode": "provisioned",
        "serverless_v2_scaling": spec.scaling.to_api(),
        "kms_key_id": spec.kms_key_id,
        "subnet_group": spec.subnet_group,
        "security_group_ids": list(spec.security_group_ids),
        # A custom group of the old major cannot be used before the upgrade.
        "parameter_group": None if spec.major_upgrade else spec.parameter_group,
        "port": spec.port,
        "deletion_protection": spec.deletion_protection,
        "backup_retention_period": spec.backup_retention_period,
        "iam_auth": spec.iam_auth,
        "cloudwatch_logs_exports": list(spec.cloudwatch_logs_exports),
        "copy_tags_to_snapshot": spec.copy_tags_to_snapshot,
        "engine_lifecycle_support": spec.engine_lifecycle_support,
        "tags": dict(spec.tags),
    }
    scaling = spec.scaling
    return Step(
        NAME,
        params,
        f"restore as {spec.identifier} ({spec.engine} {spec.restore_version}, provisioned, "
        f"Serverless v2 {scaling.min_capacity:g}-{scaling.max_capacity:g} ACU)",
    )


def request(ctx: StepContext, step: Step) -> dict[str, Any]:
    """The ``RestoreDBClusterFromSnapshot`` parameters for this step, as sent.

    Booleans are always sent, so the target never silently inherits a default
    (moto even drops falsy overrides; AWS honours them). The scaling range is
    in the same call: it must be on the cluster before any db.serverless instance.
    """
    p = step.params
    api: dict[str, Any] = {
        "DBClusterIdentifier": p["cluster_id"],
        "SnapshotIdentifier": snapshot.identifier(ctx),
        "Engine": p["engine"],
        "EngineVersion": p["engine_version"],
        "EngineMode": p["engine_mode"],
        "ServerlessV2ScalingConfiguration": dict(p["serverless_v2_scaling"]),
        "Port": int(p["port"]),
        "DeletionProtection": bool(p["deletion_protection"]),
        "BackupRetentionPeriod": int(p["backup_retention_period"]),
        "EnableIAMDatabaseAuthentication": bool(p["iam_auth"]),
        "CopyTagsToSnapshot": bool(p["copy_tags_to_snapshot"]),
        "Tags": ctx.tags(ROLE),
    }
    optional = {
        "KmsKeyId": p.get("kms_key_id"),
        "DBSubnetGroupName": p.get("subnet_group"),
        "VpcSecurityGroupIds": list(p.get("security_group_ids") or []),
        "DBClusterParameterGroupName": p.get("parameter_group"),
        "EnableCloudwatchLogsExports": list(p.get("cloudwatch_logs_exports") or []),
        "EngineLifecycleSupport": p.get("engine_lifecycle_support"),
    }
    api.update({k: v for k, v in optional.items() if v})
    return api


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """The AWS ids this step stands for."""
    return {"cluster": step.params["cluster_id"]}


def cluster_status(cluster: dict[str, Any] | None) -> Status:
    return resources.availability(cluster, "cluster")


def is_done(ctx: StepContext, step: Step) -> bool:
    """Done when the target cluster exists, carries this run's tag and is available."""
    cluster = resources.owned_cluster(ctx, step.params["cluster_id"])
    if cluster is None:
        return False
    return cluster.get("Status") == "available"


def apply(ctx: StepContext, step: Step) -> Outcome:
    """Restore unless this run already did, then wait until the cluster is available."""
    cluster_id = step.params["cluster_id"]
    cluster = resources.find_cluster(ctx, cluster_id)
    api = request(ctx, step)
    if cluster is None:
        resources.create(
            ctx,
            f"restore {api['SnapshotIdentifier']} as {cluster_id}",
            ctx.rds().restore_db_cluster_from_snapshot,
            lambda: resources.find_cluster(ctx, cluster_id),
            **api,
        )
        summary = f"restored {api['SnapshotIdentifier']} as {cluster_id}"
    else:
        summary = f"{cluster_id} (restore requested by an earlier attempt of this run)"
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is not None:
        resources.check_owned(ctx, cluster, "cluster", cluster_id)
    ctx.note(NAME, {"cluster": cluster_id}, {})
    waited = ctx.wait(NAME, f"cluster {cluster_id}", lambda: {cluster_id: cluster_status(resources.find_cluster(ctx, cluster_id))}, labels=(cluster_id,))
    final = resources.find_cluster(ctx, cluster_id) or {}
    details = {
        "engine_version": final.get("EngineVersion"),
        "engine_mode": final.get("EngineMode"),
        "endpoint": final.get("Endpoint"),
        "reader_endpoint": final.get("ReaderEndpoint"),
        "arn": final.get("DBClusterArn"),
        "serverless_v2_scaling": final.get("ServerlessV2ScalingConfiguration"),
    }
    return Outcome(summary, resources={"cluster": cluster_id}, details=details, waits=(waited,))


def undo(ctx: StepContext, step: Step) -> str:
    """Delete the target cluster (ours only, its instances gone first), without a final snapshot."""
    cluster_id = step.params["cluster_id"]
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is None:
        return f"cluster {cluster_id} is already gone"
    resources.check_owned(ctx, cluster, "cluster", cluster_id)
    rds = ctx.rds()
    if cluster.get("DeletionProtection"):
        ctx.call(f"turn off deletion protection of {cluster_id}", rds.modify_db_cluster, DBClusterIdentifier=cluster_id, DeletionProtection=False, ApplyImmediately=True)
    if cluster.get("Status") != "deleting":
        try:
            ctx.call(f"delete cluster {cluster_id}", rds.delete_db_cluster, DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
        except NotFound:
            return f"cluster {cluster_id} is already gone"

    def gone() -> dict[str, Status]:
        found = resources.find_cluster(ctx, cluster_id)
        return {cluster_id: Status("deleted", done=True) if found is None else Status(found.get("Status", "unknown"))}

    ctx.wait("cleanup", f"deletion of cluster {cluster_id}", gone, labels=(cluster_id,))
    return f"deleted cluster {cluster_id} (no final snapshot: the source is untouched)"
