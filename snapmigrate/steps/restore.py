"""Restore the snapshot as a provisioned-mode cluster with a Serverless v2 range."""

from __future__ import annotations

from typing import Any

from snapmigrate.model import SourceCluster, Step, TargetSpec

NAME = "restore"
PERMISSIONS = (
    "rds:RestoreDBClusterFromSnapshot",
    "rds:DescribeDBClusters",
    "rds:AddTagsToResource",
    "kms:CreateGrant",
    "kms:DescribeKey",
)


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
