"""The in-place path's steps on the cluster itself: the safety snapshot, the conversion
from Serverless v1 to provisioned, the upgrade a version without Serverless v2 needs,
and the Serverless v2 capacity range.

AWS's procedure: "Upgrading from Aurora Serverless v1 to Aurora Serverless v2
involves creating a provisioned cluster as an intermediate step. Then you perform
the same upgrade steps as when you start with a provisioned cluster."
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
Each step's plan line says what can be undone once it ran (``describe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.errors import BadInput, NotFound
from snapmigrate.inplace.probe import OutageDetails, guard, shown, write_probe
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.upgrade import UpgradeInputs, reached, upgraded
from snapmigrate.model import V2Scaling
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome, Step

V1 = "serverless"
ROLE = "safety-snapshot"
#: What the irreversible steps (convert, upgrade) answer to an undo.
NO_UNDO = "cannot be undone: restore the safety snapshot as a new cluster to go back"


def current(ctx: MigrateContext, cluster_id: str) -> rds.Resource:
    """The cluster (in place: the source itself), or bad input when it is gone."""
    cluster = rds.find_cluster(ctx.aws, cluster_id)
    if cluster is None:
        raise NotFound(f"cluster {cluster_id} is gone: nothing to change in place")
    return cluster


def wait_cluster(
    ctx: MigrateContext, step: str, cluster_id: str, what: str, done: Any = None
) -> Any:
    """Wait until the cluster is available (and ``done(cluster)``, when given)."""

    def poll() -> dict[str, Status]:
        cluster = rds.find_cluster(ctx.aws, cluster_id)
        status = rds.cluster_status(cluster)
        if status.done and done is not None and not done(cluster):
            status = Status(f"{status.status}, not yet {what}")
        return {cluster_id: status}

    return ctx.wait(step, f"{what}: {cluster_id}", poll, labels=(cluster_id,))


# -- safety-snapshot ------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyInputs(Record):
    cluster_id: str


def safety_snapshot_id(cluster_id: str, run_id: str) -> str:
    return f"{cluster_id}-before-in-place-{run_id}"


class SafetySnapshotStep(Step[Basis, MigrateContext, SafetyInputs]):
    """snapmigrate's own manual snapshot before anything irreversible: the way back."""

    name = "safety-snapshot"
    inputs = SafetyInputs
    permissions = (
        "rds:CreateDBClusterSnapshot",
        "rds:DescribeDBClusterSnapshots",
        "rds:AddTagsToResource",
    )

    def plan(self, basis: Basis) -> SafetyInputs:
        return SafetyInputs(basis.source.identifier)

    def describe(self, inputs: SafetyInputs) -> str:
        return (
            f"snapshot {inputs.cluster_id} (manual, tagged with the run id) -- the way back "
            "from every later step is a restore of it; it is kept"
        )

    def ids(self, ctx: MigrateContext, inputs: SafetyInputs) -> dict[str, str]:
        return {"snapshot": safety_snapshot_id(inputs.cluster_id, ctx.run_id)}

    def is_done(self, ctx: MigrateContext, inputs: SafetyInputs) -> bool:
        sid = safety_snapshot_id(inputs.cluster_id, ctx.run_id)
        snap = rds.find_snapshot(ctx.aws, sid)
        if snap is None:
            return False
        rds.check_owned(ctx.run_id, snap, "cluster snapshot", sid)
        return snap.get("Status") == "available"

    def apply(self, ctx: MigrateContext, inputs: SafetyInputs) -> Outcome:
        sid = safety_snapshot_id(inputs.cluster_id, ctx.run_id)
        ctx.note(self.name, {"snapshot": sid}, None)
        found = rds.find_snapshot(ctx.aws, sid)
        if found is None:  # else an earlier attempt of this run requested it
            found = rds.create_snapshot(ctx.aws, inputs.cluster_id, sid, ctx.tags(ROLE))
        rds.check_owned(ctx.run_id, found or {}, "cluster snapshot", sid)
        waited = ctx.wait(
            self.name,
            f"snapshot {sid}",
            lambda: {sid: rds.snapshot_status(rds.find_snapshot(ctx.aws, sid))},
            labels=(sid,),
        )
        summary = f"took snapshot {sid} of {inputs.cluster_id} (kept: the way back)"
        return Outcome(summary, resources={"snapshot": sid}, waits=(waited,))

    def undo(self, ctx: MigrateContext, inputs: SafetyInputs) -> str:
        sid = safety_snapshot_id(inputs.cluster_id, ctx.run_id)
        return f"kept snapshot {sid}: it is the way back to the cluster as it was"


# -- convert --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvertInputs(Record):
    cluster_id: str
    instance_class: str


@dataclass(frozen=True)
class ConvertDetails(OutageDetails):
    step = "convert"


def converted(cluster: rds.Resource | None) -> bool:
    return (
        bool(cluster) and (cluster or {}).get("EngineMode") != V1 and bool(rds.writer_of(cluster))
    )


class ConvertStep(Step[Basis, MigrateContext, ConvertInputs]):
    """Serverless v1 to provisioned: "applied immediately, and can't be undone";
    AWS takes its own pre-modify-engine-mode snapshot and the writer restarts once.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.modifying.html#aurora-serverless.modifying.convert
    """

    name = "convert"
    inputs = ConvertInputs
    permissions = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")

    def plan(self, basis: Basis) -> ConvertInputs | None:
        if basis.source.engine_mode != V1:
            return None
        return ConvertInputs(basis.source.identifier, basis.spec.interim_class or "")

    def describe(self, inputs: ConvertInputs) -> str:
        return (
            f"convert {inputs.cluster_id} from Serverless v1 to provisioned with a "
            f"{inputs.instance_class} writer (ModifyDBCluster AllowEngineModeChange; a short "
            "write outage, measured) -- CANNOT be undone: AWS has no way back to v1; "
            "the way back is a restore of the safety snapshot as a new cluster"
        )

    def ids(self, ctx: MigrateContext, inputs: ConvertInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: ConvertInputs) -> bool:
        cluster = current(ctx, inputs.cluster_id)
        return converted(cluster) and rds.cluster_status(cluster).done

    def apply(self, ctx: MigrateContext, inputs: ConvertInputs) -> Outcome:
        cluster_id = inputs.cluster_id
        guard(ctx, self.name)
        with write_probe(ctx, cluster_id) as measured:
            cluster = current(ctx, cluster_id)
            if cluster.get("EngineMode") == V1 and cluster.get("Status") == "available":
                ctx.aws.call(
                    f"convert {cluster_id} to provisioned",
                    ctx.aws.rds().modify_db_cluster,
                    DBClusterIdentifier=cluster_id,
                    EngineMode="provisioned",
                    AllowEngineModeChange=True,
                    DBClusterInstanceClass=inputs.instance_class,
                )
            waited = wait_cluster(ctx, self.name, cluster_id, "provisioned", converted)
        writer = rds.writer_of(rds.find_cluster(ctx.aws, cluster_id)) or "?"
        details = ConvertDetails(**measured.__dict__)
        return Outcome(
            f"converted {cluster_id} to provisioned (writer {writer}); write outage "
            f"{shown(details)}",
            resources={"cluster": cluster_id, "writer": writer},
            details=details,
            waits=(waited,),
        )

    def undo(self, ctx: MigrateContext, inputs: ConvertInputs) -> str:
        return NO_UNDO


# -- upgrade --------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeOutage(OutageDetails):
    step = "upgrade"


class InPlaceUpgradeStep(Step[Basis, MigrateContext, UpgradeInputs]):
    """The version Serverless v2 needs, reached in place (the AWS upgrade-paths table)."""

    name = "upgrade"
    inputs = UpgradeInputs
    permissions = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")

    def plan(self, basis: Basis) -> UpgradeInputs | None:
        spec = basis.spec
        if reached(basis.source.engine_version, spec.engine_version):
            return None
        return UpgradeInputs(
            spec.identifier, basis.source.engine_version, spec.engine_version,
            spec.parameter_group,
        )  # fmt: skip

    def describe(self, inputs: UpgradeInputs) -> str:
        return (
            f"upgrade {inputs.cluster_id} from {inputs.from_version} to "
            f"{inputs.engine_version} (the writer restarts: a write outage, measured) -- "
            "CANNOT be undone: "
            "the way back is a restore of the safety snapshot"
        )

    def ids(self, ctx: MigrateContext, inputs: UpgradeInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: UpgradeInputs) -> bool:
        return upgraded(current(ctx, inputs.cluster_id), inputs.engine_version).done

    def apply(self, ctx: MigrateContext, inputs: UpgradeInputs) -> Outcome:
        cluster_id, version = inputs.cluster_id, inputs.engine_version
        guard(ctx, self.name)
        with write_probe(ctx, cluster_id) as measured:
            cluster = current(ctx, cluster_id)
            busy = cluster.get("Status") in ("upgrading", "modifying")
            if not reached(cluster.get("EngineVersion"), version) and not busy:
                major = version.split(".")[0] != inputs.from_version.split(".")[0]
                ctx.aws.call(
                    f"upgrade {cluster_id} to {version}",
                    ctx.aws.rds().modify_db_cluster,
                    DBClusterIdentifier=cluster_id,
                    EngineVersion=version,
                    AllowMajorVersionUpgrade=major,
                    ApplyImmediately=True,
                )
            waited = ctx.wait(
                self.name,
                f"upgrade of {cluster_id} to {version}",
                lambda: {cluster_id: upgraded(rds.find_cluster(ctx.aws, cluster_id), version)},
                labels=(cluster_id,),
            )
        details = UpgradeOutage(**measured.__dict__)
        return Outcome(
            f"upgraded {cluster_id} from {inputs.from_version} to {version}; write outage "
            f"{shown(details)}",
            resources={"cluster": cluster_id},
            details=details,
            waits=(waited,),
        )

    def undo(self, ctx: MigrateContext, inputs: UpgradeInputs) -> str:
        return NO_UNDO


# -- scaling --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingInputs(Record):
    cluster_id: str
    scaling: V2Scaling


def _range(inputs: ScalingInputs) -> str:
    return f"{inputs.scaling.min_capacity:g}-{inputs.scaling.max_capacity:g}"


def scaled(cluster: rds.Resource | None, inputs: ScalingInputs) -> bool:
    found = (cluster or {}).get("ServerlessV2ScalingConfiguration") or {}
    return (
        float(found.get("MinCapacity", -1)) == inputs.scaling.min_capacity
        and float(found.get("MaxCapacity", -1)) == inputs.scaling.max_capacity
    )


class ScalingStep(Step[Basis, MigrateContext, ScalingInputs]):
    """The Serverless v2 range, which "must exist before you can add any DB instances
    that use the db.serverless DB instance class":
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.requirements.html
    """

    name = "scaling"
    inputs = ScalingInputs
    permissions = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")

    def plan(self, basis: Basis) -> ScalingInputs:
        return ScalingInputs(basis.source.identifier, basis.spec.scaling)

    def describe(self, inputs: ScalingInputs) -> str:
        return (
            f"set the Serverless v2 range of {inputs.cluster_id} to {_range(inputs)} ACU (no "
            "restart) -- can be changed again at any time"
        )

    def ids(self, ctx: MigrateContext, inputs: ScalingInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: ScalingInputs) -> bool:
        cluster = current(ctx, inputs.cluster_id)
        return scaled(cluster, inputs) and rds.cluster_status(cluster).done

    def apply(self, ctx: MigrateContext, inputs: ScalingInputs) -> Outcome:
        cluster_id = inputs.cluster_id
        if current(ctx, cluster_id).get("EngineMode") == V1:
            raise BadInput(f"{cluster_id} is still Serverless v1: the convert step comes first")
        ctx.aws.call(
            f"set the Serverless v2 range of {cluster_id}",
            ctx.aws.rds().modify_db_cluster,
            DBClusterIdentifier=cluster_id,
            ServerlessV2ScalingConfiguration=inputs.scaling.to_api(),
            ApplyImmediately=True,
        )
        waited = wait_cluster(ctx, self.name, cluster_id, "scaled", lambda c: scaled(c, inputs))
        return Outcome(
            f"Serverless v2 range {_range(inputs)} ACU",
            resources={"cluster": cluster_id},
            waits=(waited,),
        )
