"""Converting an Aurora Serverless v1 cluster to provisioned in the lab, as AWS does.

``ModifyDBCluster EngineMode=provisioned AllowEngineModeChange=true
DBClusterInstanceClass=...`` (moto records the mode and nothing else):

- refused without ``AllowEngineModeChange``, for a cluster that is not
  Serverless v1, towards ``serverless``, or together with any other change
  ("you can't perform any other modifications at the same time");
- a ``pre-modify-engine-mode-<cluster>-<timestamp>`` manual snapshot of the
  cluster as it was ("a backup DB cluster snapshot is taken ... in case an
  error occurs");
- "The conversion process creates a reader DB instance in the DB cluster,
  promotes the reader instance to a writer instance, and then deletes the
  original Aurora Serverless v1 instance": the new instance (of the given
  class, or the class AWS recommends for the v1 maximum capacity) is a
  streaming replica of the cluster's server, promoted by a real failover
  (:class:`~snapmigrate_lab.failover.Failover`, the old server removed), so
  writes pause for real while the cluster shows ``modifying``.

https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.modifying.html#aurora-serverless.modifying.convert
The error texts are the lab's own: AWS documents the constraints
(ModifyDBCluster's ``AllowEngineModeChange`` and ``EngineMode``), not the messages:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from snapmigrate.inplace.classes import interim_class
from snapmigrate_lab.failover import Failover, FailoverResult
from snapmigrate_lab.wire import AwsCall, Refused

log = logging.getLogger(__name__)

#: What the conversion's instance is called (AWS does not document its name: the lab's).
INSTANCE = "{cluster}-instance-1"
#: The parameters a conversion may carry; anything else is another change at the same time.
CONVERSION_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "DBClusterIdentifier",
        "EngineMode",
        "AllowEngineModeChange",
        "DBClusterInstanceClass",
        "ApplyImmediately",
    }
)
#: Which conversions the lab measured (``FailoverResult.old_writer`` of a conversion).
V1_WRITER = "serverless-v1"


def is_conversion(cluster: dict[str, Any], call: AwsCall) -> bool:
    """Whether ``call`` (a ModifyDBCluster of ``cluster``) converts it to provisioned;
    what AWS refuses raises :class:`Refused`."""
    wanted = call.param("EngineMode")
    current = cluster.get("EngineMode") or "provisioned"
    allow = call.flag("AllowEngineModeChange")
    if allow and current != "serverless":
        raise Refused(
            "InvalidParameterCombination",
            "AllowEngineModeChange is valid for Aurora Serverless v1 DB clusters only.",
        )
    if not wanted or wanted == current:
        return False
    if current != "serverless" or wanted != "provisioned":
        raise Refused(
            "InvalidParameterCombination",
            "The DB engine mode can be modified only from serverless to provisioned.",
        )
    if not allow:
        raise Refused(
            "InvalidParameterCombination",
            "To change the engine mode from serverless to provisioned, set AllowEngineModeChange.",
        )
    others = sorted(set(call.params) - CONVERSION_PARAMS)
    if others:
        raise Refused(
            "InvalidParameterCombination",
            "You can't make other modifications while converting the engine mode "
            f"to provisioned: {', '.join(others)}.",
        )
    return True


@dataclass
class Conversion:
    """The data plane and the records following a conversion moto has recorded."""

    glue: Any  # the RdsGlue (typed loosely: it imports this module)

    def start(self, region: str, cluster_id: str, before: dict[str, Any], klass: str) -> str:
        """Snapshot, add the instance, and promote it in the background; its id."""
        glue = self.glue
        rds = glue.inner.rds(region)
        self._snapshot(region, cluster_id)
        instance_id = INSTANCE.format(cluster=cluster_id)
        maximum = (before.get("ScalingConfigurationInfo") or {}).get("MaxCapacity")
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id,
            DBClusterIdentifier=cluster_id,
            Engine=before.get("Engine") or "aurora-postgresql",
            DBInstanceClass=klass or interim_class(maximum),
        )
        glue.topology.add_instance(region, instance_id, cluster_id)
        glue.realism.hold("instance", region, instance_id, "creating")
        if not glue.plane.has_server(region, cluster_id):
            glue.realism.hold("instance", region, instance_id, None)
            return instance_id
        glue.plane.replicas.add(region, cluster_id, instance_id)

        def show(status: str | None) -> None:
            glue.realism.hold("cluster", region, cluster_id, status and "modifying")

        def finish(result: FailoverResult) -> None:
            glue.plane.failovers.append(result)
            glue.realism.hold("instance", region, instance_id, None)
            if result.error:
                self._undo(region, cluster_id, instance_id)

        Failover(
            glue.plane, region, cluster_id, V1_WRITER, instance_id,
            show=show, on_finish=finish, keep_old=False,
        ).start()  # fmt: skip
        return instance_id

    def _snapshot(self, region: str, cluster_id: str) -> str:
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        snapshot_id = f"pre-modify-engine-mode-{cluster_id}-{stamp}"
        self.glue.inner.rds(region).create_db_cluster_snapshot(
            DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snapshot_id
        )
        if self.glue.plane.has_server(region, cluster_id):
            self.glue.plane.snapshot(region, cluster_id, snapshot_id)
        self.glue.realism.begin("snapshot", region, snapshot_id, "creating")
        return snapshot_id

    def _undo(self, region: str, cluster_id: str, instance_id: str) -> None:
        """The promotion failed: the server is the v1 cluster's again, as before."""
        glue = self.glue
        log.warning("cluster %s: the conversion failed; it stays Serverless v1", cluster_id)
        glue.topology.remove_instance(region, instance_id)
        glue.plane.replicas.remove(region, instance_id)
        rds = glue.inner.rds(region)
        rds.delete_db_instance(DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True)
        rds.modify_db_cluster(DBClusterIdentifier=cluster_id, EngineMode="serverless")
