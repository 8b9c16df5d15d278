"""What AWS refuses and moto accepts: the checks the lab makes before a call.

- a mutating call on a cluster, instance or snapshot in a transitional or
  failure state (``InvalidDBClusterStateFault``, ``InvalidDBInstanceState``,
  ``InvalidDBClusterSnapshotStateFault``);
- engine versions: one the lab's AWS does not have, a restore older than its
  snapshot, an upgrade to a version not among the current one's
  ``ValidUpgradeTarget``, a major upgrade without ``AllowMajorVersionUpgrade``;
- Serverless v2: a scaling configuration on a version without it (or a
  0 ACU minimum where the version cannot pause, a maximum above its limit), a
  ``db.serverless`` instance on a cluster without a scaling configuration or
  as the first instance after a major upgrade by restore or clone;
- a KMS key the caller cannot use (a key id beginning ``lab-no-access``, or a
  key ARN of another region than the call's);
- a snapshot copy to another region of an encrypted snapshot without the
  destination's ``KmsKeyId``, or of an unencrypted one with a ``KmsKeyId``;
- a point-in-time restore with both or neither of ``RestoreToTime`` and
  ``UseLatestRestorableTime``, or a time for a clone.

Each rule cites the AWS page it follows. Where AWS documents no error text,
the message is the lab's own and says so in a comment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from snapmigrate_lab import engines
from snapmigrate_lab.answers import split_arn
from snapmigrate_lab.engines import EngineVersion
from snapmigrate_lab.history import CREATED, History
from snapmigrate_lab.realism import CLUSTER_FAILURES, Realism
from snapmigrate_lab.topology import Topology
from snapmigrate_lab.wire import AwsCall, Refused

SERVERLESS = "db.serverless"
NO_ACCESS_KEY = "lab-no-access"

#: Calls that change a cluster, and the parameter naming it.
CLUSTER_CALLS = {
    "ModifyDBCluster": "DBClusterIdentifier",
    "DeleteDBCluster": "DBClusterIdentifier",
    "FailoverDBCluster": "DBClusterIdentifier",
    "CreateDBClusterSnapshot": "DBClusterIdentifier",
    "CreateDBInstance": "DBClusterIdentifier",
    "RebootDBCluster": "DBClusterIdentifier",
    "StopDBCluster": "DBClusterIdentifier",
    "RestoreDBClusterToPointInTime": "SourceDBClusterIdentifier",
}
INSTANCE_CALLS = {
    "ModifyDBInstance": "DBInstanceIdentifier",
    "RebootDBInstance": "DBInstanceIdentifier",
}
SNAPSHOT_CALLS = {
    "RestoreDBClusterFromSnapshot": "SnapshotIdentifier",
    "CopyDBClusterSnapshot": "SourceDBClusterSnapshotIdentifier",
    "DeleteDBClusterSnapshot": "DBClusterSnapshotIdentifier",
}
#: Calls that take a KmsKeyId the caller must be allowed to use.
KMS_CALLS = frozenset(
    {
        "CreateDBCluster",
        "RestoreDBClusterFromSnapshot",
        "RestoreDBClusterToPointInTime",
        "CopyDBClusterSnapshot",
    }
)

# The documented message (Aurora User Guide, "Migrating to Aurora Serverless v2"):
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
NO_SCALING = (
    "Set the Serverless v2 scaling configuration on the parent DB cluster "
    "before creating a Serverless v2 DB instance."
)
# Same page, Important box: "When you perform a major version upgrade to an Aurora
# Serverless v2-compatible version by using snapshot restore or cloning, the first DB
# instance that you add to the new cluster must be a provisioned DB instance." AWS
# documents no error for it: the code and the words are the lab's.
PROVISIONED_FIRST = (
    "The first DB instance of DB cluster {cluster} must be a provisioned DB instance: "
    "the cluster was upgraded to a new major version by snapshot restore or cloning "
    "(Aurora Serverless v2 instances "
    "can join after it)."
)


class Glue(Protocol):
    """What the rules read: moto's state through its API, and the lab's own."""

    realism: Realism
    history: History
    topology: Topology
    republish: Callable[[], None] | None

    def cluster(self, region: str, cluster_id: str) -> dict[str, Any] | None: ...

    def snapshot(self, region: str, snapshot_id: str) -> dict[str, Any] | None: ...


def check(glue: Glue, call: AwsCall) -> dict[str, Any] | None:
    """Refuse ``call`` as AWS would (:class:`Refused`); returns the cluster a
    ``ModifyDBCluster`` changes, as it was before the call."""
    action = call.action or ""
    require_states(glue, call)
    if action in KMS_CALLS:
        require_usable_key(call.param("KmsKeyId"), call.region)
    rule = _RULES.get(action)
    return rule(glue, call) if rule is not None else None


# -- states ---------------------------------------------------------------------


def require_states(glue: Glue, call: AwsCall) -> None:
    """A cluster, instance or snapshot the call changes must be available (a failed
    cluster or instance may still be deleted)."""
    action, region = call.action or "", call.region
    cluster_id = call.param(CLUSTER_CALLS.get(action, ""))
    status = glue.realism.busy("cluster", region, cluster_id) if cluster_id else None
    if status and action == "CreateDBInstance" and status == "creating":
        # "You can create DB instances only after the RestoreDBClusterFromSnapshot [or
        # RestoreDBClusterToPointInTime] operation has completed and the DB cluster is
        # available." CreateDBCluster has no such rule: its instances may follow at once.
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
        record = glue.history.get(region, cluster_id or "")
        status = None if record is not None and record.origin == CREATED else status
    if status and not (action == "DeleteDBCluster" and status in CLUSTER_FAILURES):
        raise Refused(
            "InvalidDBClusterStateFault",
            f"DbCluster {cluster_id} is in {status} state but expected it to be one of available.",
        )
    instance_id = call.param(INSTANCE_CALLS.get(action, ""))
    status = glue.realism.busy("instance", region, instance_id) if instance_id else None
    if status:
        # The code is InvalidDBInstanceState, not the shape's name (botocore's model).
        raise Refused(
            "InvalidDBInstanceState", f"Instance {instance_id} is not in available state."
        )
    name = call.param(SNAPSHOT_CALLS.get(action, ""))
    if name:
        snap_region, snapshot_id = split_arn(name, region)
        status = glue.realism.busy("snapshot", snap_region, snapshot_id)
        if status:
            raise Refused(
                "InvalidDBClusterSnapshotStateFault",
                f"Snapshot {snapshot_id} is in {status} state but expected it to be available.",
            )


def require_usable_key(key: str | None, region: str) -> None:
    """KMSKeyNotAccessibleFault for a key the caller may not use (lab: ``lab-no-access*``)
    or one of another region: "KMS keys are specific to the Amazon Web Services Region that
    they are created in, and you can't use KMS keys from one Amazon Web Services Region in
    another Amazon Web Services Region."
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CopyDBClusterSnapshot.html
    """
    if not key:
        return
    parts = key.split(":")
    elsewhere = key.startswith("arn:") and len(parts) > 3 and parts[3] not in ("", region)
    if elsewhere or key.replace(":", "/").rsplit("/", 1)[-1].startswith(NO_ACCESS_KEY):
        raise Refused(
            "KMSKeyNotAccessibleFault",
            "An error occurred accessing an Amazon Web Services KMS key.",
        )


# -- versions -------------------------------------------------------------------


def existing_version(engine: str | None, version: str | None) -> EngineVersion | None:
    """The table's version; an Aurora PostgreSQL version it lacks does not exist
    (other engines: None, the rules stay out)."""
    found = engines.find(engine, version)
    if found is None and engine == engines.POSTGRES and version:
        raise Refused("InvalidParameterCombination", f"Cannot find version {version} for {engine}")
    return found


def require_upgrade(current: EngineVersion, target: EngineVersion, *, allow_major: bool) -> None:
    """``target`` must be among ``current``'s ValidUpgradeTarget, a major one only with
    AllowMajorVersionUpgrade. (Both messages as AWS answers them.)"""
    if target.version == current.version:
        return
    if target not in engines.upgrade_targets(current):
        raise Refused(
            "InvalidParameterCombination",
            f"Cannot upgrade {current.engine} from {current.version} to {target.version}",
        )
    if engines.is_major_upgrade(current, target) and not allow_major:
        raise Refused(
            "InvalidParameterCombination",
            "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major "
            "version.",
        )


def require_scaling_fits(call: AwsCall, version: EngineVersion | None) -> None:
    """A ServerlessV2ScalingConfiguration needs a version with Serverless v2, a 0 ACU
    minimum one with automatic pause, a maximum within the version's limit.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ServerlessV2ScalingConfiguration.html
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
    (AWS's wording for these refusals is not documented: the messages are the lab's.)
    """
    low = call.param("ServerlessV2ScalingConfiguration.MinCapacity")
    high = call.param("ServerlessV2ScalingConfiguration.MaxCapacity")
    if version is None or (low is None and high is None):
        return
    name = f"{version.engine} {version.version}"
    if not version.serverless_v2:
        raise Refused(
            "InvalidParameterCombination",
            f"Aurora Serverless v2 isn't available for {name}: remove "
            "ServerlessV2ScalingConfiguration "
            "or use an engine version that supports Serverless v2.",
        )
    if low is not None and float(low) == 0 and not version.auto_pause:
        raise Refused(
            "InvalidParameterValue",
            f"{name} doesn't support automatic pause: the Serverless v2 MinCapacity must be "
            "at least 0.5 ACUs.",
        )
    if high is not None and version.max_capacity is not None and float(high) > version.max_capacity:
        raise Refused(
            "InvalidParameterValue",
            f"The Serverless v2 MaxCapacity of {name} can be at most "
            f"{version.max_capacity:g} ACUs.",
        )


# -- per call -------------------------------------------------------------------


def _create_cluster(glue: Glue, call: AwsCall) -> None:
    engine = call.param("Engine")
    version = existing_version(
        engine, call.param("EngineVersion") or engines.DEFAULT_VERSION.get(engine or "")
    )
    require_scaling_fits(call, version)


def _restore_from_snapshot(glue: Glue, call: AwsCall) -> None:
    """The restored version is the snapshot's or one of its upgrade targets, never older.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
    """
    snap_region, snapshot_id = split_arn(call.param("SnapshotIdentifier") or "", call.region)
    snapshot = glue.snapshot(snap_region, snapshot_id) or {}
    engine = snapshot.get("Engine") or call.param("Engine")
    source = engines.find(engine, snapshot.get("EngineVersion"))
    wanted = call.param("EngineVersion")
    target = existing_version(engine, wanted) if wanted else source
    if source is not None and target is not None and target.order < source.order:
        # AWS documents no message for this: the words are the lab's.
        raise Refused(
            "InvalidParameterCombination",
            f"Cannot restore DB cluster snapshot {snapshot_id} ({engine} {source.version}) "
            f"to the older engine version {target.version}.",
        )
    if source is not None and target is not None:
        require_upgrade(source, target, allow_major=True)
    require_scaling_fits(call, target)


def _copy_snapshot(glue: Glue, call: AwsCall) -> None:
    """``KmsKeyId``: "To copy an encrypted DB cluster snapshot to another Amazon Web Services
    Region, you must set KmsKeyId to the Amazon Web Services KMS key identifier you want to
    use to encrypt the copy [...] in the destination Amazon Web Services Region. [...] If you
    copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId parameter,
    an error is returned."
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CopyDBClusterSnapshot.html
    (AWS documents no code or message for either: the words are the lab's)
    """
    src_region, snapshot_id = split_arn(
        call.param("SourceDBClusterSnapshotIdentifier") or "", call.region
    )
    snapshot = glue.snapshot(src_region, snapshot_id)
    if snapshot is None:
        return  # moto answers DBClusterSnapshotNotFoundFault
    key, encrypted = call.param("KmsKeyId"), bool(snapshot.get("StorageEncrypted"))
    if key and not encrypted:
        raise Refused(
            "InvalidParameterCombination",
            f"DB cluster snapshot {snapshot_id} is not encrypted: a copy of it takes no KmsKeyId.",
        )
    if encrypted and not key and src_region != call.region:
        raise Refused(
            "InvalidParameterCombination",
            f"DB cluster snapshot {snapshot_id} is encrypted: a copy to {call.region} needs "
            f"KmsKeyId, a KMS key of {call.region}.",
        )


def _restore_to_point_in_time(glue: Glue, call: AwsCall) -> None:
    """A time or the latest restorable time, exactly one; no time for a clone.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
    (the constraints are documented, AWS's messages for them are not: the words are the lab's)
    """
    source = glue.cluster(call.region, call.param("SourceDBClusterIdentifier") or "") or {}
    when, latest = call.param("RestoreToTime"), call.flag("UseLatestRestorableTime")
    if when and latest:
        raise Refused(
            "InvalidParameterCombination",
            "RestoreToTime can't be specified if the UseLatestRestorableTime parameter is enabled.",
        )
    if not when and not latest:
        raise Refused(
            "InvalidParameterCombination",
            "RestoreToTime must be specified if UseLatestRestorableTime parameter isn't provided.",
        )
    if when and call.param("RestoreType") == "copy-on-write":
        raise Refused(
            "InvalidParameterCombination",
            "RestoreToTime can't be specified if the RestoreType parameter is copy-on-write.",
        )
    require_scaling_fits(call, engines.find(source.get("Engine"), source.get("EngineVersion")))


def _modify_cluster(glue: Glue, call: AwsCall) -> dict[str, Any] | None:
    cluster = glue.cluster(call.region, call.param("DBClusterIdentifier") or "")
    if cluster is None:
        return None  # rds.pre_ModifyDBCluster answers DBClusterNotFoundFault
    engine = cluster.get("Engine")
    current = engines.find(engine, cluster.get("EngineVersion"))
    wanted = call.param("EngineVersion")
    target = existing_version(engine, wanted) if wanted else current
    if current is not None and target is not None and target != current:
        require_upgrade(current, target, allow_major=bool(call.flag("AllowMajorVersionUpgrade")))
        mode = call.param("EngineMode") or cluster.get("EngineMode")
        if mode == "serverless" and "serverless" not in target.modes:
            # A Serverless v1 cluster stays v1: only targets with the serverless mode
            # (UpgradeTarget.SupportedEngineModes) take it.
            raise Refused(
                "InvalidParameterCombination",
                f"Cannot upgrade {engine} from {current.version} to {target.version}",
            )
    require_scaling_fits(call, target)
    return cluster


def _create_instance(glue: Glue, call: AwsCall) -> None:
    """A db.serverless instance needs the cluster's scaling configuration, and may not
    be the first after a major upgrade by restore or clone."""
    cluster_id = call.param("DBClusterIdentifier")
    if call.param("DBInstanceClass") != SERVERLESS or not cluster_id:
        return
    cluster = glue.cluster(call.region, cluster_id)
    if cluster is None or cluster.get("EngineMode") == "serverless":
        return  # moto answers both (not found; a v1 cluster takes no instance)
    if not cluster.get("ServerlessV2ScalingConfiguration"):
        raise Refused("InvalidDBClusterStateFault", NO_SCALING)
    record = glue.history.get(call.region, cluster_id)
    if record is not None and record.provisioned_first:
        raise Refused("InvalidDBClusterStateFault", PROVISIONED_FIRST.format(cluster=cluster_id))


_RULES: dict[str, Callable[[Glue, AwsCall], dict[str, Any] | None]] = {
    "CreateDBCluster": _create_cluster,
    "RestoreDBClusterFromSnapshot": _restore_from_snapshot,
    "CopyDBClusterSnapshot": _copy_snapshot,
    "RestoreDBClusterToPointInTime": _restore_to_point_in_time,
    "ModifyDBCluster": _modify_cluster,
    "CreateDBInstance": _create_instance,
}
