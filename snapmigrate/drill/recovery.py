"""The recovery point a drill restores, read before its t0 so that an RPO is
never negative. Read-only calls.

- ``latest-snapshot``: the newest available cluster snapshot of the source, of
  any type. "If you don't specify a SnapshotType value, then both automated and
  manual DB cluster snapshots are returned":
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusterSnapshots.html
- ``pitr:latest``: the cluster's ``LatestRestorableTime`` as read now; the
  restore asks for exactly that time (``RestoreToTime``), not for
  ``UseLatestRestorableTime``, whose time is only known afterwards:
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from snapmigrate.aws import Aws, rds
from snapmigrate.drill.options import RecoveryChoice
from snapmigrate.errors import BadInput, NotFound


@dataclass(frozen=True)
class RecoveryPoint:
    """What the drill restores: a snapshot (and its time) or a time to restore to."""

    choice: str  # as --from said it
    time: datetime
    snapshot: str | None = None
    snapshot_type: str | None = None  # automated, manual (None: point in time)
    encrypted: bool = False  # the snapshot's StorageEncrypted (a copy needs a key then)

    @property
    def method(self) -> str:
        return "pitr" if self.snapshot is None else "snapshot"

    def describe(self) -> str:
        when = self.time.isoformat(timespec="seconds")
        if self.snapshot is None:
            return f"point in time {when}"
        return f"{self.snapshot_type or 'cluster'} snapshot {self.snapshot} taken {when}"


def when(value: Any) -> datetime | None:
    """An API time (a datetime from boto3, or ISO text) in UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return when(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def source_cluster(aws: Aws, source: str) -> rds.Resource:
    cluster = rds.find_cluster(aws, source)
    if cluster is None:
        raise NotFound(
            f"source cluster {source!r} not found in {aws.region}: check the identifier, "
            "--region and --profile"
        )
    return cluster


def snapshots(aws: Aws, source: str) -> list[rds.Resource]:
    """The source's available cluster snapshots, automated and manual, oldest first."""
    found = [
        s
        for s in aws.each(
            f"describe the snapshots of {source}",
            aws.rds().describe_db_cluster_snapshots,
            "DBClusterSnapshots",
            DBClusterIdentifier=source,
        )
        if s.get("Status") == "available" and when(s.get("SnapshotCreateTime")) is not None
    ]
    return sorted(found, key=lambda s: when(s["SnapshotCreateTime"]) or datetime.min)


def _of_snapshot(choice: str, snap: rds.Resource) -> RecoveryPoint:
    created = when(snap.get("SnapshotCreateTime"))
    assert created is not None
    return RecoveryPoint(
        choice,
        created,
        snap["DBClusterSnapshotIdentifier"],
        snap.get("SnapshotType"),
        encrypted=bool(snap.get("StorageEncrypted")),
    )


def read_point(aws: Aws, source: str, choice: RecoveryChoice, now: datetime) -> RecoveryPoint:
    """The recovery point ``choice`` names, as AWS has it now (exit 2 when there is none)."""
    cluster = source_cluster(aws, source)
    label = str(choice)
    if choice.kind == "latest-snapshot":
        found = snapshots(aws, source)
        if not found:
            raise BadInput(f"{source} has no available cluster snapshot: --from pitr:latest")
        return _of_snapshot(label, found[-1])
    if choice.kind == "snapshot":
        assert choice.snapshot is not None
        snap = rds.find_snapshot(aws, choice.snapshot)
        if snap is None or snap.get("Status") != "available":
            state = "not found" if snap is None else f"is {snap.get('Status')}"
            raise BadInput(f"snapshot {choice.snapshot} {state}: give an available snapshot")
        if snap.get("DBClusterIdentifier") not in (None, source):
            raise BadInput(
                f"snapshot {choice.snapshot} is of {snap.get('DBClusterIdentifier')}, not {source}"
            )
        return _of_snapshot(label, snap)
    latest = when(cluster.get("LatestRestorableTime"))
    earliest = when(cluster.get("EarliestRestorableTime"))
    if latest is None:
        raise BadInput(f"{source} reports no LatestRestorableTime: use a snapshot (--from)")
    if choice.kind == "pitr-latest":
        # Restore times are given to the second: the second at or before it.
        floored = latest.replace(microsecond=0)
        if earliest is not None and floored < earliest:
            raise BadInput(
                f"{source}'s restorable window is under a second old "
                f"({earliest.isoformat()} to {latest.isoformat()}): try again in a moment"
            )
        return RecoveryPoint(label, floored)
    assert choice.time is not None
    if choice.time > now or choice.time > latest or (earliest and choice.time < earliest):
        raise BadInput(
            f"--from {label} is outside what {source} can restore: "
            f"{earliest.isoformat(timespec='seconds') if earliest else '?'} to "
            f"{latest.isoformat(timespec='seconds')}"
        )
    return RecoveryPoint(label, choice.time)


def stale_point(
    aws: Aws, source: str, chosen: RecoveryPoint, rpo_target: timedelta, now: datetime
) -> RecoveryPoint:
    """``--inject stale-snapshot``: the newest snapshot of the source older than the RPO
    target allows -- so the drill must miss it (exit 2 when the source has none)."""
    limit = now - rpo_target
    older = [s for s in snapshots(aws, source) if (when(s["SnapshotCreateTime"]) or now) < limit]
    if not older:
        raise BadInput(
            f"--inject stale-snapshot: {source} has no snapshot older than the RPO target "
            f"({limit.isoformat(timespec='seconds')}): give a shorter --rpo-target"
        )
    return _of_snapshot(f"stale-snapshot (instead of {chosen.choice})", older[-1])
