"""Cluster snapshots in the lab: ``CreateDBClusterSnapshot`` takes a copy of the
cluster's server (a snapshot moto made without one is taken back),
``CopyDBClusterSnapshot`` copies the copy (across regions too) and
``DeleteDBClusterSnapshot`` drops it. Each shows its transitional status.
"""

from __future__ import annotations

from snapmigrate_lab.answers import split_arn
from snapmigrate_lab.rds_parts import RdsParts
from snapmigrate_lab.wire import AwsCall, Response


class SnapshotEffects(RdsParts):
    """The RDS glue's handlers for the calls on cluster snapshots."""

    def post_CreateDBClusterSnapshot(self, call: AwsCall, response: Response) -> None:
        region = call.region
        cluster_id = call.param("DBClusterIdentifier") or ""
        snapshot_id = call.param("DBClusterSnapshotIdentifier") or ""
        if self.plane.has_server(region, cluster_id):
            try:
                self.plane.snapshot(region, cluster_id, snapshot_id)
            except Exception:
                self._rds(region).delete_db_cluster_snapshot(
                    DBClusterSnapshotIdentifier=snapshot_id
                )
                raise
        self.realism.begin("snapshot", region, snapshot_id, "creating")
        self.realism.begin("cluster", region, cluster_id, "backing-up")

    def post_CopyDBClusterSnapshot(self, call: AwsCall, response: Response) -> None:
        src_region, src_id = split_arn(
            call.param("SourceDBClusterSnapshotIdentifier") or "", call.region
        )
        target = call.param("TargetDBClusterSnapshotIdentifier") or ""
        if self.plane.has_copy(src_region, src_id):
            self.plane.copy_snapshot(src_region, src_id, call.region, target)
        self.realism.begin("snapshot", call.region, target, "copying")

    def post_DeleteDBClusterSnapshot(self, call: AwsCall, response: Response) -> None:
        self.plane.delete_snapshot(call.region, call.param("DBClusterSnapshotIdentifier") or "")
