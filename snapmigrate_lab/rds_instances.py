"""DB instances in the lab: the topology keeps true membership (moto keys it by
the cluster's name), a reader gets a streaming replica, deleting the writer
fails over to a reader, renames and reboots show as on AWS, and
``DescribeDBInstances`` filters by cluster from that membership.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from snapmigrate_lab.answers import cluster_filter, element, set_text, without_filter
from snapmigrate_lab.rds_parts import RdsParts
from snapmigrate_lab.wire import AwsCall, Refused, Response


class InstanceEffects(RdsParts):
    """The RDS glue's handlers for the calls on DB instances."""

    def pre_CreateDBInstance(self, call: AwsCall) -> None:
        cluster_id = call.param("DBClusterIdentifier") or ""
        if cluster_id and (self.cluster(call.region, cluster_id) or {}).get("Status") == "stopped":
            # moto adds it; AWS takes no instance into a stopped cluster.
            raise Refused(
                "InvalidDBClusterStateFault",
                f"DbCluster {cluster_id} is in stopped state but expected it to be one of "
                "available.",
            )

    def post_CreateDBInstance(self, call: AwsCall, response: Response) -> None:
        cluster_id = call.param("DBClusterIdentifier")
        instance_id = call.param("DBInstanceIdentifier") or ""
        if cluster_id:
            tier = int(call.param("PromotionTier") or 1)
            member = self.topology.add_instance(call.region, instance_id, cluster_id, tier)
            try:
                self.follow.instance_created(call.region, cluster_id, instance_id, member.writer)
            except Exception:
                self.topology.remove_instance(call.region, instance_id)
                self._rds(call.region).delete_db_instance(
                    DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True
                )
                raise
        self.realism.begin("instance", call.region, instance_id, "creating")

    def post_DeleteDBInstance(self, call: AwsCall, response: Response) -> None:
        """A reader's replica goes; the writer's deletion fails over to a reader (by
        promotion tier), as on Aurora."""
        region, instance_id = call.region, call.param("DBInstanceIdentifier") or ""
        owner = self.topology.cluster_of(region, instance_id)
        was_writer = bool(owner) and self._writer(region, owner or "") == instance_id
        self.topology.remove_instance(region, instance_id)
        if owner and was_writer:
            new = self._writer(region, owner)
            self.follow.failed_over(region, owner, instance_id, new, keep_old=False)
        elif owner:
            self.plane.replicas.remove(region, instance_id)
        self.realism.forget("instance", region, instance_id)
        ghost = element(response.body, "DBInstance")
        if ghost is not None:
            set_text(ghost, "DBInstanceStatus", "deleting")
            if owner:
                set_text(ghost, "DBClusterIdentifier", owner)
            self.realism.begin(
                "instance", call.region, instance_id, "deleting", ghost=ET.tostring(ghost)
            )

    def post_ModifyDBInstance(self, call: AwsCall, response: Response) -> None:
        instance_id = call.param("DBInstanceIdentifier") or ""
        new_id = call.param("NewDBInstanceIdentifier")
        status = "modifying"
        if new_id and new_id != instance_id:
            self.topology.rename_instance(call.region, instance_id, new_id)
            self.plane.replicas.rename_instance(call.region, instance_id, new_id)
            self.realism.rename("instance", call.region, instance_id, new_id)
            instance_id, status = new_id, "renaming"
        self.realism.begin("instance", call.region, instance_id, status)

    def post_RebootDBInstance(self, call: AwsCall, response: Response) -> None:
        instance_id = call.param("DBInstanceIdentifier") or ""
        self.follow.rebooted(call.region, instance_id)
        self.realism.begin("instance", call.region, instance_id, "rebooting")

    def pre_DescribeDBInstances(self, call: AwsCall) -> dict[str, str] | None:
        """Take the ``db-cluster-id`` filter out: the lab applies it from true membership."""
        wanted = cluster_filter(call.params)
        if wanted is None:
            return None
        return without_filter(call.params, "db-cluster-id")
