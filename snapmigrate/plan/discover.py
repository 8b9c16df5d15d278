"""Read what AWS knows: the source cluster, snapshots, engine facts, the target
name, the DNS zone. Read-only calls only; every function returns records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from snapmigrate.aws import Aws, rds, route53
from snapmigrate.aws.rds import tags_of
from snapmigrate.errors import NotFound, OperationFailed
from snapmigrate.model import (
    KIND_CLONE,
    TAG_KIND,
    TAG_ROLE,
    TAG_RUN_ID,
    EngineFacts,
    Instance,
    Snapshot,
    SourceCluster,
    V1Scaling,
    V2Scaling,
)
from snapmigrate.plan.versions import EngineCatalog, VersionInfo, facts_for

log = logging.getLogger(__name__)


def source_from_api(
    cluster: dict[str, Any], instances: list[dict[str, Any]], family: str | None
) -> SourceCluster:
    """A :class:`SourceCluster` from ``describe_db_clusters`` / ``describe_db_instances`` output."""
    v1 = cluster.get("ScalingConfigurationInfo")
    v2 = cluster.get("ServerlessV2ScalingConfiguration")
    writers = {
        m["DBInstanceIdentifier"]
        for m in cluster.get("DBClusterMembers", [])
        if m.get("IsClusterWriter")
    }
    mode = cluster.get("EngineMode", "provisioned")
    return SourceCluster(
        identifier=cluster["DBClusterIdentifier"],
        arn=cluster.get("DBClusterArn", ""),
        engine=cluster.get("Engine", ""),
        engine_version=cluster.get("EngineVersion", ""),
        engine_mode=mode,
        status=cluster.get("Status", "unknown"),
        endpoint=cluster.get("Endpoint"),
        reader_endpoint=cluster.get("ReaderEndpoint"),
        port=int(cluster.get("Port") or 5432),
        master_username=cluster.get("MasterUsername"),
        v1_scaling=V1Scaling(
            min_capacity=int(v1.get("MinCapacity", 2)),
            max_capacity=int(v1.get("MaxCapacity", 16)),
            auto_pause=bool(v1.get("AutoPause", False)),
            seconds_until_auto_pause=v1.get("SecondsUntilAutoPause"),
            timeout_action=v1.get("TimeoutAction"),
        )
        if v1 and mode == "serverless"
        else None,
        v2_scaling=V2Scaling(
            min_capacity=float(v2["MinCapacity"]),
            max_capacity=float(v2["MaxCapacity"]),
            seconds_until_auto_pause=v2.get("SecondsUntilAutoPause"),
        )
        if v2 and mode == "provisioned"
        else None,
        storage_encrypted=bool(cluster.get("StorageEncrypted", False)),
        kms_key_id=cluster.get("KmsKeyId"),
        http_endpoint_enabled=bool(cluster.get("HttpEndpointEnabled", False)),
        cloudwatch_logs_exports=tuple(cluster.get("EnabledCloudwatchLogsExports") or ()),
        parameter_group=cluster.get("DBClusterParameterGroup"),
        parameter_group_family=family,
        subnet_group=cluster.get("DBSubnetGroup"),
        security_group_ids=tuple(
            g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups") or ()
        ),
        availability_zones=tuple(cluster.get("AvailabilityZones") or ()),
        deletion_protection=bool(cluster.get("DeletionProtection", False)),
        backup_retention_period=int(cluster.get("BackupRetentionPeriod") or 1),
        iam_auth=bool(cluster.get("IAMDatabaseAuthenticationEnabled", False)),
        copy_tags_to_snapshot=bool(cluster.get("CopyTagsToSnapshot", False)),
        master_user_secret_arn=(cluster.get("MasterUserSecret") or {}).get("SecretArn"),
        performance_insights=bool(cluster.get("PerformanceInsightsEnabled", False)),
        engine_lifecycle_support=cluster.get("EngineLifecycleSupport"),
        custom_endpoints=tuple(cluster.get("CustomEndpoints") or ()),
        cross_account_clone=bool(cluster.get("CrossAccountClone", False)),
        tags=tags_of(cluster),
        instances=tuple(
            Instance(
                identifier=i["DBInstanceIdentifier"],
                instance_class=i.get("DBInstanceClass", ""),
                availability_zone=i.get("AvailabilityZone"),
                is_writer=i["DBInstanceIdentifier"] in writers,
                status=i.get("DBInstanceStatus", "unknown"),
                promotion_tier=i.get("PromotionTier"),
            )
            for i in instances
        ),
    )


def parameter_group_family(aws: Aws, name: str | None) -> str | None:
    """The family of a cluster parameter group (None when it cannot be read)."""
    if not name:
        return None
    try:
        groups = aws.call(
            f"describe cluster parameter group {name}",
            aws.rds().describe_db_cluster_parameter_groups,
            DBClusterParameterGroupName=name,
        )["DBClusterParameterGroups"]
    except (NotFound, OperationFailed) as e:  # unreadable: the preflight warns, it does not block
        log.debug("cannot read parameter group %s: %s", name, e)
        return None
    return groups[0].get("DBParameterGroupFamily") if groups else None


def read_source(aws: Aws, identifier: str) -> SourceCluster:
    """Everything about the source cluster, or NotFound with what to check."""
    cluster = rds.find_cluster(aws, identifier)
    if cluster is None:
        raise NotFound(
            f"source cluster {identifier!r} not found in {aws.region}: check the identifier, "
            "--region and --profile"
        )
    instances = rds.list_instances(aws, identifier)
    family = parameter_group_family(aws, cluster.get("DBClusterParameterGroup"))
    return source_from_api(cluster, instances, family)


def snapshot_from_api(s: dict[str, Any]) -> Snapshot:
    created = s.get("SnapshotCreateTime")
    return Snapshot(
        identifier=s["DBClusterSnapshotIdentifier"],
        arn=s.get("DBClusterSnapshotArn", ""),
        cluster_identifier=s.get("DBClusterIdentifier", ""),
        engine=s.get("Engine", ""),
        engine_version=s.get("EngineVersion", ""),
        status=s.get("Status", "unknown"),
        percent_progress=int(s.get("PercentProgress") or 0),
        snapshot_type=s.get("SnapshotType", "manual"),
        storage_encrypted=bool(s.get("StorageEncrypted", False)),
        kms_key_id=s.get("KmsKeyId"),
        created=created.isoformat()
        if created is not None and hasattr(created, "isoformat")
        else created,
        tags=tags_of(s),
    )


def read_snapshot(aws: Aws, identifier: str) -> Snapshot | None:
    """A cluster snapshot by id (or ARN), or None."""
    found = rds.find_snapshot(aws, identifier)
    return snapshot_from_api(found) if found is not None else None


def engine_catalog(aws: Aws, engine: str) -> tuple[EngineCatalog | None, str | None]:
    """Every version of ``engine`` as ``DescribeDBEngineVersions`` lists it, with the
    majors' support dates from ``DescribeDBMajorEngineVersions``; or (None, why not)
    when the API does not answer -- then the documentation table stands in.

    Asked once, not retried: when the API does not answer, the table stands.
    Serverless v2 support is the presence of ``ServerlessV2FeaturesSupport``
    (``SupportedEngineModes`` lists ``provisioned``/``serverless``, never
    ``db.serverless``, an instance class).
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBEngineVersion.html
    """
    try:
        listed = list(
            aws.each(
                f"describe {engine} engine versions",
                aws.rds().describe_db_engine_versions,
                "DBEngineVersions",
                retry=False,
                Engine=engine,
            )
        )
    except NotImplementedError:
        # moto in-process raises this for DescribeDBEngineVersions.
        return None, "DescribeDBEngineVersions is not implemented by this endpoint"
    except Exception as e:  # denied, or moto's server answering HTTP 500
        return None, f"DescribeDBEngineVersions did not answer ({_short(e)})"
    if not listed:
        return None, f"DescribeDBEngineVersions knows no {engine} version"
    versions = {}
    for v in listed:
        support = v.get("ServerlessV2FeaturesSupport")
        versions[str(v["EngineVersion"])] = VersionInfo(
            version=str(v["EngineVersion"]),
            serverless_v2=support is not None,
            min_capacity=_float((support or {}).get("MinCapacity")),
            max_capacity=_float((support or {}).get("MaxCapacity")),
            family=v.get("DBParameterGroupFamily"),
            targets=tuple(str(t["EngineVersion"]) for t in v.get("ValidUpgradeTarget") or ()),
        )
    return EngineCatalog(engine, versions, _major_support_dates(aws, engine)), None


def engine_facts(aws: Aws, engine: str, version: str) -> tuple[EngineFacts, str | None]:
    """What ``engine`` ``version`` can do (from the API when it answers, else the table),
    and why the table was used, if it was."""
    catalog, note = engine_catalog(aws, engine)
    return facts_for(catalog, engine, version), note


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "500" in text and "Internal Server Error" in text:
        return "HTTP 500: not implemented by this endpoint"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:120]


def _major_support_dates(aws: Aws, engine: str) -> dict[int, tuple[str, str]]:
    """major -> (end of standard support, end of Extended Support); empty when unanswered."""
    try:
        majors = aws.call(
            "describe major engine versions",
            aws.rds().describe_db_major_engine_versions,
            retry=False,
            Engine=engine,
        )["DBMajorEngineVersions"]
    except Exception:  # not implemented (moto) or denied: the table stands
        return {}
    found = {}
    for m in majors:
        lifecycles = {x["LifecycleSupportName"]: x for x in m.get("SupportedEngineLifecycles", [])}
        std = lifecycles.get("open-source-rds-standard-support", {}).get("LifecycleSupportEndDate")
        ext = lifecycles.get("open-source-rds-extended-support", {}).get("LifecycleSupportEndDate")
        if std and ext and str(m.get("MajorEngineVersion", "")).isdigit():
            found[int(m["MajorEngineVersion"])] = (str(std)[:10], str(ext)[:10])
    return found


@dataclass(frozen=True)
class NameState:
    """Whether a cluster name is free, and if taken, whether by one of our runs."""

    identifier: str
    exists: bool
    run_id: str | None = None
    role: str | None = None
    status: str | None = None
    endpoint: str | None = None
    #: Held by a snapmigrate clone (``snapmigrate:kind=clone``).
    clone: bool = False


def target_name_state(aws: Aws, identifier: str) -> NameState:
    cluster = rds.find_cluster(aws, identifier)
    if cluster is None:
        return NameState(identifier=identifier, exists=False)
    tags = tags_of(cluster)
    return NameState(
        identifier=identifier,
        exists=True,
        run_id=tags.get(TAG_RUN_ID),
        role=tags.get(TAG_ROLE),
        status=cluster.get("Status"),
        endpoint=cluster.get("Endpoint"),
        clone=tags.get(TAG_KIND) == KIND_CLONE,
    )


@dataclass(frozen=True)
class ZoneState:
    zone_id: str
    exists: bool
    name: str | None = None
    private: bool = False
    record_exists: bool = False
    record_value: str | None = None


def hosted_zone_state(
    aws: Aws, zone_id: str, record_name: str | None, points_at: str | None = None
) -> ZoneState:
    """Whether the Route 53 zone exists, and what ``record_name`` points at now (of a
    weighted set: the member pointing at ``points_at``, else the first)."""
    zone = route53.hosted_zone(aws, zone_id)
    if zone is None:
        return ZoneState(zone_id=zone_id, exists=False)
    private = bool(zone.get("Config", {}).get("PrivateZone", False))
    state = ZoneState(zone_id=zone_id, exists=True, name=zone.get("Name"), private=private)
    records = route53.find_records(aws, zone_id, record_name) if record_name else []
    if not records:
        return state
    chosen = next((r for r in records if route53.same_host(r.value, points_at)), records[0])
    return replace(state, record_exists=True, record_value=chosen.value)


def serverless_offered(aws: Aws, engine: str, version: str) -> tuple[str, ...] | str:
    """The zones where ``DescribeOrderableDBInstanceOptions`` offers ``db.serverless`` for
    ``engine`` ``version`` here (empty: none), or why it could not say.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.requirements.html
    """
    try:
        found = aws.call(
            f"describe db.serverless options of {engine} {version}",
            aws.rds().describe_orderable_db_instance_options,
            retry=False,
            Engine=engine,
            EngineVersion=version,
            DBInstanceClass="db.serverless",
            MaxRecords=100,
        )
    except NotImplementedError:
        return "DescribeOrderableDBInstanceOptions is not implemented by this endpoint"
    except Exception as e:  # denied, or an endpoint answering HTTP 500
        return f"DescribeOrderableDBInstanceOptions did not answer ({_short(e)})"
    zones = {
        z["Name"]
        for o in found.get("OrderableDBInstanceOptions") or []
        if o.get("DBInstanceClass") == "db.serverless"
        for z in o.get("AvailabilityZones") or []
    }
    return tuple(sorted(zones))
