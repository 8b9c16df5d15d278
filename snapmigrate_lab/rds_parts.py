"""What every RDS handler of the glue works with: the lab's parts it keeps in
step with moto (the data plane, the topology, the realism, the endpoint names,
the clusters' history) and its readings of moto's state (a cluster, a snapshot,
a cluster's automated snapshots, the password in a managed secret, the writer).

:class:`RdsParts` is the base of :class:`snapmigrate_lab.rds.RdsGlue` and of the
mixins that hold its ``pre_*`` and ``post_*`` handlers, one concern each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.follow import Follow
from snapmigrate_lab.history import History
from snapmigrate_lab.names import DnsNames
from snapmigrate_lab.realism import Realism
from snapmigrate_lab.topology import Topology
from snapmigrate_lab.wire import Refused


@dataclass
class RdsParts:
    """The lab's parts and moto's state, as the RDS handlers read them."""

    inner: Any
    plane: DataPlane
    topology: Topology
    realism: Realism
    names: DnsNames
    history: History = field(default_factory=History)
    #: Publishes the lab's files again (set by the app; a delayed DNS name needs it).
    republish: Callable[[], None] | None = None
    #: What a point-in-time restore checked before moto answered (the call's own).
    _recovery: Any = None
    #: The cluster as it was before a conversion to provisioned (the call's own).
    _converting: dict[str, Any] | None = None

    # -- moto's state, read through its own API -----------------------------

    def _rds(self, region: str) -> Any:
        return self.inner.rds(region)

    def cluster(self, region: str, cluster_id: str) -> dict[str, Any] | None:
        import botocore.exceptions

        try:
            found = self._rds(region).describe_db_clusters(DBClusterIdentifier=cluster_id)[
                "DBClusters"
            ]
        except botocore.exceptions.ClientError:
            return None
        return found[0] if found else None

    def snapshot(self, region: str, snapshot_id: str) -> dict[str, Any] | None:
        import botocore.exceptions

        try:
            found = self._rds(region).describe_db_cluster_snapshots(
                DBClusterSnapshotIdentifier=snapshot_id
            )["DBClusterSnapshots"]
        except botocore.exceptions.ClientError:
            return None
        return found[0] if found else None

    def _exists(self, region: str, cluster_id: str) -> bool:
        return self.cluster(region, cluster_id) is not None or cluster_id in self.realism.ghosts(
            "cluster", region
        )

    # -- what the handlers share ----------------------------------------------

    @property
    def follow(self) -> Follow:
        return Follow(self.inner, self.plane, self.topology, self.realism)

    def _managed_password(self, region: str, cluster: dict[str, Any]) -> str:
        """The password in the cluster's managed secret (its username made the master's,
        as in AWS)."""
        arn = (cluster.get("MasterUserSecret") or {}).get("SecretArn")
        if not arn:
            raise Refused(
                "InvalidParameterValue",
                "the cluster has neither a master password nor a managed secret",
            )
        sm = self.inner.client("secretsmanager", region)
        data = json.loads(sm.get_secret_value(SecretId=arn).get("SecretString") or "{}")
        user = cluster.get("MasterUsername")
        if user and data.get("username") != user:
            data["username"] = user
            sm.put_secret_value(SecretId=arn, SecretString=json.dumps(data))
        return str(data.get("password") or "")

    def _automated_ids(self, region: str, cluster_id: str) -> list[str]:
        snaps = self._rds(region).describe_db_cluster_snapshots(
            DBClusterIdentifier=cluster_id, SnapshotType="automated"
        )
        return [s["DBClusterSnapshotIdentifier"] for s in snaps["DBClusterSnapshots"]]

    def _retention(self, region: str, cluster_id: str) -> None:
        """The archive keeps base backups for the cluster's BackupRetentionPeriod (days)."""
        archive = self.plane.archives.get((region, cluster_id))
        days = (self.cluster(region, cluster_id) or {}).get("BackupRetentionPeriod")
        if archive is not None and days:
            archive.retention_days = int(days)

    def _writer(self, region: str, cluster_id: str) -> str | None:
        return next(
            (m.instance_id for m in self.topology.members(region, cluster_id) if m.writer), None
        )
