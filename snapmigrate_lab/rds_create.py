"""Clusters coming into being in the lab: ``CreateDBCluster``,
``RestoreDBClusterFromSnapshot`` and ``RestoreDBClusterToPointInTime`` (a full
copy replayed from the archive, or a copy-on-write clone).

Before moto answers, what AWS would refuse (a name taken, no master password, a
snapshot the lab holds no data for, a time outside the restore window); after,
the cluster's server (a new one, a snapshot's copy, the source's archive
replayed, or a clone of the source) and copies for moto's automated
snapshots. A cluster whose server could not be made is taken back, so a
failure leaves nothing behind.
"""

from __future__ import annotations

import logging

from snapmigrate_lab import engines, pitr
from snapmigrate_lab.answers import split_arn
from snapmigrate_lab.rds_parts import RdsParts
from snapmigrate_lab.wire import AwsCall, Refused, Response

log = logging.getLogger(__name__)

POSTGRES = "aurora-postgresql"
COW = "copy-on-write"


class ClusterCreation(RdsParts):
    """The RDS glue's handlers for the calls that make a cluster."""

    def pre_CreateDBCluster(self, call: AwsCall) -> dict[str, str] | None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if self._exists(call.region, cluster_id):
            raise Refused("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        if (
            call.param("Engine") == POSTGRES
            and not call.param("MasterUserPassword")
            and not call.flag("ManageMasterUserPassword")
            and not call.param("GlobalClusterIdentifier")
            and not call.param("ReplicationSourceIdentifier")
        ):
            raise Refused(
                "InvalidParameterValue",
                "The parameter MasterUserPassword must be provided and must not be blank "
                "(or set ManageMasterUserPassword).",
            )
        default = engines.DEFAULT_VERSION.get(call.param("Engine") or "")
        if default and not call.param("EngineVersion"):
            return {**call.params, "EngineVersion": default}  # AWS's default, not moto's
        return None

    def post_CreateDBCluster(self, call: AwsCall, response: Response) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        self.topology.add_cluster(region, cluster_id)
        self.realism.begin("cluster", region, cluster_id, "creating")
        cluster = self.cluster(region, cluster_id) or {}
        if cluster.get("Engine") != POSTGRES:
            return
        password = call.param("MasterUserPassword") or self._managed_password(region, cluster)
        try:
            user = cluster.get("MasterUsername") or "postgres"
            database = cluster.get("DatabaseName")
            options = self.follow.options(region, cluster)
            self.plane.create(region, cluster_id, user, password, database, **options)
            self._automated_copies(region, cluster_id)
        except Exception:
            self._undo_cluster(region, cluster_id)
            raise

    def pre_RestoreDBClusterFromSnapshot(self, call: AwsCall) -> dict[str, str] | None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if self._exists(call.region, cluster_id):
            raise Refused("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        snap_region, snap_id = split_arn(call.param("SnapshotIdentifier") or "", call.region)
        snapshot = self.snapshot(snap_region, snap_id)
        if (
            snapshot
            and snapshot.get("Engine") == POSTGRES
            and not self.plane.has_copy(snap_region, snap_id)
        ):
            raise Refused(
                "InvalidDBClusterSnapshotStateFault",
                f"the snapmigrate lab holds no data for snapshot {snap_id} "
                "(taken before this lab started?)",
            )
        if snap_region == call.region and snap_id != call.param("SnapshotIdentifier"):
            # moto does not resolve a snapshot ARN; AWS does.
            return {**call.params, "SnapshotIdentifier": snap_id}
        return None

    def post_RestoreDBClusterFromSnapshot(self, call: AwsCall, response: Response) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        self.topology.add_cluster(region, cluster_id)
        self.realism.begin("cluster", region, cluster_id, "creating")
        snap_region, snap_id = split_arn(call.param("SnapshotIdentifier") or "", region)
        if not self.plane.has_copy(snap_region, snap_id):
            return
        try:
            options = self.follow.options(region, self.cluster(region, cluster_id) or {})
            self.plane.restore(region, snap_region, snap_id, cluster_id, **options)
            self.follow.restored(region, cluster_id, options["engine_version"])
            for auto in self._automated_ids(region, cluster_id):
                self.plane.share(region, auto, snap_region, snap_id)
        except Exception:
            self._undo_cluster(region, cluster_id)
            raise

    def pre_RestoreDBClusterToPointInTime(self, call: AwsCall) -> None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if self._exists(call.region, cluster_id):
            raise Refused("DBClusterAlreadyExistsFault", "DB Cluster already exists")
        source = call.param("SourceDBClusterIdentifier") or ""
        if self.plane.has_server(call.region, source) and call.param("RestoreType") != COW:
            self._recovery = pitr.check_window(self.plane, call)  # archived up to now, too

    def post_RestoreDBClusterToPointInTime(self, call: AwsCall, response: Response) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        source = call.param("SourceDBClusterIdentifier") or ""
        self.topology.add_cluster(region, cluster_id)
        self.realism.begin("cluster", region, cluster_id, "creating")
        recovery, self._recovery = self._recovery, None
        if not self.plane.has_server(region, source):
            return
        autos = self._automated_ids(region, cluster_id)
        options = self.follow.options(region, self.cluster(region, cluster_id) or {})
        if recovery is not None:  # a full copy: the archive replayed, in the background

            def show(status: str | None) -> None:
                self.realism.hold("cluster", region, cluster_id, status)

            pitr.PointInTimeRestore(
                self.plane, region, source, cluster_id, recovery, automated=autos, show=show,
                **options,
            ).start()  # fmt: skip
            return
        try:  # a clone (copy-on-write): the source's data as it is now
            automated = autos[0] if autos else f"lab-pitr-{cluster_id}"
            self.plane.clone(region, source, cluster_id, automated, **options)
            for auto in autos[1:]:
                self.plane.share(region, auto, region, autos[0])
        except Exception:
            self._undo_cluster(region, cluster_id)
            raise

    def _automated_copies(self, region: str, cluster_id: str) -> None:
        """Copies for moto's automated snapshots; the first is the archive's first base."""
        autos = self._automated_ids(region, cluster_id)
        for snapshot_id in autos:
            if not self.plane.has_copy(region, snapshot_id):
                self.plane.snapshot(region, cluster_id, snapshot_id)
        self.plane.ensure_base(region, cluster_id, autos[0] if autos else None)
        self._retention(region, cluster_id)

    def _undo_cluster(self, region: str, cluster_id: str) -> None:
        """Take back a cluster moto created when its server could not be made."""
        rds = self._rds(region)
        try:
            for snapshot_id in self._automated_ids(region, cluster_id):
                rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot_id)
            rds.modify_db_cluster(
                DBClusterIdentifier=cluster_id, DeletionProtection=False, ApplyImmediately=True
            )
            rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
        except Exception as e:
            log.warning("could not take back cluster %s: %s", cluster_id, e)
        self.plane.delete(region, cluster_id)
        self.topology.remove_cluster(region, cluster_id)
        self.realism.forget("cluster", region, cluster_id)
        self.history.forget(region, cluster_id)
