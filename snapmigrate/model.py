"""Typed records that flow between layers: what the source is, what the target
will be, what the preflight found, and the plan that ties them together.

Records are frozen; JSON renders from ``to_dict()`` in one place so the table
and the JSON never disagree. ``Plan.from_dict`` reads back a ``--plan-file``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from snapmigrate.records import Record, record, to_json

Level = Literal["ok", "warn", "block"]
LEVELS: tuple[Level, ...] = ("ok", "warn", "block")

PLAN_FORMAT = 1

#: Tags that say which run created a resource and what it is to that run.
TAG_RUN_ID = "snapmigrate:run-id"
TAG_ROLE = "snapmigrate:role"

#: Tags that make a cluster a clone (``snapmigrate clone``): they hold its truth.
TAG_KIND = "snapmigrate:kind"
KIND_CLONE = "clone"
TAG_SOURCE = "snapmigrate:source"
TAG_EXPIRES_AT = "snapmigrate:expires-at"
TAG_PROTECTED_UNTIL = "snapmigrate:protected-until"
TAG_OWNER = "snapmigrate:owner"
#: ``no``: deleting the cluster takes no final snapshot (disposable by declaration: a
#: clone, a drill's copy). Any other cluster snapmigrate deletes gets one.
TAG_FINAL_SNAPSHOT = "snapmigrate:final-snapshot"


@dataclass(frozen=True)
class V1Scaling:
    """An Aurora Serverless v1 ``ScalingConfigurationInfo``."""

    min_capacity: int
    max_capacity: int
    auto_pause: bool = False
    seconds_until_auto_pause: int | None = None
    timeout_action: str | None = None


@dataclass(frozen=True)
class V2Scaling:
    """A ``ServerlessV2ScalingConfiguration``."""

    min_capacity: float
    max_capacity: float
    seconds_until_auto_pause: int | None = None

    def to_api(self) -> dict[str, Any]:
        api: dict[str, Any] = {"MinCapacity": self.min_capacity, "MaxCapacity": self.max_capacity}
        if self.seconds_until_auto_pause is not None:
            api["SecondsUntilAutoPause"] = self.seconds_until_auto_pause
        return api


@dataclass(frozen=True)
class Instance:
    """A DB instance of a cluster."""

    identifier: str
    instance_class: str
    availability_zone: str | None
    is_writer: bool
    status: str
    promotion_tier: int | None = None


@dataclass(frozen=True)
class SourceCluster:
    """What ``describe_db_clusters`` (and friends) say about the source."""

    identifier: str
    arn: str
    engine: str
    engine_version: str
    engine_mode: str
    status: str
    endpoint: str | None = None
    reader_endpoint: str | None = None
    port: int = 5432
    master_username: str | None = None
    v1_scaling: V1Scaling | None = None
    v2_scaling: V2Scaling | None = None
    storage_encrypted: bool = False
    kms_key_id: str | None = None
    http_endpoint_enabled: bool = False
    cloudwatch_logs_exports: tuple[str, ...] = ()
    parameter_group: str | None = None
    parameter_group_family: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    deletion_protection: bool = False
    backup_retention_period: int = 1
    iam_auth: bool = False
    copy_tags_to_snapshot: bool = False
    master_user_secret_arn: str | None = None
    performance_insights: bool = False
    engine_lifecycle_support: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    instances: tuple[Instance, ...] = ()
    #: Its custom endpoints (``DBCluster.CustomEndpoints``): not in a snapshot, not moved
    #: by a rename.
    custom_endpoints: tuple[str, ...] = ()
    #: ``DBCluster.CrossAccountClone``: a clone of a cluster another account owns.
    cross_account_clone: bool = False

    @property
    def kind(self) -> str:
        """``serverless-v1``, ``serverless-v2``, ``provisioned`` or the raw engine mode."""
        if self.engine_mode == "serverless":
            return "serverless-v1"
        if self.engine_mode == "provisioned":
            if self.v2_scaling is not None and (
                not self.instances
                or any(i.instance_class == "db.serverless" for i in self.instances)
            ):
                return "serverless-v2"
            return "provisioned"
        return self.engine_mode

    @property
    def is_postgres(self) -> bool:
        return self.engine == "aurora-postgresql"


@dataclass(frozen=True)
class Snapshot:
    """A DB cluster snapshot."""

    identifier: str
    arn: str
    cluster_identifier: str
    engine: str
    engine_version: str
    status: str
    percent_progress: int = 0
    snapshot_type: str = "manual"
    storage_encrypted: bool = False
    kms_key_id: str | None = None
    created: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineFacts:
    """What a given engine version can do, and where we learnt it (api or table)."""

    engine: str
    version: str
    serverless_v2: bool
    min_capacity_floor: float
    max_capacity_ceiling: float
    auto_pause: bool
    data_api: bool
    parameter_group_family: str
    standard_support_ends: str | None
    extended_support_ends: str | None
    source: str = "table"


@dataclass(frozen=True)
class Finding:
    """One preflight result: ``ok``, ``warn`` or ``block``, with a stable code."""

    level: Level
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class CutoverSpec:
    """How clients will be moved: ``none``, ``dns`` (Route 53 record) or ``rename``."""

    mode: str = "none"
    zone_id: str | None = None
    record_name: str | None = None


@dataclass(frozen=True)
class QualifiedTable:
    """A table, database-qualified."""

    database: str
    schema: str
    table: str

    def __str__(self) -> str:
        return f"{self.database}.{self.schema}.{self.table}"


@dataclass(frozen=True)
class SourcePreparation:
    """``--prepare-source``: how the source is made to publish. A new custom cluster
    parameter group (a copy of ``copy_from``'s settings, or of the family's
    defaults) gets ``rds.logical_replication = 1`` and replaces the source's;
    with ``new_group`` False the source's own group has it already. Then the
    writer reboots."""

    family: str
    writer: str | None
    new_group: bool = True
    copy_from: str | None = None


@dataclass(frozen=True)
class CatchUpSpec:
    """``--catch-up logical``: the copy is caught up by logical replication from
    the snapshot's LSN until the cutover (``mode`` ``none`` without it)."""

    mode: str = "none"
    databases: tuple[str, ...] = ()
    replica_identity_full: tuple[QualifiedTable, ...] = ()
    max_retained_wal_bytes: int = 0
    prepare: SourcePreparation | None = None

    @property
    def logical(self) -> bool:
        return self.mode == "logical"


@dataclass(frozen=True)
class InstanceSpec:
    """An instance the migration will create."""

    identifier: str
    instance_class: str
    availability_zone: str | None
    promotion_tier: int
    role: str  # writer | reader | bridge


@dataclass(frozen=True)
class TargetSpec:
    """Everything the new cluster will be: the decisions of the preflight."""

    identifier: str
    engine: str
    engine_version: str
    restore_version: str
    scaling: V2Scaling
    instances: tuple[InstanceSpec, ...]
    snapshot_identifier: str | None = None
    kms_key_id: str | None = None
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    parameter_group: str | None = None
    port: int = 5432
    deletion_protection: bool = False
    backup_retention_period: int = 1
    iam_auth: bool = False
    copy_tags_to_snapshot: bool = False
    cloudwatch_logs_exports: tuple[str, ...] = ()
    enable_http_endpoint: bool = False
    manage_master_user_password: bool = False
    performance_insights: bool = False
    engine_lifecycle_support: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    cutover: CutoverSpec = field(default_factory=CutoverSpec)
    catch_up: CatchUpSpec = field(default_factory=CatchUpSpec)
    #: ``snapshot`` (a new cluster) or ``in-place`` (the source itself is changed).
    path: str = "snapshot"
    #: In place, from Serverless v1: the provisioned class the conversion makes.
    interim_class: str | None = None

    @property
    def major_upgrade(self) -> bool:
        return self.engine_version.split(".")[0] != self.restore_version.split(".")[0]


@dataclass(frozen=True)
class PlannedStep:
    """One step of a plan: its stable name, its typed inputs and a one-line summary."""

    name: str
    inputs: Record
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "params": self.inputs.to_dict()}


#: Reads a step's inputs back from a plan document: ``(name, params) -> inputs``.
StepDecoder = Callable[[str, Mapping[str, Any]], Record]


@dataclass(frozen=True)
class Plan:
    """The whole plan: ``plan`` prints it, ``migrate`` applies it."""

    source: SourceCluster
    target: TargetSpec
    findings: tuple[Finding, ...]
    steps: tuple[PlannedStep, ...]
    region: str | None = None
    created: str | None = None

    @property
    def blocked(self) -> bool:
        return any(f.level == "block" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "created": self.created,
            "region": self.region,
            "source": to_json(self.source),
            "target": to_json(self.target),
            "findings": [f.to_dict() for f in self.findings],
            "steps": [s.to_dict() for s in self.steps],
            "blocked": self.blocked,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], decode: StepDecoder) -> Plan:
        """Read back a plan written by ``to_dict`` (a ``--plan-file``, a journal);
        ``decode`` turns each step's params into its typed inputs."""
        return cls(
            source=record(SourceCluster, data["source"]),
            target=record(TargetSpec, data["target"]),
            findings=tuple(Finding(**f) for f in data.get("findings", ())),
            steps=tuple(
                PlannedStep(s["name"], decode(s["name"], s.get("params", {})), s.get("summary", ""))
                for s in data.get("steps", ())
            ),
            region=data.get("region"),
            created=data.get("created"),
        )
