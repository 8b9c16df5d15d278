"""The clone's cluster and its instances: the restore request (copy-on-write
clone, point-in-time restore, or snapshot restore), then the db.serverless
writer (and readers), waited for, then a real ``SELECT 1``.

- RestoreDBClusterToPointInTime with ``RestoreType=copy-on-write`` and
  ``UseLatestRestorableTime`` makes a clone: "When the clone is first created,
  Aurora keeps a single copy of the data that is used by the source Aurora DB
  cluster and the new (cloned) Aurora DB cluster" -- the data at the request.
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Clone.html
- The result has no instance: create them once the cluster is available.
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.clone.context import CloneBasis, CloneContext
from snapmigrate.clone.lease import made_by
from snapmigrate.clone.spec import CloneSpec
from snapmigrate.db.connect import connect, list_databases
from snapmigrate.db.stats import write_counters
from snapmigrate.errors import BadInput, OperationFailed, SnapmigrateError
from snapmigrate.progress import Status
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

#: The restore calls, by method: (boto3 method, what the plan says).
OPERATIONS = {
    "cow": ("restore_db_cluster_to_point_in_time", "copy-on-write clone"),
    "pitr": ("restore_db_cluster_to_point_in_time", "point-in-time restore (full copy)"),
    "snapshot": ("restore_db_cluster_from_snapshot", "snapshot restore"),
}


def request(spec: CloneSpec) -> tuple[str, dict[str, Any]]:
    """The restore call and its parameters, as sent. Security groups and subnet group
    are the source's (a restore otherwise gets the default group); no deletion
    protection; the clone's tags; the Serverless v2 range before any instance."""
    api: dict[str, Any] = {
        "DBClusterIdentifier": spec.name,
        "ServerlessV2ScalingConfiguration": spec.scaling.to_api(),
        "Port": spec.port,
        "DeletionProtection": False,
        "CopyTagsToSnapshot": False,
        "Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()],
    }
    if spec.subnet_group:
        api["DBSubnetGroupName"] = spec.subnet_group
    if spec.security_group_ids:
        api["VpcSecurityGroupIds"] = list(spec.security_group_ids)
    if spec.method == "snapshot":
        api.update(
            SnapshotIdentifier=spec.snapshot,
            Engine=spec.engine,
            EngineVersion=spec.engine_version,
            EngineMode="provisioned",
        )
        return OPERATIONS["snapshot"][0], api
    api["SourceDBClusterIdentifier"] = spec.source
    if spec.method == "cow":
        # "--restore-to-time ... Can't be specified if the RestoreType parameter is
        # copy-on-write": a clone is always of the latest restorable time.
        api.update(RestoreType="copy-on-write", UseLatestRestorableTime=True)
    elif spec.latest or not spec.restore_time:
        api.update(RestoreType="full-copy", UseLatestRestorableTime=True)
    else:
        api.update(RestoreType="full-copy", RestoreToTime=datetime.fromisoformat(spec.restore_time))
    return OPERATIONS[spec.method][0], api


@dataclass(frozen=True)
class RestoreDetails(StepDetails):
    """Where the clone's data comes from, as AWS described the new cluster."""

    step = "restore"
    always = frozenset({"endpoint"})

    endpoint: str | None = None
    clone_group_id: str | None = None
    counters_before: bool | None = None
    counters_after: bool | None = None


class RestoreStep(Step[CloneBasis, CloneContext, CloneSpec]):
    """The clone's cluster, tagged as a clone, with the Serverless v2 range on it."""

    name = "restore"
    inputs = CloneSpec
    permissions = (
        "rds:RestoreDBClusterToPointInTime",
        "rds:RestoreDBClusterFromSnapshot",
        "rds:DescribeDBClusters",
        "rds:DescribeDBClusterSnapshots",
        "rds:ModifyDBCluster",
        "rds:AddTagsToResource",
    )
    undo_permissions = ("rds:DeleteDBCluster",)

    def plan(self, basis: CloneBasis) -> CloneSpec:
        return basis.spec

    def describe(self, inputs: CloneSpec) -> str:
        what = OPERATIONS[inputs.method][1]
        origin = {
            "cow": f"{inputs.source}, latest data",
            "pitr": f"{inputs.source} at "
            + ("its latest restorable time" if inputs.latest else f"{inputs.restore_time}"),
            "snapshot": f"snapshot {inputs.snapshot}",
        }[inputs.method]
        scaling = inputs.scaling
        return (
            f"create {inputs.name} by {what} of {origin}; Serverless v2 "
            f"{scaling.min_capacity:g}-{scaling.max_capacity:g} ACU; wait until available"
        )

    def ids(self, ctx: CloneContext, inputs: CloneSpec) -> dict[str, str]:
        return {"cluster": inputs.name}

    def is_done(self, ctx: CloneContext, inputs: CloneSpec) -> bool:
        cluster = ctx.cluster()
        return (
            cluster is not None
            and made_by(rds.tags_of(cluster), inputs.run_id)
            and (cluster.get("Status") == "available")
        )

    def apply(self, ctx: CloneContext, inputs: CloneSpec) -> Outcome:
        before = self._counters(ctx, "before")
        operation, api = request(inputs)
        ctx.begin_clock()
        created = rds.create(
            ctx.aws,
            f"create clone {inputs.name} of {inputs.source}",
            getattr(ctx.aws.rds(), operation),
            ctx.cluster,
            **api,
        )
        ctx.mark("accepted")
        ctx.note(self.name, {"cluster": inputs.name}, None)
        found = (created or {}).get("DBCluster", created) or {}
        if found and not made_by(rds.tags_of(found), inputs.run_id):
            raise BadInput(f"cluster {inputs.name} exists but this clone run did not make it")
        after = self._counters(ctx, "after")
        ctx.counters = (before, after)
        waited = [ctx.wait_cluster("cluster")]
        cluster = ctx.cluster() or {}
        if not cluster.get("ServerlessV2ScalingConfiguration"):
            # It must be on the cluster before the first db.serverless instance.
            ctx.aws.call(
                f"set the Serverless v2 range of {inputs.name}",
                ctx.aws.rds().modify_db_cluster,
                DBClusterIdentifier=inputs.name,
                ServerlessV2ScalingConfiguration=inputs.scaling.to_api(),
                ApplyImmediately=True,
            )
            waited.append(ctx.wait_cluster("scaling of"))
        took = ctx.mark("cluster_available")
        cluster = ctx.cluster() or {}
        details = RestoreDetails(
            endpoint=cluster.get("Endpoint"),
            clone_group_id=cluster.get("CloneGroupId"),
            counters_before=before is not None if ctx.mask else None,
            counters_after=after is not None if ctx.mask else None,
        )
        summary = f"{inputs.name} available {took:.0f} s after the request"
        return Outcome(summary, {"cluster": inputs.name}, details, tuple(waited))

    def _counters(self, ctx: CloneContext, moment: str) -> Any:
        """The source's write counters around the request (the proof's drift baseline)."""
        if ctx.mask is None or not ctx.settings.connect:
            return None
        try:
            source = ctx.endpoint(ctx.spec.source, "source")
            return write_counters(source, connect_map=ctx.connect_map())
        except SnapmigrateError as e:
            log.warning("source write counters %s the request not read: %s", moment, e)
            return None


class InstancesStep(Step[CloneBasis, CloneContext, CloneSpec]):
    """One db.serverless writer (and the readers asked for), waited for, then SELECT 1."""

    name = "instances"
    inputs = CloneSpec
    permissions = (
        "rds:CreateDBInstance",
        "rds:DescribeDBInstances",
        "rds:AddTagsToResource",
        "secretsmanager:GetSecretValue",
        "rds-db:connect",
    )
    undo_permissions = ("rds:DeleteDBInstance",)

    def plan(self, basis: CloneBasis) -> CloneSpec:
        return basis.spec

    def describe(self, inputs: CloneSpec) -> str:
        readers = len(inputs.instances) - 1
        return (
            f"create the db.serverless writer {inputs.writer.identifier} and {readers} "
            "reader(s); wait until available; SELECT 1"
        )

    def ids(self, ctx: CloneContext, inputs: CloneSpec) -> dict[str, str]:
        return {
            i.role if i.role == "writer" else i.identifier: i.identifier for i in inputs.instances
        }

    def is_done(self, ctx: CloneContext, inputs: CloneSpec) -> bool:
        found = rds.instances_of(ctx.aws, inputs.name)
        return all(rds.instance_status(found.get(i.identifier)).done for i in inputs.instances)

    def apply(self, ctx: CloneContext, inputs: CloneSpec) -> Outcome:
        found = rds.instances_of(ctx.aws, inputs.name)
        for spec in inputs.instances:
            if spec.identifier in found:
                continue
            tags = inputs.instance_tags(spec.role)
            rds.create(
                ctx.aws,
                f"create instance {spec.identifier}",
                ctx.aws.rds().create_db_instance,
                lambda spec=spec: rds.find_instance(ctx.aws, spec.identifier),  # type: ignore[misc]
                DBInstanceIdentifier=spec.identifier,
                DBClusterIdentifier=inputs.name,
                Engine=inputs.engine,
                DBInstanceClass=spec.instance_class,
                PromotionTier=spec.promotion_tier,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )
        ctx.note(self.name, self.ids(ctx, inputs), None)
        ids = tuple(i.identifier for i in inputs.instances)

        def poll() -> dict[str, Status]:
            now = rds.instances_of(ctx.aws, inputs.name)
            return {i: rds.instance_status(now.get(i)) for i in ids}

        waits = [ctx.wait(f"instance(s) {', '.join(ids)}", poll, ids, max_delay_s=15)]
        ctx.mark("instances_available")
        probe = self._probe(ctx, inputs)
        if probe is not None:
            waits.append(probe)
        summary = f"{len(ids)} db.serverless instance(s) available"
        if ctx.settings.connect:
            summary += f"; SELECT 1 answered {ctx.marks['first_query']:.0f} s after the request"
        return Outcome(summary, self.ids(ctx, inputs), None, tuple(waits))

    def _probe(self, ctx: CloneContext, inputs: CloneSpec) -> Any:
        if not ctx.settings.connect:
            return None
        label = f"{inputs.name} SELECT 1"

        def poll() -> dict[str, Status]:
            try:
                endpoint = ctx.endpoint(inputs.name, "clone")
                with connect(endpoint, "postgres", connect_map=ctx.connect_map(), timeout=10) as c:
                    c.execute("SELECT 1")
                return {label: Status("answers", done=True)}
            except SnapmigrateError as e:
                fatal = "password authentication failed" in str(e)
                return {label: Status("not answering yet", failed=str(e) if fatal else None)}

        try:
            waited = ctx.wait(f"SELECT 1 on {inputs.name}", poll, (label,), max_delay_s=10)
        except OperationFailed as e:
            raise OperationFailed(
                f"the instances of {inputs.name} are available but it does not answer "
                f"SELECT 1 from here: {e}",
                hint="check the network path (--connect-map for a tunnel) and the credentials "
                "(PGPASSWORD or ~/.pgpass: a clone keeps its source's logins), or --no-connect",
            ) from e
        ctx.mark("first_query")
        endpoint = ctx.endpoint(inputs.name, "clone")
        ctx.database_names = tuple(list_databases(endpoint, connect_map=ctx.connect_map()))
        return waited
