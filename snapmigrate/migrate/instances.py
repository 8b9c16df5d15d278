"""Create the writer and readers (db.serverless), wait for all, then probe with SELECT 1.

``aws rds wait db-cluster-available`` returns long before the instances are
ready: every instance is waited for, then a real ``SELECT 1``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.errors import NotFound, OperationFailed, WaitTimeout
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.restore import restored_cluster
from snapmigrate.model import InstanceSpec
from snapmigrate.records import Record
from snapmigrate.waiting import Status, WaitResult
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

NAME = "instances"


@dataclass(frozen=True)
class InstancesInputs(Record):
    cluster_id: str
    instances: tuple[InstanceSpec, ...]
    #: The Serverless v2 range to set before the first db.serverless instance, when the
    #: restore could not carry it (a major upgrade: set once the bridge is in).
    scaling: Mapping[str, float | int] | None = None

    @property
    def bridge(self) -> InstanceSpec | None:
        """The provisioned writer a major upgrade needs first, if planned."""
        return next((s for s in self.instances if s.role == "bridge"), None)

    @property
    def writer(self) -> InstanceSpec:
        return next(s for s in self.instances if s.role == "writer")

    @property
    def serverless(self) -> tuple[InstanceSpec, ...]:
        """Every db.serverless instance, the writer first."""
        return (self.writer, *(s for s in self.instances if s.role == "reader"))

    def key(self, spec: InstanceSpec) -> str:
        """``writer``, ``reader-1``, ``bridge``: what the instance is to the run."""
        return spec.identifier.removeprefix(f"{self.cluster_id}-")


@dataclass(frozen=True)
class InstanceDetail(Record):
    role: str
    instance_class: str | None = None
    availability_zone: str | None = None
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "class": self.instance_class,
            "availability_zone": self.availability_zone,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> InstanceDetail:
        data = data or {}
        return cls(
            str(data.get("role", "")),
            data.get("class"),
            data.get("availability_zone"),
            data.get("status"),
        )


@dataclass(frozen=True)
class InstancesDetails(StepDetails):
    step = NAME
    always = frozenset({"writer", "probe"})

    instances: Mapping[str, InstanceDetail] = field(default_factory=dict)
    writer: str | None = None
    created: tuple[str, ...] = ()
    probe: str | None = None


class InstancesStep(Step[Basis, MigrateContext, InstancesInputs]):
    """One db.serverless writer and the readers, spread over the zones."""

    name = NAME
    inputs = InstancesInputs
    permissions = (
        "rds:CreateDBInstance",
        "rds:ModifyDBCluster",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:AddTagsToResource",
        "rds:FailoverDBCluster",
        "rds:DeleteDBInstance",
        "secretsmanager:GetSecretValue",
        "rds-db:connect",
    )
    undo_permissions = ("rds:DeleteDBInstance", "rds:DescribeDBInstances")

    def plan(self, basis: Basis) -> InstancesInputs:
        spec = basis.spec
        scaling = spec.scaling.to_api() if spec.major_upgrade else None
        return InstancesInputs(spec.identifier, spec.instances, scaling)

    def describe(self, inputs: InstancesInputs) -> str:
        readers = sum(s.role == "reader" for s in inputs.instances)
        serverless = f"create 1 db.serverless writer and {readers} reader(s)"
        steps = []
        if inputs.bridge:
            steps.append(
                f"create a provisioned {inputs.bridge.instance_class} bridge writer (the first "
                "instance after a major upgrade)"
            )
        if inputs.scaling:
            low, high = inputs.scaling["MinCapacity"], inputs.scaling["MaxCapacity"]
            steps.append(f"set the Serverless v2 range {low:g}-{high:g} ACU")
        steps.append(serverless)
        if inputs.bridge:
            steps.append("fail over to the db.serverless writer and delete the bridge")
        return "; ".join(steps) + "; wait until available and SELECT 1"

    def ids(self, ctx: MigrateContext, inputs: InstancesInputs) -> dict[str, str]:
        """``{"writer": ..., "reader-1": ...}``: the instances this step leaves behind."""
        return {inputs.key(s): s.identifier for s in inputs.serverless}

    def is_done(self, ctx: MigrateContext, inputs: InstancesInputs) -> bool:
        """Done when every planned db.serverless instance is ours and available, the
        planned writer writes, no bridge is left, and (unless --no-connect) SELECT 1 answers."""
        cluster = rds.find_cluster(ctx.aws, inputs.cluster_id)
        if cluster is None:
            return False
        rds.check_owned(ctx.run_id, cluster, "cluster", inputs.cluster_id)
        found = _ours(ctx, inputs)
        if any(not rds.instance_status(found.get(s.identifier)).done for s in inputs.serverless):
            return False
        if inputs.bridge is not None and inputs.bridge.identifier in found:
            return False
        if rds.writer_of(cluster) != inputs.writer.identifier:
            return False
        return not ctx.settings.connect or dataplane.select_one(ctx, inputs.cluster_id) is None

    def apply(self, ctx: MigrateContext, inputs: InstancesInputs) -> Outcome:
        """Create what is missing, wait for all together, put the planned writer in
        charge (through the bridge after a major upgrade), then probe."""
        cluster_id, bridge, writer = inputs.cluster_id, inputs.bridge, inputs.writer
        restored_cluster(ctx, cluster_id)
        found = _ours(ctx, inputs)
        waits: list[WaitResult] = []
        created: list[str] = []
        if bridge is not None and writer.identifier not in found:
            # After a major upgrade the first instance must be provisioned.
            if bridge.identifier not in found:
                _create(ctx, inputs, bridge)
                created.append(bridge.identifier)
            waits.append(_wait_instances(ctx, cluster_id, (bridge,)))
            found = rds.instances_of(ctx.aws, cluster_id)
        if inputs.scaling:
            waits += _set_scaling(ctx, cluster_id, inputs.scaling)
        for spec in inputs.serverless:
            if spec.identifier not in found:
                _create(ctx, inputs, spec)
                created.append(spec.identifier)
        waits.append(_wait_instances(ctx, cluster_id, inputs.serverless))
        if rds.writer_of(rds.find_cluster(ctx.aws, cluster_id)) != writer.identifier:
            waits.append(_fail_over(ctx, cluster_id, writer.identifier))
        if bridge is not None and bridge.identifier in rds.instances_of(ctx.aws, cluster_id):
            waits.append(_delete(ctx, cluster_id, bridge.identifier))
        probe = _probe(ctx, cluster_id)
        if probe is not None:
            waits.append(probe)
        final = rds.instances_of(ctx.aws, cluster_id)
        details = InstancesDetails(
            instances={
                s.identifier: InstanceDetail(
                    s.role,
                    final.get(s.identifier, {}).get("DBInstanceClass"),
                    final.get(s.identifier, {}).get("AvailabilityZone"),
                    final.get(s.identifier, {}).get("DBInstanceStatus"),
                )
                for s in inputs.serverless
            },
            writer=writer.identifier,
            created=tuple(created),
            probe="SELECT 1 answered" if probe is not None else "probe skipped (--no-connect)",
        )
        readers = len(inputs.serverless) - 1
        summary = f"{writer.identifier} (writer) and {readers} reader(s) available; {details.probe}"
        return Outcome(
            summary, resources=self.ids(ctx, inputs), details=details, waits=tuple(waits)
        )

    def undo(self, ctx: MigrateContext, inputs: InstancesInputs) -> str:
        """Delete this run's instances (and a leftover bridge) and wait until they are gone."""
        cluster_id = inputs.cluster_id
        found = _ours(ctx, inputs)
        ours = [s.identifier for s in inputs.instances if s.identifier in found]
        for instance_id in ours:
            if found[instance_id].get("DBInstanceStatus") != "deleting":
                _request_delete(ctx, instance_id)
        if not ours:
            return "no instance of this run is left"

        def poll() -> dict[str, Status]:
            left = rds.instances_of(ctx.aws, cluster_id)
            return {i: _gone_or(left.get(i)) for i in ours}

        what = f"deletion of {len(ours)} instance(s)"
        ctx.wait("cleanup", what, poll, labels=tuple(ours), max_delay_s=30)
        return f"deleted {', '.join(ours)}"


def check_instances_owned(ctx: MigrateContext, inputs: InstancesInputs) -> None:
    """Refuse (exit 2) before any change when a planned instance name is not ours."""
    _ours(ctx, inputs)


def _ours(ctx: MigrateContext, inputs: InstancesInputs) -> dict[str, rds.Resource]:
    """The cluster's instances by id, every planned one checked to be this run's."""
    found = rds.instances_of(ctx.aws, inputs.cluster_id)
    for spec in inputs.instances:
        if spec.identifier in found:
            rds.check_owned(ctx.run_id, found[spec.identifier], "instance", spec.identifier)
    return found


def _gone_or(instance: rds.Resource | None) -> Status:
    return Status("deleted", done=True) if instance is None else rds.instance_status(instance)


def _create(ctx: MigrateContext, inputs: InstancesInputs, spec: InstanceSpec) -> None:
    api: dict[str, Any] = {
        "DBInstanceIdentifier": spec.identifier,
        "DBClusterIdentifier": inputs.cluster_id,
        "Engine": ctx.plan.target.engine,
        "DBInstanceClass": spec.instance_class,
        "PromotionTier": spec.promotion_tier,
        "Tags": ctx.tags(spec.role),
    }
    if spec.availability_zone:
        api["AvailabilityZone"] = spec.availability_zone
    inst = rds.create(
        ctx.aws,
        f"create instance {spec.identifier}",
        ctx.aws.rds().create_db_instance,
        lambda: rds.find_instance(ctx.aws, spec.identifier),
        **api,
    )
    if inst is not None and "DBInstance" not in inst:
        rds.check_owned(ctx.run_id, inst, "instance", spec.identifier)
    ctx.note(NAME, {inputs.key(spec): spec.identifier}, None)


def _wait_instances(
    ctx: MigrateContext, cluster_id: str, wanted: tuple[InstanceSpec, ...]
) -> WaitResult:
    ids = tuple(s.identifier for s in wanted)

    def poll() -> dict[str, Status]:
        found = rds.instances_of(ctx.aws, cluster_id)
        return {i: rds.instance_status(found.get(i)) for i in ids}

    what = f"instance(s) {', '.join(ids)}"
    return ctx.wait(NAME, what, poll, labels=ids, max_delay_s=30)


def _set_scaling(
    ctx: MigrateContext, cluster_id: str, scaling: Mapping[str, float | int]
) -> list[WaitResult]:
    """The Serverless v2 range on the cluster (once), waited for: after a major upgrade
    it comes after the provisioned first instance and before any db.serverless one.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
    """
    wanted = {k: float(v) for k, v in scaling.items()}

    def has(cluster: rds.Resource | None) -> bool:
        found = (cluster or {}).get("ServerlessV2ScalingConfiguration") or {}
        return all(float(found.get(k, -1)) == v for k, v in wanted.items())

    if has(rds.find_cluster(ctx.aws, cluster_id)):
        return []
    ctx.aws.call(
        f"set the Serverless v2 range of {cluster_id}",
        ctx.aws.rds().modify_db_cluster,
        DBClusterIdentifier=cluster_id,
        ServerlessV2ScalingConfiguration=dict(scaling),
        ApplyImmediately=True,
    )

    def poll() -> dict[str, Status]:
        cluster = rds.find_cluster(ctx.aws, cluster_id)
        status = rds.cluster_status(cluster)
        if status.failed or not status.done:
            return {cluster_id: status}
        return {cluster_id: status if has(cluster) else Status("waiting for the range")}

    what = f"Serverless v2 range of {cluster_id}"
    return [ctx.wait(NAME, what, poll, labels=(cluster_id,), max_delay_s=30)]


def _fail_over(ctx: MigrateContext, cluster_id: str, writer_id: str) -> WaitResult:
    """Make the planned db.serverless writer the cluster's writer."""
    ctx.aws.call(
        f"fail {cluster_id} over to {writer_id}",
        ctx.aws.rds().failover_db_cluster,
        DBClusterIdentifier=cluster_id,
        TargetDBInstanceIdentifier=writer_id,
    )

    def poll() -> dict[str, Status]:
        cluster = rds.find_cluster(ctx.aws, cluster_id)
        current = rds.writer_of(cluster)
        seen = rds.cluster_status(cluster)
        done = current == writer_id and seen.done
        return {cluster_id: Status(f"{seen.status}, writer {current}", done, seen.failed)}

    what = f"failover of {cluster_id} to {writer_id}"
    return ctx.wait(NAME, what, poll, labels=(cluster_id,), max_delay_s=30)


def _request_delete(ctx: MigrateContext, instance_id: str) -> None:
    with contextlib.suppress(NotFound):
        ctx.aws.call(
            f"delete instance {instance_id}",
            ctx.aws.rds().delete_db_instance,
            DBInstanceIdentifier=instance_id,
        )


def _delete(ctx: MigrateContext, cluster_id: str, instance_id: str) -> WaitResult:
    inst = rds.find_instance(ctx.aws, instance_id)
    if inst is not None:
        rds.check_owned(ctx.run_id, inst, "instance", instance_id)
        if inst.get("DBInstanceStatus") != "deleting":
            _request_delete(ctx, instance_id)

    def poll() -> dict[str, Status]:
        return {instance_id: _gone_or(rds.instances_of(ctx.aws, cluster_id).get(instance_id))}

    what = f"deletion of instance {instance_id}"
    return ctx.wait(NAME, what, poll, labels=(instance_id,), max_delay_s=30)


def _probe(ctx: MigrateContext, cluster_id: str) -> WaitResult | None:
    """Wait until the writer endpoint answers SELECT 1 (None with --no-connect)."""
    if not ctx.settings.connect:
        log.info("probe skipped (--no-connect): %s is not checked with SELECT 1", cluster_id)
        return None
    label = f"{cluster_id} SELECT 1"

    def poll() -> dict[str, Status]:
        reason = dataplane.select_one(ctx, cluster_id)
        if reason is None:
            return {label: Status("answers", done=True)}
        if dataplane.is_fatal(reason):
            return {label: Status("refused", failed=reason)}
        return {label: Status(f"not answering yet: {reason}")}

    try:
        return ctx.wait("probe", f"SELECT 1 on {cluster_id}", poll, labels=(label,), max_delay_s=15)
    except (WaitTimeout, OperationFailed) as e:
        raise OperationFailed(
            f"the instances of {cluster_id} are available but its endpoint does not answer "
            f"SELECT 1 from here: {e}",
            hint="check the network path (--connect-map for a tunnel) and the credentials "
            "(a managed secret, PGPASSWORD or ~/.pgpass), or skip the probe with --no-connect",
        ) from e
