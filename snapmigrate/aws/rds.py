"""Find RDS resources, know whose they are, create them once.

The one set of helpers every command uses: find a cluster, snapshot or
instance (None when there is none), list a cluster's instances, read the
``snapmigrate:run-id`` / ``snapmigrate:role`` tags, refuse (exit 2) a
resource another run or a person owns, and create without duplicating when
a retried or crashed earlier attempt already did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from snapmigrate.aws import states
from snapmigrate.aws.call import Aws
from snapmigrate.aws.clients import Clients
from snapmigrate.aws.errors import is_already_exists
from snapmigrate.errors import BadInput, NotFound, OperationFailed
from snapmigrate.model import TAG_FINAL_SNAPSHOT, TAG_ROLE, TAG_RUN_ID
from snapmigrate.progress import Status

Resource = dict[str, Any]
#: Every state a cluster or an instance does not leave by itself (:mod:`.states` has them
#: per kind, with AWS's words).
FAILED_STATES = frozenset(states.CLUSTER_FAILURES) | frozenset(states.INSTANCE_FAILURES)
#: The read helpers take the call path, or bare clients (then with the default policy).
AwsLike = Aws | Clients

def _first(
    aws: Aws, action: str, fn: Callable[..., Any], key: str, **params: Any
) -> Resource | None:
    try:
        found = aws.call(action, fn, **params)
    except NotFound:
        return None
    items = found.get(key) or []
    return dict(items[0]) if items else None


def find_cluster(source: AwsLike, cluster_id: str) -> Resource | None:
    """The ``DBCluster`` named ``cluster_id``, or None when there is none."""
    aws = Aws.of(source)
    action = f"describe cluster {cluster_id}"
    fn = aws.rds().describe_db_clusters
    return _first(aws, action, fn, "DBClusters", DBClusterIdentifier=cluster_id)


def find_snapshot(source: AwsLike, snapshot_id: str) -> Resource | None:
    """The ``DBClusterSnapshot`` named ``snapshot_id`` (or its ARN), or None."""
    aws = Aws.of(source)
    action = f"describe cluster snapshot {snapshot_id}"
    fn = aws.rds().describe_db_cluster_snapshots
    return _first(aws, action, fn, "DBClusterSnapshots", DBClusterSnapshotIdentifier=snapshot_id)


def find_instance(source: AwsLike, instance_id: str) -> Resource | None:
    aws = Aws.of(source)
    action = f"describe instance {instance_id}"
    fn = aws.rds().describe_db_instances
    return _first(aws, action, fn, "DBInstances", DBInstanceIdentifier=instance_id)


def list_instances(source: AwsLike, cluster_id: str) -> list[Resource]:
    """The cluster's instances (one page of 100 covers Aurora's 16)."""
    aws = Aws.of(source)
    return list(
        aws.each(
            f"describe instances of {cluster_id}",
            aws.rds().describe_db_instances,
            "DBInstances",
            Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}],
        )
    )


def instances_of(source: AwsLike, cluster_id: str) -> dict[str, Resource]:
    """The cluster's instances by identifier."""
    return {i["DBInstanceIdentifier"]: i for i in list_instances(source, cluster_id)}


def writer_of(cluster: Resource | None) -> str | None:
    """The identifier of the cluster's writer instance, if it has one."""
    for member in (cluster or {}).get("DBClusterMembers") or []:
        if member.get("IsClusterWriter"):
            return str(member["DBInstanceIdentifier"])
    return None


def tags_of(resource: Resource) -> dict[str, str]:
    """An RDS resource's ``TagList`` as a dict."""
    return {t["Key"]: t.get("Value", "") for t in resource.get("TagList") or []}


def owner(resource: Resource) -> tuple[str | None, str | None]:
    """(run id, role) from the resource's snapmigrate tags."""
    tags = tags_of(resource)
    return tags.get(TAG_RUN_ID), tags.get(TAG_ROLE)


def is_ours(resource: Resource | None, run_id: str, role: str | None = None) -> bool:
    """Whether run ``run_id`` created ``resource`` (in ``role``, when given)."""
    found_run, found_role = owner(resource or {})
    return found_run == run_id and (role is None or found_role == role)


def check_owned(run_id: str, resource: Resource, kind: str, identifier: str) -> None:
    """Refuse (exit 2) a resource that run ``run_id`` did not create."""
    found_run, role = owner(resource)
    if found_run == run_id:
        return
    whose = (
        f"it belongs to snapmigrate run {found_run} ({role or 'no role'})"
        if found_run
        else "it has no snapmigrate tags"
    )
    raise BadInput(
        f"{kind} {identifier} exists but was not created by this run: {whose}. snapmigrate never "
        "modifies or deletes what it did not create: choose another --target, or remove it yourself"
    )


def create(
    aws: Aws,
    action: str,
    fn: Callable[..., Any],
    find: Callable[[], Resource | None],
    **params: Any,
) -> Resource | None:
    """Call a create API; when AWS says it already exists (a retried or crashed
    earlier attempt), return what ``find`` sees instead. The caller checks ownership."""
    try:
        return dict(aws.call(action, fn, **params))
    except OperationFailed as e:
        if not is_already_exists(e.__cause__ or e):
            raise
    return find()


def create_snapshot(
    source: AwsLike, cluster_id: str, snapshot_id: str, tags: list[dict[str, str]]
) -> Resource | None:
    """CreateDBClusterSnapshot of ``cluster_id`` as ``snapshot_id`` (an earlier attempt's
    request found instead): the snapshot as AWS answered. The caller checks ownership."""
    aws = Aws.of(source)
    made = create(
        aws,
        f"create snapshot {snapshot_id} of {cluster_id}",
        aws.rds().create_db_cluster_snapshot,
        lambda: find_snapshot(aws, snapshot_id),
        DBClusterSnapshotIdentifier=snapshot_id,
        DBClusterIdentifier=cluster_id,
        Tags=tags,
    )
    return made.get("DBClusterSnapshot", made) if made else None


def is_disposable(resource: Resource) -> bool:
    """Whether the resource was declared disposable when created
    (``snapmigrate:final-snapshot=no``, as every clone is)."""
    return tags_of(resource).get(TAG_FINAL_SNAPSHOT, "").lower() == "no"


def disposable_tags() -> list[dict[str, str]]:
    """The tag a clone or a drill's copy is created with: deleted without a final snapshot."""
    return [{"Key": TAG_FINAL_SNAPSHOT, "Value": "no"}]


@dataclass(frozen=True)
class Deletion:
    """How a cluster is deleted, decided before asking: with a final snapshot, unless it
    was declared disposable, the user said ``--skip-final-snapshot``, or it is in a
    failure state (a restore that never completed holds nothing to keep)."""

    cluster_id: str
    final_snapshot: str | None
    #: What the deletion keeps, for the prompt and the report.
    note: str


def final_snapshot_id(cluster_id: str, run_id: str) -> str:
    """``<cluster>-final-<run>``: within RDS's snapshot names (letter first, no ``--``)."""
    return f"{cluster_id}-final-{run_id}"


def deletion_for(cluster: Resource, run_id: str, *, skip_final_snapshot: bool) -> Deletion:
    """The :class:`Deletion` of ``cluster`` (pure: its tags and status, the user's flag)."""
    cluster_id = str(cluster["DBClusterIdentifier"])
    status = cluster.get("Status")
    if is_disposable(cluster):
        return Deletion(cluster_id, None, "no final snapshot: it was created disposable")
    if skip_final_snapshot:
        return Deletion(cluster_id, None, "no final snapshot: --skip-final-snapshot")
    if states.failure("cluster", status):
        return Deletion(cluster_id, None, f"no final snapshot: it is {status}")
    snapshot = final_snapshot_id(cluster_id, run_id)
    return Deletion(cluster_id, snapshot, f"final snapshot {snapshot}")


def delete_cluster(aws: Aws, deletion: Deletion) -> None:
    """``DeleteDBCluster`` as decided: ``FinalDBSnapshotIdentifier`` unless there is none
    to take (then ``SkipFinalSnapshot``, said out loud by :class:`Deletion`). The one
    place snapmigrate deletes a cluster.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html
    """
    final = deletion.final_snapshot
    params: dict[str, Any] = (
        {"SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": final}
        if final
        else {"SkipFinalSnapshot": True}
    )
    aws.call(
        f"delete cluster {deletion.cluster_id} ({deletion.note})",
        aws.rds().delete_db_cluster,
        DBClusterIdentifier=deletion.cluster_id,
        **params,
    )


def rename_cluster(aws: Aws, old: str, new: str) -> None:
    """Rename a cluster now (``ApplyImmediately``): its endpoint host names follow.

    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
    """
    aws.call(
        f"rename cluster {old} to {new}",
        aws.rds().modify_db_cluster,
        DBClusterIdentifier=old,
        NewDBClusterIdentifier=new,
        ApplyImmediately=True,
    )


def availability(resource: Resource | None, what: str, *, status_key: str = "Status") -> Status:
    """How a cluster, instance or snapshot stands for a wait: done when available,
    failed at once in a state it will not leave by itself (with AWS's words for it),
    with ``PercentProgress`` where AWS gives one.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
    """
    if resource is None:
        return Status("not visible yet")
    status = resource.get(status_key, "unknown")
    meaning = states.failure(what, status)
    failed = f"the {what} will not become available ({status}: {meaning})" if meaning else None
    percent = resource.get("PercentProgress")
    return Status(
        status,
        done=status == "available",
        failed=failed,
        percent=int(percent) if percent is not None else None,
    )


def cluster_status(cluster: Resource | None) -> Status:
    return availability(cluster, "cluster")


def instance_status(instance: Resource | None) -> Status:
    return availability(instance, "instance", status_key="DBInstanceStatus")


def snapshot_status(snapshot: Resource | None) -> Status:
    return availability(snapshot, "snapshot")
