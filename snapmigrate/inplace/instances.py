"""The in-place path's steps on instances: a db.serverless reader, the failover to it,
a second db.serverless reader in another zone, and the provisioned instances removed.

AWS's procedure for a provisioned cluster: "Add one Aurora Serverless v2 reader DB
instance. Perform a failover to make that Aurora Serverless v2 instance the writer
DB instance", then delete the provisioned instances:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
Failover: "service is typically restored in less than 120 seconds, and often less
than 60 seconds":
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from snapmigrate.aws import rds
from snapmigrate.errors import NotFound, OperationFailed
from snapmigrate.inplace.cluster import current
from snapmigrate.inplace.probe import OutageDetails, guard, shown, write_probe
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.model import InstanceSpec
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome, Step

SERVERLESS = "db.serverless"


@dataclass(frozen=True)
class AddInputs(Record):
    cluster_id: str
    instance: InstanceSpec


def _spec(basis: Basis, role: str) -> InstanceSpec | None:
    return next((i for i in basis.spec.instances if i.role == role), None)


class _AddServerless(Step[Basis, MigrateContext, AddInputs]):
    """A db.serverless instance in the cluster, tagged with the run; its undo deletes it."""

    role = ""
    inputs = AddInputs
    permissions = ("rds:CreateDBInstance", "rds:DescribeDBInstances", "rds:AddTagsToResource")
    undo_permissions = ("rds:DeleteDBInstance",)

    def plan(self, basis: Basis) -> AddInputs | None:
        spec = _spec(basis, self.role)
        return AddInputs(basis.source.identifier, spec) if spec is not None else None

    def describe(self, inputs: AddInputs) -> str:
        i = inputs.instance
        return (
            f"add {i.identifier} ({SERVERLESS}, {i.availability_zone or 'a zone AWS picks'}, "
            f"promotion tier {i.promotion_tier}) to {inputs.cluster_id} -- can be undone: "
            "delete the instance"
        )

    def ids(self, ctx: MigrateContext, inputs: AddInputs) -> dict[str, str]:
        return {"instance": inputs.instance.identifier}

    def is_done(self, ctx: MigrateContext, inputs: AddInputs) -> bool:
        found = self._ours(ctx, inputs)
        return found is not None and rds.instance_status(found).done

    def _ours(self, ctx: MigrateContext, inputs: AddInputs) -> rds.Resource | None:
        instance_id = inputs.instance.identifier
        found = rds.find_instance(ctx.aws, instance_id)
        if found is not None:
            rds.check_owned(ctx.run_id, found, "instance", instance_id)
        return found

    def apply(self, ctx: MigrateContext, inputs: AddInputs) -> Outcome:
        i = inputs.instance
        ctx.note(self.name, {"instance": i.identifier}, None)
        if self._ours(ctx, inputs) is None:
            params = {
                "DBInstanceIdentifier": i.identifier,
                "DBClusterIdentifier": inputs.cluster_id,
                "DBInstanceClass": SERVERLESS,
                "Engine": current(ctx, inputs.cluster_id).get("Engine"),
                "PromotionTier": i.promotion_tier,
                "Tags": ctx.tags(self.role),
            }
            if i.availability_zone:
                params["AvailabilityZone"] = i.availability_zone
            rds.create(
                ctx.aws,
                f"create instance {i.identifier}",
                ctx.aws.rds().create_db_instance,
                lambda: rds.find_instance(ctx.aws, i.identifier),
                **params,
            )
            self._ours(ctx, inputs)
        waited = ctx.wait(
            self.name,
            f"instance {i.identifier}",
            lambda: {i.identifier: rds.instance_status(rds.find_instance(ctx.aws, i.identifier))},
            labels=(i.identifier,),
        )
        zone = (rds.find_instance(ctx.aws, i.identifier) or {}).get("AvailabilityZone") or "?"
        return Outcome(
            f"{i.identifier} ({SERVERLESS}) available in {zone}",
            resources={"instance": i.identifier},
            waits=(waited,),
        )

    def undo(self, ctx: MigrateContext, inputs: AddInputs) -> str:
        instance_id = inputs.instance.identifier
        found = rds.find_instance(ctx.aws, instance_id)
        if found is None:
            return f"instance {instance_id} is already gone"
        rds.check_owned(ctx.run_id, found, "instance", instance_id)
        if rds.writer_of(rds.find_cluster(ctx.aws, inputs.cluster_id)) == instance_id:
            return f"kept {instance_id}: it is the writer now"
        with contextlib.suppress(NotFound):
            ctx.aws.call(
                f"delete instance {instance_id}",
                ctx.aws.rds().delete_db_instance,
                DBInstanceIdentifier=instance_id,
                SkipFinalSnapshot=True,
            )
        return f"deleted instance {instance_id}"


class AddServerlessReaderStep(_AddServerless):
    """The db.serverless reader the failover promotes (promotion tier 0)."""

    name = "add-serverless-reader"
    role = "serverless-writer"


class AddReaderStep(_AddServerless):
    """A second db.serverless instance, in another zone: a failover target after the move."""

    name = "add-reader"
    role = "serverless-reader"


# -- failover -------------------------------------------------------------------------


@dataclass(frozen=True)
class FailoverInputs(Record):
    cluster_id: str
    target_instance: str


@dataclass(frozen=True)
class FailoverDetails(OutageDetails):
    step = "failover"


def writer_is(cluster: rds.Resource | None, instance_id: str) -> Status:
    status = rds.cluster_status(cluster)
    writer = rds.writer_of(cluster)
    if status.failed or writer == instance_id:
        return status
    return Status(f"{status.status}, writer {writer or 'none'}")


class FailoverStep(Step[Basis, MigrateContext, FailoverInputs]):
    """FailoverDBCluster to the db.serverless reader (a measured write outage)."""

    name = "failover"
    inputs = FailoverInputs
    permissions = ("rds:FailoverDBCluster", "rds:DescribeDBClusters")

    def plan(self, basis: Basis) -> FailoverInputs | None:
        spec = _spec(basis, AddServerlessReaderStep.role)
        return FailoverInputs(basis.source.identifier, spec.identifier) if spec else None

    def describe(self, inputs: FailoverInputs) -> str:
        return (
            f"fail over {inputs.cluster_id} to {inputs.target_instance} (a write outage, "
            "measured; AWS: typically under 120 s, often under 60 s) -- can be undone: "
            "fail over back to the provisioned instance until remove-provisioned"
        )

    def ids(self, ctx: MigrateContext, inputs: FailoverInputs) -> dict[str, str]:
        return {"writer": inputs.target_instance}

    def is_done(self, ctx: MigrateContext, inputs: FailoverInputs) -> bool:
        return writer_is(current(ctx, inputs.cluster_id), inputs.target_instance).done

    def apply(self, ctx: MigrateContext, inputs: FailoverInputs) -> Outcome:
        cluster_id, target = inputs.cluster_id, inputs.target_instance
        guard(ctx, self.name)
        with write_probe(ctx, cluster_id) as measured:
            cluster = current(ctx, cluster_id)
            if rds.writer_of(cluster) != target and cluster.get("Status") == "available":
                ctx.aws.call(
                    f"fail over {cluster_id} to {target}",
                    ctx.aws.rds().failover_db_cluster,
                    DBClusterIdentifier=cluster_id,
                    TargetDBInstanceIdentifier=target,
                )
            waited = ctx.wait(
                self.name,
                f"failover of {cluster_id} to {target}",
                lambda: {cluster_id: writer_is(rds.find_cluster(ctx.aws, cluster_id), target)},
                labels=(cluster_id,),
            )
        details = FailoverDetails(**measured.__dict__)
        return Outcome(
            f"{target} is the writer of {cluster_id}; write outage {shown(details)}",
            resources={"writer": target},
            details=details,
            waits=(waited,),
        )


# -- remove-provisioned ---------------------------------------------------------------


@dataclass(frozen=True)
class RemoveInputs(Record):
    cluster_id: str


def provisioned(ctx: MigrateContext, cluster_id: str) -> list[rds.Resource]:
    """The cluster's instances that are not db.serverless (those being deleted too)."""
    return [
        i for i in rds.list_instances(ctx.aws, cluster_id) if i.get("DBInstanceClass") != SERVERLESS
    ]


class RemoveProvisionedStep(Step[Basis, MigrateContext, RemoveInputs]):
    """Delete the cluster's provisioned instances, readers by then (never the writer)."""

    name = "remove-provisioned"
    inputs = RemoveInputs
    permissions = ("rds:DeleteDBInstance", "rds:DescribeDBInstances")

    def plan(self, basis: Basis) -> RemoveInputs:
        return RemoveInputs(basis.source.identifier)

    def describe(self, inputs: RemoveInputs) -> str:
        return (
            f"delete the provisioned instances of {inputs.cluster_id} (readers by now; the "
            "cluster's data stays in its volume) -- can be undone: add provisioned instances "
            "again (CreateDBInstance)"
        )

    def ids(self, ctx: MigrateContext, inputs: RemoveInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def _noted(self, ctx: MigrateContext) -> list[str]:
        if ctx.record is None:
            return []
        try:
            return ctx.record.step(self.name).resources.get("deleted", "").split(",")
        except KeyError:
            return []

    def is_done(self, ctx: MigrateContext, inputs: RemoveInputs) -> bool:
        current(ctx, inputs.cluster_id)
        return not provisioned(ctx, inputs.cluster_id)

    def apply(self, ctx: MigrateContext, inputs: RemoveInputs) -> Outcome:
        cluster_id = inputs.cluster_id
        writer = rds.writer_of(current(ctx, cluster_id))
        found = provisioned(ctx, cluster_id)
        for instance in found:
            if instance["DBInstanceIdentifier"] == writer:
                raise OperationFailed(
                    f"{writer} ({instance.get('DBInstanceClass')}) is the writer of "
                    f"{cluster_id}: fail over to a {SERVERLESS} instance first; nothing deleted"
                )
        gone = [g for g in self._noted(ctx) if g]  # an earlier attempt's, for iac
        for instance in found:
            instance_id = instance["DBInstanceIdentifier"]
            if instance.get("DBInstanceStatus") != "deleting":
                with contextlib.suppress(NotFound):
                    ctx.aws.call(
                        f"delete instance {instance_id}",
                        ctx.aws.rds().delete_db_instance,
                        DBInstanceIdentifier=instance_id,
                        SkipFinalSnapshot=True,
                    )
            gone = [*gone, instance_id] if instance_id not in gone else gone
            ctx.note(self.name, {"deleted": ",".join(gone)}, None)

        def poll() -> dict[str, Status]:
            left = provisioned(ctx, cluster_id)
            shown = ", ".join(i["DBInstanceIdentifier"] for i in left)
            return {cluster_id: Status(f"deleting {shown}" if left else "gone", done=not left)}

        waited = ctx.wait(self.name, f"provisioned instances of {cluster_id}", poll)
        summary = f"deleted {', '.join(gone)}" if gone else "no provisioned instance was left"
        return Outcome(summary, resources={"deleted": ",".join(gone)}, waits=(waited,))
