"""What the data plane does for RDS calls beyond making and removing servers:
parameter groups (wanted at once, applied at the writer's reboot), engine
version changes (a new major moves the data in the background), reboots,
readers (a replica each) and failovers (in the background).
The RDS glue (:mod:`snapmigrate_lab.rds`) calls these after moto answered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from snapmigrate_lab import logical, upgrade
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.failover import Failover, FailoverResult
from snapmigrate_lab.realism import Realism
from snapmigrate_lab.topology import Topology

log = logging.getLogger(__name__)


@dataclass
class Follow:
    """The data plane's side of cluster modifications, reboots and parameter groups."""

    inner: Any
    plane: DataPlane
    topology: Topology
    realism: Realism

    def group(self, region: str, cluster: dict[str, Any]) -> dict[str, str]:
        """The server settings of the cluster's parameter group (as moto stores it)."""
        return logical.cluster_settings(self.inner.rds(region), cluster)

    def options(self, region: str, cluster: dict[str, Any]) -> dict[str, Any]:
        """How a new server of ``cluster`` (moto's record) runs: engine version, group settings."""
        return {
            "engine_version": cluster.get("EngineVersion") or "",
            "group": self.group(region, cluster),
        }

    def modified(self, region: str, cluster_id: str, params: dict[str, str]) -> str | None:
        """A ModifyDBCluster happened: a new parameter group is wanted (pending-reboot),
        a new major moves the data (the status to show: ``upgrading``), a new minor is
        recorded."""
        if not self.plane.has_server(region, cluster_id):
            return None
        rds = self.inner.rds(region)
        if params.get("DBClusterParameterGroupName"):
            cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
            self.plane.want(region, cluster_id, self.group(region, cluster))
        facts, version = self.plane.cluster_facts(region, cluster_id), params.get("EngineVersion")
        if not version or version == facts.engine_version:
            return None
        if not upgrade.is_major(facts.engine_version, version):
            facts.engine_version = version
            return None
        return self.upgrade(region, cluster_id, version, "upgrading")

    def restored(self, region: str, cluster_id: str, version: str | None) -> None:
        """A restore at a newer major than its snapshot's: the data moves to it while the
        new cluster is ``creating`` (AWS's major upgrade by snapshot restore)."""
        facts = self.plane.cluster_facts(region, cluster_id)
        if version and upgrade.is_major(facts.engine_version, version):
            self.upgrade(region, cluster_id, version, "creating")

    def upgrade(self, region: str, cluster_id: str, version: str, status: str) -> str:
        """Move the cluster's data to ``version``'s major in the background, the cluster
        and its instances showing ``status`` meanwhile; that status."""
        rds = self.inner.rds(region)

        def finish(result: upgrade.UpgradeResult) -> None:
            self.plane.upgrades.append(result)
            if result.error:  # the cluster stays on its version, as on AWS
                rds.modify_db_cluster(
                    DBClusterIdentifier=cluster_id,
                    EngineVersion=result.from_version,
                    ApplyImmediately=True,
                )

        instances = [m.instance_id for m in self.topology.members(region, cluster_id)]

        def show(shown: str | None) -> None:  # the rules refuse calls on what is held
            self.realism.hold("cluster", region, cluster_id, shown)
            for instance_id in instances:
                self.realism.hold("instance", region, instance_id, shown)

        upgrade.Upgrade(
            self.plane, region, cluster_id, version, show=show, on_finish=finish, status=status
        ).start()
        return status

    def instance_created(
        self, region: str, cluster_id: str, instance_id: str, writer: bool
    ) -> None:
        """A cluster's first instance (its writer) boots with the parameter group as it is
        now; any other is a reader: a streaming replica of the writer."""
        if not self.plane.has_server(region, cluster_id):
            return
        if not writer:
            self.plane.replicas.add(region, cluster_id, instance_id)
        elif self.plane.cluster_facts(region, cluster_id).pending_reboot:
            self.plane.reboot(region, cluster_id)

    def rebooted(self, region: str, instance_id: str) -> None:
        """The writer's reboot restarts the cluster's servers with its parameter group as it
        is; a reader's restarts its replica."""
        owner = self.topology.cluster_of(region, instance_id)
        if not owner or not self.plane.has_server(region, owner):
            return
        if any(
            m.writer and m.instance_id == instance_id for m in self.topology.members(region, owner)
        ):
            self.plane.reboot(region, owner)
        elif self.plane.replicas.get(region, instance_id) is not None:
            self.plane.replicas.repoint(region, owner, only=instance_id)

    def failed_over(
        self, region: str, cluster_id: str, old: str | None, new: str | None, *, keep_old: bool
    ) -> None:
        """The topology has a new writer: its replica takes over in the background (the
        cluster ``failing-over``); when that fails, the old writer is the writer again."""
        if not old or not new or old == new or not self.plane.has_server(region, cluster_id):
            return

        def finish(result: FailoverResult) -> None:
            self.plane.failovers.append(result)
            if result.error and keep_old:
                self.topology.failover(region, cluster_id, old)

        def show(status: str | None) -> None:
            self.realism.hold("cluster", region, cluster_id, status)

        Failover(
            self.plane, region, cluster_id, old, new, show=show, on_finish=finish, keep_old=keep_old
        ).start()

    def group_modified(self, region: str, name: str) -> None:
        """The clusters of a modified parameter group want its new values (pending-reboot)."""
        for cluster in self.inner.rds(region).describe_db_clusters()["DBClusters"]:
            cluster_id = cluster["DBClusterIdentifier"]
            if cluster.get("DBClusterParameterGroup") == name and self.plane.has_server(
                region, cluster_id
            ):
                self.plane.want(region, cluster_id, self.group(region, cluster))
