"""Changes to a cluster that exists, as the lab follows them: ``ModifyDBCluster``
(a rename, a new, managed or rotated master password, the backup retention, a
conversion from Serverless v1 to provisioned, and what
:mod:`snapmigrate_lab.follow` does for the rest), ``DeleteDBCluster`` (with its
final snapshot), ``FailoverDBCluster``, ``StopDBCluster``, ``StartDBCluster``
and ``ModifyDBClusterParameterGroup``.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from snapmigrate_lab.answers import clear_members, element, set_text
from snapmigrate_lab.convert import Conversion, is_conversion
from snapmigrate_lab.rds_parts import RdsParts
from snapmigrate_lab.wire import AwsCall, Refused, Response

log = logging.getLogger(__name__)


class ClusterChanges(RdsParts):
    """The RDS glue's handlers for the calls that change, stop or delete a cluster."""

    def pre_ModifyDBCluster(self, call: AwsCall) -> None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        cluster = self.cluster(call.region, cluster_id)
        if cluster is None:
            # moto crashes (HTTP 500) here; AWS says the cluster is not found.
            raise Refused("DBClusterNotFoundFault", f"DBCluster {cluster_id} not found.")
        new_id = call.param("NewDBClusterIdentifier")
        if new_id and new_id != cluster_id and self._exists(call.region, new_id):
            # moto silently replaces the other cluster.
            raise Refused("DBClusterAlreadyExistsFault", f"DB Cluster {new_id} already exists")
        self._converting = cluster if is_conversion(cluster, call) else None

    def post_ModifyDBCluster(self, call: AwsCall, response: Response) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        before, self._converting = self._converting, None
        if before is not None:  # Serverless v1 to provisioned (snapmigrate_lab.convert)
            klass = call.param("DBClusterInstanceClass") or ""
            Conversion(self).start(region, cluster_id, before, klass)
            self.realism.begin("cluster", region, cluster_id, "modifying")
            return
        new_id = call.param("NewDBClusterIdentifier")
        status = "modifying"
        if new_id and new_id != cluster_id:
            self.plane.rename(region, cluster_id, new_id)
            self.topology.rename_cluster(region, cluster_id, new_id)
            self.realism.rename("cluster", region, cluster_id, new_id)
            cluster_id, status = new_id, "renaming"
        if self.plane.has_server(region, cluster_id):
            if call.param("MasterUserPassword"):
                self.plane.set_password(region, cluster_id, call.param("MasterUserPassword") or "")
            elif call.flag("ManageMasterUserPassword"):
                cluster = self.cluster(region, cluster_id) or {}
                self.plane.set_password(region, cluster_id, self._managed_password(region, cluster))
            elif call.flag("RotateMasterUserPassword"):
                # moto rotates without a rotation function: the secret is left with no
                # AWSCURRENT value. Follow it when it is readable, else keep the password.
                cluster = self.cluster(region, cluster_id) or {}
                try:
                    password = self._managed_password(region, cluster)
                except Exception as e:
                    log.warning(
                        "cluster %s: rotated secret unreadable (%s); password unchanged",
                        cluster_id,
                        type(e).__name__,
                    )
                else:
                    self.plane.set_password(region, cluster_id, password)
        if call.param("BackupRetentionPeriod"):
            self._retention(region, cluster_id)
        status = self.follow.modified(region, cluster_id, call.params) or status
        self.realism.begin("cluster", region, cluster_id, status)

    def pre_DeleteDBCluster(self, call: AwsCall) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        if self.topology.members(region, cluster_id):
            raise Refused(
                "InvalidDBClusterStateFault",
                "Cluster cannot be deleted, it still contains DB instances in non-deleting state.",
            )
        final = call.param("FinalDBSnapshotIdentifier")
        if not call.flag("SkipFinalSnapshot") and not final:
            # moto deletes without a final snapshot; AWS refuses.
            raise Refused(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        if (
            final
            and not call.flag("SkipFinalSnapshot")
            and self.plane.has_server(region, cluster_id)
        ):
            if self.snapshot(region, final) is not None:
                return  # moto answers DBClusterSnapshotAlreadyExistsFault
            self.plane.snapshot(region, cluster_id, final)

    def post_DeleteDBCluster(self, call: AwsCall, response: Response) -> None:
        """The server, its archive and (unless ``DeleteAutomatedBackups=false``) its automated
        snapshots go: "When you delete a DB cluster, all automated backups for that DB
        cluster are deleted" (moto keeps them, so a cluster could not be made again under
        the same name):
        https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html
        """
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        if (call.param("DeleteAutomatedBackups") or "true").lower() != "false":
            rds = self._rds(region)
            for snapshot_id in self._automated_ids(region, cluster_id):
                rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot_id)
                self.plane.delete_snapshot(region, snapshot_id)
        self.plane.delete(region, cluster_id)
        self.topology.remove_cluster(region, cluster_id)
        self.realism.forget("cluster", region, cluster_id)
        ghost = element(response.body, "DBCluster")
        if ghost is not None:
            set_text(ghost, "Status", "deleting")
            clear_members(ghost)
            self.realism.begin("cluster", region, cluster_id, "deleting", ghost=ET.tostring(ghost))

    def post_FailoverDBCluster(self, call: AwsCall, response: Response) -> None:
        region, cluster_id = call.region, call.param("DBClusterIdentifier") or ""
        old = self._writer(region, cluster_id)
        self.topology.failover(region, cluster_id, call.param("TargetDBInstanceIdentifier"))
        new = self._writer(region, cluster_id)
        self.follow.failed_over(region, cluster_id, old, new, keep_old=True)
        self.realism.begin("cluster", region, cluster_id, "failing-over")

    def post_StopDBCluster(self, call: AwsCall, response: Response) -> None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if self.plane.has_server(call.region, cluster_id):
            self.plane.stop(call.region, cluster_id)
        self.realism.begin("cluster", call.region, cluster_id, "stopping")

    def post_StartDBCluster(self, call: AwsCall, response: Response) -> None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if self.plane.has_server(call.region, cluster_id):
            self.plane.start(call.region, cluster_id)  # with its parameter group as it is now
        self.realism.begin("cluster", call.region, cluster_id, "starting")

    def post_ModifyDBClusterParameterGroup(self, call: AwsCall, response: Response) -> None:
        self.follow.group_modified(call.region, call.param("DBClusterParameterGroupName") or "")
