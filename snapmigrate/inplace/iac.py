"""What ``snapmigrate iac RUN_ID`` writes code for: the cluster a run left (the source
changed in place, or the snapshot path's new cluster) and its instances, read from
AWS, and the resources the user's code held that no longer describe it.

Terraform and CloudFormation cannot follow an engine-mode change without replacing
the cluster (terraform-provider-aws #33557, cloudformation-coverage-roadmap #1743):
the way is to drop the old resources from the state and import the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapmigrate.aws import Aws, rds
from snapmigrate.errors import BadInput
from snapmigrate.migrate import IN_PLACE, read_plan
from snapmigrate.records import Record
from snapmigrate.workflow.journal import RunRecord


@dataclass(frozen=True)
class CodeInstance(Record):
    identifier: str
    instance_class: str
    availability_zone: str | None = None
    promotion_tier: int | None = None


@dataclass(frozen=True)
class CodeCluster(Record):
    """The cluster as AWS shows it now, in the terms the code needs."""

    run_id: str
    path: str
    identifier: str
    engine: str
    engine_version: str
    instances: tuple[CodeInstance, ...]
    #: Resources the user's code held that no longer describe what exists (state rm).
    gone_clusters: tuple[str, ...] = ()
    gone_instances: tuple[str, ...] = ()
    master_username: str | None = None
    database_name: str | None = None
    port: int | None = None
    min_capacity: float | None = None
    max_capacity: float | None = None
    seconds_until_auto_pause: int | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    storage_encrypted: bool = False
    kms_key_id: str | None = None
    deletion_protection: bool = False
    backup_retention_period: int | None = None
    parameter_group: str | None = None
    managed_password: bool = False


def read_cluster(aws: Aws, record: RunRecord) -> CodeCluster:
    """The cluster run ``record`` left, from AWS (bad input when the run is not done)."""
    if record.state != "done":
        raise BadInput(
            f"run {record.run_id} is {record.state}: finish it first (snapmigrate migrate "
            f"--resume {record.run_id}); its cluster is not in its final shape yet"
        )
    plan = read_plan(record.plan)
    cluster_id = plan.target.identifier
    cluster = rds.find_cluster(aws, cluster_id)
    if cluster is None:
        raise BadInput(f"cluster {cluster_id} of run {record.run_id} is gone: nothing to adopt")
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    instances = tuple(
        CodeInstance(
            i["DBInstanceIdentifier"],
            i.get("DBInstanceClass") or "",
            i.get("AvailabilityZone"),
            i.get("PromotionTier"),
        )
        for i in sorted(
            rds.list_instances(aws, cluster_id), key=lambda i: str(i["DBInstanceIdentifier"])
        )
    )
    in_place = plan.target.path == IN_PLACE
    old_instances = tuple(i.identifier for i in plan.source.instances)
    deleted = _deleted(record)
    return CodeCluster(
        run_id=record.run_id,
        path=plan.target.path,
        identifier=cluster_id,
        engine=str(cluster.get("Engine")),
        engine_version=str(cluster.get("EngineVersion")),
        instances=instances,
        gone_clusters=(plan.source.identifier,),
        gone_instances=tuple(sorted({*old_instances, *deleted})) if in_place else old_instances,
        master_username=cluster.get("MasterUsername"),
        database_name=cluster.get("DatabaseName"),
        port=cluster.get("Port"),
        min_capacity=scaling.get("MinCapacity"),
        max_capacity=scaling.get("MaxCapacity"),
        seconds_until_auto_pause=scaling.get("SecondsUntilAutoPause"),
        subnet_group=cluster.get("DBSubnetGroup"),
        security_group_ids=tuple(
            g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups") or []
        ),
        storage_encrypted=bool(cluster.get("StorageEncrypted")),
        kms_key_id=cluster.get("KmsKeyId"),
        deletion_protection=bool(cluster.get("DeletionProtection")),
        backup_retention_period=cluster.get("BackupRetentionPeriod"),
        parameter_group=cluster.get("DBClusterParameterGroup"),
        managed_password=bool(cluster.get("MasterUserSecret")),
    )


def _deleted(record: RunRecord) -> tuple[str, ...]:
    """The provisioned instances the in-place run deleted (its remove-provisioned step)."""
    try:
        found = record.step("remove-provisioned").resources.get("deleted") or ""
    except KeyError:
        return ()
    return tuple(i for i in found.split(",") if i)
