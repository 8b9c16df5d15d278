"""Find the resources a run creates, and make sure they are ours before touching them.

Steps find resources by their deterministic ids and trust only the
``snapmigrate:run-id`` tag: a resource with our id but another run's tag, or
none, is refused with :class:`BadInput` and never modified or deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snapmigrate.aws import error_code, tags_of
from snapmigrate.errors import BadInput, NotFound, OperationFailed
from snapmigrate.model import TAG_ROLE, TAG_RUN_ID
from snapmigrate.steps.context import StepContext
from snapmigrate.waiting import Status

ALREADY_EXISTS = frozenset(
    {
        "DBClusterAlreadyExistsFault",
        "DBInstanceAlreadyExists",
        "DBInstanceAlreadyExistsFault",
        "DBClusterSnapshotAlreadyExistsFault",
    }
)

#: States a cluster, instance or snapshot does not leave by itself.
FAILED_STATES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "storage-full",
        "restore-error",
    }
)


def availability(resource: dict[str, Any] | None, what: str, *, status_key: str = "Status") -> Status:
    """How a cluster, instance or snapshot stands for a wait: done when available,
    failed in a state it will not leave (with ``PercentProgress`` where AWS gives one)."""
    if resource is None:
        return Status("not visible yet")
    status = resource.get(status_key, "unknown")
    failed = f"the {what} will not become available ({status})" if status in FAILED_STATES else None
    percent = resource.get("PercentProgress")
    return Status(status, done=status == "available", failed=failed, percent=int(percent) if percent is not None else None)


def snapshot_identifier(target: str, run_id: str) -> str:
    """``<target>-snapmigrate-<run id>``: within RDS's rules (letter first, no ``--``, <= 255)."""
    return f"{target}-snapmigrate-{run_id}"


def find_cluster(ctx: StepContext, cluster_id: str) -> dict[str, Any] | None:
    try:
        found = ctx.call(f"describe cluster {cluster_id}", ctx.rds().describe_db_clusters, DBClusterIdentifier=cluster_id)
    except NotFound:
        return None
    clusters = found.get("DBClusters") or []
    return clusters[0] if clusters else None


def owned_cluster(ctx: StepContext, cluster_id: str) -> dict[str, Any] | None:
    """This run's cluster ``cluster_id``, None when absent; exit 2 when another owns the name."""
    cluster = find_cluster(ctx, cluster_id)
    if cluster is not None:
        check_owned(ctx, cluster, "cluster", cluster_id)
    return cluster


def find_snapshot(ctx: StepContext, snapshot_id: str) -> dict[str, Any] | None:
    try:
        found = ctx.call(
            f"describe cluster snapshot {snapshot_id}",
            ctx.rds().describe_db_cluster_snapshots,
            DBClusterSnapshotIdentifier=snapshot_id,
        )
    except NotFound:
        return None
    snaps = found.get("DBClusterSnapshots") or []
    return snaps[0] if snaps else None


def find_instance(ctx: StepContext, instance_id: str) -> dict[str, Any] | None:
    try:
        found = ctx.call(f"describe instance {instance_id}", ctx.rds().describe_db_instances, DBInstanceIdentifier=instance_id)
    except NotFound:
        return None
    instances = found.get("DBInstances") or []
    return instances[0] if instances else None


def instances_of(ctx: StepContext, cluster_id: str) -> dict[str, dict[str, Any]]:
    """The cluster's instances by id (one page of 100 covers Aurora's 16)."""
    found = ctx.call(
        f"describe instances of {cluster_id}",
        ctx.rds().describe_db_instances,
        Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}],
        MaxRecords=100,
    )
    return {i["DBInstanceIdentifier"]: i for i in found.get("DBInstances") or []}


def owner(resource: dict[str, Any]) -> tuple[str | None, str | None]:
    """(run id, role) from the resource's snapmigrate tags."""
    tags = tags_of(resource)
    return tags.get(TAG_RUN_ID), tags.get(TAG_ROLE)


def check_owned(ctx: StepContext, resource: dict[str, Any], kind: str, identifier: str) -> None:
    """Refuse (exit 2) a resource that this run did not create."""
    run_id, role = owner(resource)
    if run_id == ctx.run_id:
        return
    whose = f"it belongs to snapmigrate run {run_id} ({role or 'no role'})" if run_id else "it has no snapmigrate tags"
    raise BadInput(
        f"{kind} {identifier} exists but was not created by this run: {whose}. snapmigrate never "
        "modifies or deletes what it did not create: choose another --target, or remove it yourself"
    )


def create(ctx: StepContext, action: str, fn: Callable[..., Any], find: Callable[[], dict[str, Any] | None], **params: Any) -> dict[str, Any] | None:
    """Call a create API; when AWS says it already exists (a retried or crashed
    earlier attempt), return what ``find`` sees instead. The caller checks ownership."""
    try:
        return ctx.call(action, fn, **params)
    except OperationFailed as e:
        if error_code(e.__cause__ or e) not in ALREADY_EXISTS:
            raise
    return find()
