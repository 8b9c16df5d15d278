"""Restore the snapshot as a provisioned-mode cluster with a Serverless v2 range
(set later, after the major upgrade, when the snapshot's major has no Serverless v2)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.errors import NotFound, OperationFailed
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.snapshot import snapshot_id
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

NAME = "restore"
ROLE = "target"


@dataclass(frozen=True)
class RestoreInputs(Record):
    """Everything the new cluster is given at restore time."""

    cluster_id: str
    engine: str
    engine_version: str
    engine_mode: str
    #: ``ServerlessV2ScalingConfiguration`` as the API takes it; empty when the range is
    #: set after a major upgrade (the restore's major has no Serverless v2).
    serverless_v2_scaling: Mapping[str, float | int]
    kms_key_id: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    parameter_group: str | None = None
    port: int = 5432
    deletion_protection: bool = False
    backup_retention_period: int = 1
    iam_auth: bool = False
    cloudwatch_logs_exports: tuple[str, ...] = ()
    copy_tags_to_snapshot: bool = False
    engine_lifecycle_support: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreDetails(StepDetails):
    """The restored cluster as AWS then described it."""

    step = NAME
    always = frozenset(
        {
            "engine_version",
            "engine_mode",
            "endpoint",
            "reader_endpoint",
            "arn",
            "serverless_v2_scaling",
        }
    )

    engine_version: str | None = None
    engine_mode: str | None = None
    endpoint: str | None = None
    reader_endpoint: str | None = None
    arn: str | None = None
    serverless_v2_scaling: Mapping[str, float | int] | None = None


def request(ctx: MigrateContext, inputs: RestoreInputs) -> dict[str, Any]:
    """The ``RestoreDBClusterFromSnapshot`` parameters, as sent.

    Booleans are always sent, so the target never silently inherits a default
    (moto even drops falsy overrides; AWS honours them). The scaling range is
    in the same call when the restored version has Serverless v2: it must be on
    the cluster before any db.serverless instance. A restore at a major without
    Serverless v2 (11, 12) gets none: AWS refuses it there, and after the major
    upgrade the instances step sets it once the provisioned first instance is in.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
    """
    api: dict[str, Any] = {
        "DBClusterIdentifier": inputs.cluster_id,
        "SnapshotIdentifier": snapshot_id(ctx.plan, ctx.run_id),
        "Engine": inputs.engine,
        "EngineVersion": inputs.engine_version,
        "EngineMode": inputs.engine_mode,
        "Port": int(inputs.port),
        "DeletionProtection": bool(inputs.deletion_protection),
        "BackupRetentionPeriod": int(inputs.backup_retention_period),
        "EnableIAMDatabaseAuthentication": bool(inputs.iam_auth),
        "CopyTagsToSnapshot": bool(inputs.copy_tags_to_snapshot),
        "Tags": ctx.tags(ROLE),
    }
    optional = {
        "ServerlessV2ScalingConfiguration": dict(inputs.serverless_v2_scaling),
        "KmsKeyId": inputs.kms_key_id,
        "DBSubnetGroupName": inputs.subnet_group,
        "VpcSecurityGroupIds": list(inputs.security_group_ids),
        "DBClusterParameterGroupName": inputs.parameter_group,
        "EnableCloudwatchLogsExports": list(inputs.cloudwatch_logs_exports),
        "EngineLifecycleSupport": inputs.engine_lifecycle_support,
    }
    api.update({k: v for k, v in optional.items() if v})
    return api


class RestoreStep(Step[Basis, MigrateContext, RestoreInputs]):
    """The new cluster: provisioned mode with the Serverless v2 range, tagged ``target``."""

    name = NAME
    inputs = RestoreInputs
    permissions = (
        "rds:RestoreDBClusterFromSnapshot",
        "rds:DescribeDBClusters",
        "rds:AddTagsToResource",
        "kms:CreateGrant",
        "kms:DescribeKey",
    )
    undo_permissions = ("rds:ModifyDBCluster", "rds:DeleteDBCluster")

    def plan(self, basis: Basis) -> RestoreInputs:
        spec = basis.spec
        return RestoreInputs(
            cluster_id=spec.identifier,
            engine=spec.engine,
            engine_version=spec.restore_version,
            engine_mode="provisioned",
            serverless_v2_scaling={} if spec.major_upgrade else spec.scaling.to_api(),
            kms_key_id=spec.kms_key_id,
            subnet_group=spec.subnet_group,
            security_group_ids=spec.security_group_ids,
            # A custom group of the old major cannot be used before the upgrade.
            parameter_group=None if spec.major_upgrade else spec.parameter_group,
            port=spec.port,
            deletion_protection=spec.deletion_protection,
            backup_retention_period=spec.backup_retention_period,
            iam_auth=spec.iam_auth,
            cloudwatch_logs_exports=spec.cloudwatch_logs_exports,
            copy_tags_to_snapshot=spec.copy_tags_to_snapshot,
            engine_lifecycle_support=spec.engine_lifecycle_support,
            tags=dict(spec.tags),
        )

    def describe(self, inputs: RestoreInputs) -> str:
        scaling = inputs.serverless_v2_scaling
        v2 = (
            f"Serverless v2 {scaling['MinCapacity']:g}-{scaling['MaxCapacity']:g} ACU"
            if scaling
            else "no Serverless v2 range yet: it is set after the major upgrade"
        )
        return (
            f"restore as {inputs.cluster_id} ({inputs.engine} {inputs.engine_version}, "
            f"provisioned, {v2})"
        )

    def ids(self, ctx: MigrateContext, inputs: RestoreInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: RestoreInputs) -> bool:
        """Done when the target cluster exists, carries this run's tag and is available."""
        cluster = owned_cluster(ctx, inputs.cluster_id)
        return cluster is not None and cluster.get("Status") == "available"

    def apply(self, ctx: MigrateContext, inputs: RestoreInputs) -> Outcome:
        """Restore unless this run already did, then wait until the cluster is available."""
        cluster_id = inputs.cluster_id
        api = request(ctx, inputs)
        if rds.find_cluster(ctx.aws, cluster_id) is None:
            rds.create(
                ctx.aws,
                f"restore {api['SnapshotIdentifier']} as {cluster_id}",
                ctx.aws.rds().restore_db_cluster_from_snapshot,
                lambda: rds.find_cluster(ctx.aws, cluster_id),
                **api,
            )
            summary = f"restored {api['SnapshotIdentifier']} as {cluster_id}"
        else:
            summary = f"{cluster_id} (restore requested by an earlier attempt of this run)"
        owned_cluster(ctx, cluster_id)
        ctx.note(NAME, {"cluster": cluster_id}, None)
        waited = ctx.wait(
            NAME,
            f"cluster {cluster_id}",
            lambda: {cluster_id: rds.cluster_status(rds.find_cluster(ctx.aws, cluster_id))},
            labels=(cluster_id,),
        )
        final = rds.find_cluster(ctx.aws, cluster_id) or {}
        details = RestoreDetails(
            engine_version=final.get("EngineVersion"),
            engine_mode=final.get("EngineMode"),
            endpoint=final.get("Endpoint"),
            reader_endpoint=final.get("ReaderEndpoint"),
            arn=final.get("DBClusterArn"),
            serverless_v2_scaling=final.get("ServerlessV2ScalingConfiguration"),
        )
        return Outcome(summary, resources={"cluster": cluster_id}, details=details, waits=(waited,))

    def undo(self, ctx: MigrateContext, inputs: RestoreInputs) -> str:
        """Delete the target cluster (ours only, its instances gone first) after a final
        snapshot -- unless it is disposable, in a failure state, or the user said
        ``--skip-final-snapshot``. (``cleanup`` refuses a target that is live.)"""
        cluster_id = inputs.cluster_id
        cluster = rds.find_cluster(ctx.aws, cluster_id)
        if cluster is None:
            return f"cluster {cluster_id} is already gone"
        rds.check_owned(ctx.run_id, cluster, "cluster", cluster_id)
        deletion = deletion_of(ctx, cluster)
        if cluster.get("DeletionProtection"):
            ctx.aws.call(
                f"turn off deletion protection of {cluster_id}",
                ctx.aws.rds().modify_db_cluster,
                DBClusterIdentifier=cluster_id,
                DeletionProtection=False,
                ApplyImmediately=True,
            )
        if cluster.get("Status") != "deleting":
            try:
                rds.delete_cluster(ctx.aws, deletion)
            except NotFound:
                return f"cluster {cluster_id} is already gone"

        def gone() -> dict[str, Status]:
            found = rds.find_cluster(ctx.aws, cluster_id)
            if found is None:
                return {cluster_id: Status("deleted", done=True)}
            return {cluster_id: Status(found.get("Status", "unknown"))}

        ctx.wait("cleanup", f"deletion of cluster {cluster_id}", gone, labels=(cluster_id,))
        return f"deleted cluster {cluster_id} ({deletion.note})"


def deletion_of(ctx: MigrateContext, cluster: rds.Resource) -> rds.Deletion:
    """How the run's target is deleted: after a final snapshot unless declared otherwise."""
    return rds.deletion_for(
        cluster, ctx.run_id, skip_final_snapshot=ctx.settings.skip_final_snapshot
    )


def owned_cluster(ctx: MigrateContext, cluster_id: str) -> rds.Resource | None:
    """This run's cluster ``cluster_id``, None when absent; exit 2 when another owns the name."""
    cluster = rds.find_cluster(ctx.aws, cluster_id)
    if cluster is not None:
        rds.check_owned(ctx.run_id, cluster, "cluster", cluster_id)
    return cluster


def restored_cluster(ctx: MigrateContext, cluster_id: str) -> rds.Resource:
    """This run's restored cluster, for the steps after the restore."""
    cluster = owned_cluster(ctx, cluster_id)
    if cluster is None:
        raise OperationFailed(
            f"cluster {cluster_id} is gone: the restore step must run first (--resume)"
        )
    return cluster
