"""The RDS half of the glue: keep moto's clusters and the lab's servers in step.

For each RDS call: answer what moto cannot (``catalog``, ``lifecycle``), check
what AWS would refuse and moto accepts (``rules``, then ``pre_*``), let moto
answer, then make the data plane follow (``post_*``) and the lab's records
(``lifecycle.after``), synchronously, before the caller sees the answer. Every
answer is then rewritten to what AWS would say: stable endpoint names,
transitional statuses, true membership.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snapmigrate_lab import catalog, engines, lifecycle, pitr, planeview, rules
from snapmigrate_lab.answers import (
    Answers,
    clear_members,
    cluster_filter,
    element,
    set_text,
    split_arn,
    without_filter,
)
from snapmigrate_lab.convert import Conversion, is_conversion
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.follow import Follow
from snapmigrate_lab.history import History
from snapmigrate_lab.names import DnsNames
from snapmigrate_lab.realism import FAILING_CREATIONS, Realism
from snapmigrate_lab.topology import Topology
from snapmigrate_lab.wire import AwsCall, Forward, Refused, Response, error_response

log = logging.getLogger(__name__)

POSTGRES = "aurora-postgresql"
COW = "copy-on-write"


@dataclass
class RdsGlue:
    """Pre-checks, data-plane effects and answer rewriting for RDS calls."""

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

    # -- the call -----------------------------------------------------------

    def handle(self, call: AwsCall, forward: Forward) -> tuple[Response, bool]:
        """Answer ``call``; the flag says whether the lab's state may have changed."""
        action = call.action or ""
        pre = getattr(self, f"pre_{action}", None)
        post = getattr(self, f"post_{action}", None)
        params: dict[str, str] | None = None
        try:
            own = catalog.answer(call) or lifecycle.answer(self, call)
            if own is not None:
                return own, False
            before = rules.check(self, call)
            if pre is not None:
                params = pre(call)
        except Refused as e:
            return error_response(call, e.code, e.message), False
        try:
            response = forward(params)
        except KeyError:
            # moto cannot restore a snapshot of a cluster that manages its password
            by_create = None
            if action == "RestoreDBClusterFromSnapshot":
                by_create = lifecycle.restore_by_create(self, call, params or call.params, forward)
            if by_create is None:
                raise
            response = by_create
        if not response.ok:
            return self.rewrite(call, response), False
        done = call
        if params is not None:
            done = AwsCall(call.service, call.region, call.action, call.protocol, params)
        failed = self.realism.failure_state(action)
        try:
            if post is not None and not (failed and FAILING_CREATIONS[action] == "cluster"):
                post(done, response)  # a cluster created into a failure state gets no server
            lifecycle.after(self, done, before)
            if failed:
                lifecycle.fail(self, done, failed)
        except Refused as e:
            return error_response(call, e.code, e.message), True
        except Exception as e:
            log.exception("the data plane failed to follow %s", action)
            return error_response(
                call, "InternalFailure", f"the snapmigrate lab could not follow {action}: {e}"
            ), True
        return self.rewrite(call, response), post is not None or failed is not None

    # -- clusters -----------------------------------------------------------

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

    # -- snapshots ----------------------------------------------------------

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

    # -- instances ----------------------------------------------------------

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

    def post_ModifyDBClusterParameterGroup(self, call: AwsCall, response: Response) -> None:
        self.follow.group_modified(call.region, call.param("DBClusterParameterGroupName") or "")

    def pre_DescribeDBInstances(self, call: AwsCall) -> dict[str, str] | None:
        """Take the ``db-cluster-id`` filter out: the lab applies it from true membership."""
        wanted = cluster_filter(call.params)
        if wanted is None:
            return None
        return without_filter(call.params, "db-cluster-id")

    # -- helpers ------------------------------------------------------------

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

    def _automated_copies(self, region: str, cluster_id: str) -> None:
        """Copies for moto's automated snapshots; the first is the archive's first base."""
        autos = self._automated_ids(region, cluster_id)
        for snapshot_id in autos:
            if not self.plane.has_copy(region, snapshot_id):
                self.plane.snapshot(region, cluster_id, snapshot_id)
        self.plane.ensure_base(region, cluster_id, autos[0] if autos else None)
        self._retention(region, cluster_id)

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

    def reconcile(self, regions: set[str]) -> None:
        """Drop servers and copies whose cluster or snapshot moto no longer has (e.g.
        after a reset)."""
        for region in regions:
            rds = self._rds(region)
            clusters = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
            snapshots = {
                s["DBClusterSnapshotIdentifier"]
                for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
            }
            for r, cluster_id in list(self.plane.servers):
                if r == region and cluster_id not in clusters:
                    self.plane.delete(region, cluster_id)
            for r, snapshot_id in list(self.plane.copies):
                if r == region and snapshot_id not in snapshots:
                    self.plane.delete_snapshot(region, snapshot_id)

    def rewrite(self, call: AwsCall, response: Response) -> Response:
        answers = Answers(self.names, self.realism, self.topology, self.history)
        answer = answers.rewrite(call, response)
        if not answer.ok:
            return answer
        return answer.with_body(planeview.show(answer.body, self.plane, call.region))
