"""Create the writer and readers (db.serverless), wait for all, then probe with SELECT 1."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from snapmigrate.errors import NotFound, OperationFailed, WaitTimeout
from snapmigrate.model import InstanceSpec, SourceCluster, Step, TargetSpec, to_jsonable
from snapmigrate.steps import dataplane, resources
from snapmigrate.steps.context import Outcome, StepContext
from snapmigrate.waiting import Status, WaitResult

log = logging.getLogger(__name__)

NAME = "instances"
PERMISSIONS = (
    "rds:CreateDBInstance",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:AddTagsToResource",
    "rds:FailoverDBCluster",
    "rds:DeleteDBInstance",
    "secretsmanager:GetSecretValue",
    "rds-db:connect",
)
UNDO_PERMISSIONS = ("rds:DeleteDBInstance", "rds:DescribeDBInstances")


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    roles = [i.role for i in spec.instances]
    readers = roles.count("reader")
    bridge = " via a provisioned bridge writer (major upgrade rule)" if "bridge" in roles else ""
    return Step(
        NAME,
        {"cluster_id": spec.identifier, "instances": to_jsonable(list(spec.instances))},
        f"create 1 db.serverless writer and {readers} reader(s){bridge}; wait until available and SELECT 1",
    )


def specs(step: Step) -> tuple[InstanceSpec, ...]:
    return tuple(InstanceSpec(**i) for i in step.params["instances"])


def _split(step: Step) -> tuple[InstanceSpec | None, InstanceSpec, tuple[InstanceSpec, ...]]:
    """(bridge or None, the planned writer, every db.serverless instance, writer first)."""
    all_specs = specs(step)
    bridge = next((s for s in all_specs if s.role == "bridge"), None)
    writer = next(s for s in all_specs if s.role == "writer")
    serverless = (writer, *(s for s in all_specs if s.role == "reader"))
    return bridge, writer, serverless


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """The AWS ids this step leaves behind: ``{"writer": ..., "reader-1": ...}``."""
    _, _, serverless = _split(step)
    return {_key(step.params["cluster_id"], s): s.identifier for s in serverless}


def _writer(cluster: dict[str, Any] | None) -> str | None:
    for m in (cluster or {}).get("DBClusterMembers") or []:
        if m.get("IsClusterWriter"):
            return str(m["DBInstanceIdentifier"])
    return None


def _instance_status(inst: dict[str, Any] | None) -> Status:
    return resources.availability(inst, "instance", status_key="DBInstanceStatus")


def is_done(ctx: StepContext, step: Step) -> bool:
    """Done when every planned db.serverless instance is ours and available, the
    planned writer writes, no bridge is left, and (unless --no-connect) SELECT 1 answers."""
    cluster_id = step.params["cluster_id"]
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is None:
        return False
    resources.check_owned(ctx, cluster, "cluster", cluster_id)
    bridge, writer, serverless = _split(step)
    found = resources.instances_of(ctx, cluster_id)
    for spec in (*serverless, *([bridge] if bridge else [])):
        if spec.identifier in found:
            resources.check_owned(ctx, found[spec.identifier], "instance", spec.identifier)
    if any(not _instance_status(found.get(s.identifier)).done for s in serverless):
        return False
    if bridge is not None and bridge.identifier in found:
        return False
    if _writer(cluster) != writer.identifier:
        return False
    return not ctx.settings.connect or dataplane.select_one(ctx, cluster_id) is None


def apply(ctx: StepContext, step: Step) -> Outcome:
    """Create what is missing, wait for all together, put the planned writer in
    charge (through the bridge after a major upgrade), then probe."""
    cluster_id = step.params["cluster_id"]
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is None:
        raise OperationFailed(f"cluster {cluster_id} is gone: the restore step must run first (--resume)")
    resources.check_owned(ctx, cluster, "cluster", cluster_id)
    bridge, writer, serverless = _split(step)
    found = resources.instances_of(ctx, cluster_id)
    for spec in (*serverless, *([bridge] if bridge else [])):
        if spec.identifier in found:
            resources.check_owned(ctx, found[spec.identifier], "instance", spec.identifier)
    waits: list[WaitResult] = []
    created: list[str] = []
    if bridge is not None and writer.identifier not in found:
        # After a major upgrade the first instance must be provisioned.
        if bridge.identifier not in found:
            _create(ctx, cluster_id, bridge)
            created.append(bridge.identifier)
        waits.append(_wait_instances(ctx, cluster_id, (bridge,)))
        found = resources.instances_of(ctx, cluster_id)
    for spec in serverless:
        if spec.identifier not in found:
            _create(ctx, cluster_id, spec)
            created.append(spec.identifier)
    waits.append(_wait_instances(ctx, cluster_id, serverless))
    if _writer(resources.find_cluster(ctx, cluster_id)) != writer.identifier:
        waits.append(_fail_over(ctx, cluster_id, writer.identifier))
    if bridge is not None and bridge.identifier in resources.instances_of(ctx, cluster_id):
        waits.append(_delete(ctx, cluster_id, bridge.identifier))
    probe = _probe(ctx, cluster_id)
    if probe is not None:
        waits.append(probe)
    final = resources.instances_of(ctx, cluster_id)
    details = {
        "instances": {
            s.identifier: {
                "role": s.role,
                "class": final.get(s.identifier, {}).get("DBInstanceClass"),
                "availability_zone": final.get(s.identifier, {}).get("AvailabilityZone"),
                "status": final.get(s.identifier, {}).get("DBInstanceStatus"),
            }
            for s in serverless
        },
        "writer": writer.identifier,
        "created": created,
        "probe": "SELECT 1 answered" if probe is not None else "probe skipped (--no-connect)",
    }
    readers = len(serverless) - 1
    summary = f"{writer.identifier} (writer) and {readers} reader(s) available; " + str(details["probe"])
    return Outcome(summary, resources={_key(cluster_id, s): s.identifier for s in serverless}, details=details, waits=tuple(waits))


def _key(cluster_id: str, spec: InstanceSpec) -> str:
    """``writer``, ``reader-1``, ``bridge``: what the instance is to the run."""
    return spec.identifier.removeprefix(f"{cluster_id}-")


def _create(ctx: StepContext, cluster_id: str, spec: InstanceSpec) -> None:
    api: dict[str, Any] = {
        "DBInstanceIdentifier": spec.identifier,
        "DBClusterIdentifier": cluster_id,
        "Engine": ctx.plan.target.engine,
        "DBInstanceClass": spec.instance_class,
        "PromotionTier": spec.promotion_tier,
        "Tags": ctx.tags(spec.role),
    }
    if spec.availability_zone:
        api["AvailabilityZone"] = spec.availability_zone
    inst = resources.create(
        ctx,
        f"create instance {spec.identifier}",
        ctx.rds().create_db_instance,
        lambda: resources.find_instance(ctx, spec.identifier),
        **api,
    )
    if inst is not None and "DBInstance" not in inst:
        resources.check_owned(ctx, inst, "instance", spec.identifier)
    ctx.note(NAME, {_key(cluster_id, spec): spec.identifier}, {})


def _wait_instances(ctx: StepContext, cluster_id: str, wanted: Sequence[InstanceSpec]) -> WaitResult:
    ids = tuple(s.identifier for s in wanted)

    def poll() -> dict[str, Status]:
        found = resources.instances_of(ctx, cluster_id)
        return {i: _instance_status(found.get(i)) for i in ids}

    return ctx.wait(NAME, f"instance(s) {', '.join(ids)}", poll, labels=ids, max_delay_s=30)


def _fail_over(ctx: StepContext, cluster_id: str, writer_id: str) -> WaitResult:
    """Make the planned db.serverless writer the cluster's writer."""
    ctx.call(
        f"fail {cluster_id} over to {writer_id}",
        ctx.rds().failover_db_cluster,
        DBClusterIdentifier=cluster_id,
        TargetDBInstanceIdentifier=writer_id,
    )

    def poll() -> dict[str, Status]:
        cluster = resources.find_cluster(ctx, cluster_id)
        current = _writer(cluster)
        status = (cluster or {}).get("Status", "unknown")
        return {cluster_id: Status(f"{status}, writer {current}", done=current == writer_id and status == "available")}

    return ctx.wait(NAME, f"failover of {cluster_id} to {writer_id}", poll, labels=(cluster_id,), max_delay_s=30)


def _delete(ctx: StepContext, cluster_id: str, instance_id: str) -> WaitResult:
    inst = resources.find_instance(ctx, instance_id)
    if inst is not None:
        resources.check_owned(ctx, inst, "instance", instance_id)
        if inst.get("DBInstanceStatus") != "deleting":
            with contextlib.suppress(NotFound):
                ctx.call(f"delete instance {instance_id}", ctx.rds().delete_db_instance, DBInstanceIdentifier=instance_id)

    def poll() -> dict[str, Status]:
        found = resources.instances_of(ctx, cluster_id)
        gone = instance_id not in found
        return {instance_id: Status("deleted", done=True) if gone else _instance_status(found[instance_id])}

    return ctx.wait(NAME, f"deletion of instance {instance_id}", poll, labels=(instance_id,), max_delay_s=30)


def _probe(ctx: StepContext, cluster_id: str) -> WaitResult | None:
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
            f"the instances of {cluster_id} are available but its endpoint does not answer SELECT 1 "
            f"from here: {e}",
            hint="check the network path (--connect-map for a tunnel) and the credentials "
            "(a managed secret, PGPASSWORD or ~/.pgpass), or skip the probe with --no-connect",
        ) from e


def undo(ctx: StepContext, step: Step) -> str:
    """Delete this run's instances (and a leftover bridge) and wait until they are gone."""
    cluster_id = step.params["cluster_id"]
    found = resources.instances_of(ctx, cluster_id)
    ours = [s.identifier for s in specs(step) if s.identifier in found]
    for instance_id in ours:
        resources.check_owned(ctx, found[instance_id], "instance", instance_id)
    for instance_id in ours:
        if found[instance_id].get("DBInstanceStatus") != "deleting":
            with contextlib.suppress(NotFound):
                ctx.call(f"delete instance {instance_id}", ctx.rds().delete_db_instance, DBInstanceIdentifier=instance_id)
    if not ours:
        return "no instance of this run is left"

    def poll() -> dict[str, Status]:
        left = resources.instances_of(ctx, cluster_id)
        return {i: Status("deleted", done=True) if i not in left else _instance_status(left[i]) for i in ours}

    ctx.wait("cleanup", f"deletion of {len(ours)} instance(s)", poll, labels=tuple(ours), max_delay_s=30)
    return f"deleted {', '.join(ours)}"
