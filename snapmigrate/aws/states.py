"""What AWS's resource states mean to a waiting tool: the failure states a
cluster, instance or snapshot does not leave by itself, and the faults that
mean "another change is in progress, try again once it is over".

The states and their words are AWS's ("Viewing cluster status", Aurora User
Guide): https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
botocore's own waiters treat only ``failed``, ``incompatible-restore`` and
``incompatible-parameters`` as failures and would spin to their timeout on the
others, so the lists are ours, from that page.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Cluster states that end a wait at once, with AWS's description of each.
CLUSTER_FAILURES: Mapping[str, str] = {
    "migration-failed": "A migration failed.",
    "cloning-failed": "Cloning a DB cluster failed.",
    "inaccessible-encryption-credentials": (
        "The AWS KMS key used to encrypt or decrypt the DB cluster can't be accessed or "
        "recovered."
    ),
    "inaccessible-encryption-credentials-recoverable": (
        "The KMS key used to encrypt or decrypt the DB cluster can't be accessed. However, if "
        "the KMS key is active, restarting the DB cluster can recover it."
    ),
    # The page writes it with an underscore; the API has used both spellings.
    "upgrade_failed": "The DB cluster has failed to upgrade to a supported version.",
    "upgrade-failed": "The DB cluster has failed to upgrade to a supported version.",
    "incompatible-parameters": "The cluster's parameters are not compatible with it.",
    "incompatible-restore": "Amazon RDS can't do a point-in-time restore.",
    "failed": "The DB cluster has failed.",
}

#: Instance states that end a wait at once (same page, "Viewing DB instance status").
INSTANCE_FAILURES: Mapping[str, str] = {
    "failed": "The DB instance has failed and Amazon RDS can't recover it.",
    "inaccessible-encryption-credentials": (
        "The AWS KMS key used to encrypt or decrypt the DB instance can't be accessed or "
        "recovered."
    ),
    "inaccessible-encryption-credentials-recoverable": (
        "The KMS key used to encrypt or decrypt the DB instance can't be accessed."
    ),
    "incompatible-create": (
        "Amazon RDS is attempting to create a DB instance but can't do so because resources "
        "are incompatible with your DB instance."
    ),
    "incompatible-network": (
        "The VPC is in a state that prevents the action from being completed (for example, "
        "all available IP addresses in a subnet are in use)."
    ),
    "incompatible-option-group": "Amazon RDS can't roll back to the previous option group state.",
    "incompatible-parameters": (
        "The parameters in the DB instance's DB parameter group aren't compatible with the DB "
        "instance."
    ),
    "incompatible-restore": "Amazon RDS can't do a point-in-time restore.",
    "insufficient-capacity": (
        "Amazon RDS can't create your instance because sufficient capacity isn't currently "
        "available: try another instance class or Availability Zone later."
    ),
    "restore-error": (
        "The DB instance encountered an error attempting to restore to a point-in-time or "
        "from a snapshot."
    ),
    "storage-full": "The DB instance has reached its storage capacity allocation.",
    "upgrade_failed": "The DB instance has failed to upgrade to a supported version.",
    "upgrade-failed": "The DB instance has failed to upgrade to a supported version.",
}

#: Snapshot states that end a wait at once.
SNAPSHOT_FAILURES: Mapping[str, str] = {
    "failed": "The snapshot failed.",
    "incompatible-restore": "The snapshot cannot be restored.",
    "incompatible-parameters": "The snapshot's parameters are not compatible.",
}

FAILURES: Mapping[str, Mapping[str, str]] = {
    "cluster": CLUSTER_FAILURES,
    "instance": INSTANCE_FAILURES,
    "snapshot": SNAPSHOT_FAILURES,
}

#: States in which a resource is at rest: a change refused there will be refused again.
AT_REST = frozenset({"available", "stopped"})


def failure(kind: str, status: str | None) -> str | None:
    """AWS's words for ``status`` when it is a failure state of a ``kind``, else None."""
    return FAILURES.get(kind, {}).get(status or "")


def transitional(kind: str, status: str | None) -> bool:
    """Whether a ``kind`` in ``status`` is busy with a change it will finish by itself
    (creating, modifying, upgrading, backing-up, ...): neither at rest nor failed."""
    return bool(status) and status not in AT_REST and failure(kind, status) is None


#: Faults AWS answers a change with while the resource is busy with another one:
#: "The requested operation can't be performed while the cluster is in this state"
#: (InvalidDBClusterStateFault), "The DB instance isn't in a valid state"
#: (code InvalidDBInstanceState), "The operation can't be performed because another
#: operation is in progress" (InvalidResourceStateFault: EnableHttpEndpoint's).
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html
#: ... and which resource each is about.
_FAULT_KINDS = {
    "InvalidDBClusterStateFault": "cluster",
    "InvalidResourceStateFault": "cluster",
    "InvalidDBInstanceState": "instance",
    "InvalidDBInstanceStateFault": "instance",
    "InvalidDBClusterSnapshotStateFault": "snapshot",
}
STATE_FAULTS = frozenset(_FAULT_KINDS)
#: The parameters that may name the resource of each kind.
_KEYS = {
    "cluster": ("DBClusterIdentifier",),
    "instance": ("DBInstanceIdentifier",),
    "snapshot": ("DBClusterSnapshotIdentifier", "SnapshotIdentifier"),
}


def named_resource(code: str | None, params: Mapping[str, object]) -> tuple[str, str] | None:
    """(kind, identifier) of the resource a state fault ``code`` is about, as the
    call's parameters name it (a cluster ARN, ``EnableHttpEndpoint``'s
    ``ResourceArn``, counts); None when the call names none."""
    kind = _FAULT_KINDS.get(code or "")
    if kind is None:
        return None
    for key in _KEYS[kind]:
        value = params.get(key)
        if isinstance(value, str) and value:
            return kind, value
    arn = params.get("ResourceArn")
    if isinstance(arn, str):
        parts = arn.split(":", 6)
        if len(parts) == 7 and parts[5] == kind:
            return kind, parts[6]
    return None
