"""Take a manual snapshot of the source (or reuse the one given) and wait until it is available."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace

from snapmigrate.aws import rds
from snapmigrate.db.freeze import FreezeRecord
from snapmigrate.errors import BadInput, NotFound
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.dataplane import CounterCapture
from snapmigrate.model import Plan
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

NAME = "snapshot"
ROLE = "snapshot"
EARLIER_ATTEMPT = (
    "the snapshot was requested by an earlier attempt of this run that stopped before "
    "recording them"
)


@dataclass(frozen=True)
class SnapshotInputs(Record):
    """The source to snapshot, or the snapshot to reuse (``--snapshot``)."""

    source_cluster: str
    reuse: str | None = None


@dataclass(frozen=True)
class SnapshotDetails(StepDetails):
    """The source's write counters around the snapshot request (what the copy
    may miss), and the freeze ``--freeze-before-snapshot`` made."""

    step = NAME

    write_counters_before: CounterCapture | None = None
    write_counters_after: CounterCapture | None = None
    freeze: FreezeRecord | None = None


def snapshot_id(plan: Plan, run_id: str) -> str:
    """The snapshot the restore uses: the one given, or ``<target>-snapmigrate-<run id>``
    (within RDS's rules: letter first, no ``--``, at most 255 characters)."""
    for planned in plan.steps:
        if isinstance(planned.inputs, SnapshotInputs) and planned.inputs.reuse:
            return planned.inputs.reuse
    return plan.target.snapshot_identifier or f"{plan.target.identifier}-snapmigrate-{run_id}"


class SnapshotStep(Step[Basis, MigrateContext, SnapshotInputs]):
    """A manual snapshot of the source, tagged with the run id; the only call
    that names the source."""

    name = NAME
    inputs = SnapshotInputs
    permissions = (
        "rds:CreateDBClusterSnapshot",
        "rds:DescribeDBClusterSnapshots",
        "rds:AddTagsToResource",
    )
    undo_permissions = ("rds:DeleteDBClusterSnapshot",)

    def plan(self, basis: Basis) -> SnapshotInputs:
        return SnapshotInputs(basis.source.identifier, basis.spec.snapshot_identifier)

    def describe(self, inputs: SnapshotInputs) -> str:
        if inputs.reuse:
            return f"reuse snapshot {inputs.reuse}"
        return (
            f"snapshot {inputs.source_cluster} (manual, tagged with the run id) "
            "and wait until available"
        )

    def ids(self, ctx: MigrateContext, inputs: SnapshotInputs) -> dict[str, str]:
        return {"snapshot": snapshot_id(ctx.plan, ctx.run_id)}

    def is_done(self, ctx: MigrateContext, inputs: SnapshotInputs) -> bool:
        """Done when the snapshot exists, is ours (or the one given) and is available."""
        sid = snapshot_id(ctx.plan, ctx.run_id)
        snap = rds.find_snapshot(ctx.aws, sid)
        if snap is None:
            if inputs.reuse:
                raise BadInput(f"snapshot {sid} given with --snapshot no longer exists: plan again")
            return False
        if not inputs.reuse:
            _check_ours(ctx, inputs, snap, sid)
        return snap.get("Status") == "available"

    def apply(self, ctx: MigrateContext, inputs: SnapshotInputs) -> Outcome:
        """Request the snapshot unless this run already did, then wait until it is available."""
        sid = snapshot_id(ctx.plan, ctx.run_id)
        source_id = inputs.source_cluster
        details = ctx.details(SnapshotDetails)
        if inputs.reuse:
            summary = f"reused snapshot {sid}"
        else:
            snap = rds.find_snapshot(ctx.aws, sid)
            if snap is None:
                if ctx.freezer is not None:
                    # Frozen first: the counters then hold every write the snapshot has.
                    ctx.freezer.freeze(ctx)
                    details = ctx.details(SnapshotDetails)
                before = dataplane.write_counters(ctx, "before the snapshot request")
                _request(ctx, source_id, sid)
                after = dataplane.write_counters(ctx, "after the snapshot request")
                details = replace(details, write_counters_before=before, write_counters_after=after)
                summary = f"took snapshot {sid} of {source_id}"
            else:
                _check_ours(ctx, inputs, snap, sid)
                log.info("snapshot %s was already requested by this run: waiting for it", sid)
                missing = CounterCapture(reason=EARLIER_ATTEMPT)
                details = replace(
                    details,
                    write_counters_before=details.write_counters_before or missing,
                    write_counters_after=details.write_counters_after or missing,
                )
                summary = (
                    f"snapshot {sid} of {source_id} (requested by an earlier attempt of this run)"
                )
        ctx.note(NAME, {"snapshot": sid}, details)
        waited = ctx.wait(
            NAME,
            f"snapshot {sid}",
            lambda: {sid: rds.snapshot_status(rds.find_snapshot(ctx.aws, sid))},
            labels=(sid,),
        )
        return Outcome(summary, resources={"snapshot": sid}, details=details, waits=(waited,))

    def undo(self, ctx: MigrateContext, inputs: SnapshotInputs) -> str:
        """Delete the run's snapshot (never a snapshot given with --snapshot)."""
        if inputs.reuse:
            return f"kept {inputs.reuse}: it was given, not created by this run"
        sid = snapshot_id(ctx.plan, ctx.run_id)
        snap = rds.find_snapshot(ctx.aws, sid)
        if snap is None:
            return f"snapshot {sid} is already gone"
        rds.check_owned(ctx.run_id, snap, "cluster snapshot", sid)
        with contextlib.suppress(NotFound):
            ctx.aws.call(
                f"delete snapshot {sid}",
                ctx.aws.rds().delete_db_cluster_snapshot,
                DBClusterSnapshotIdentifier=sid,
            )
        return f"deleted snapshot {sid}"


def _check_ours(ctx: MigrateContext, inputs: SnapshotInputs, snap: rds.Resource, sid: str) -> None:
    """Our tag, and a snapshot of this run's source (an adopted run may name another)."""
    rds.check_owned(ctx.run_id, snap, "cluster snapshot", sid)
    of = snap.get("DBClusterIdentifier")
    if of and of != inputs.source_cluster:
        raise BadInput(
            f"snapshot {sid} of this run was taken of {of}, not of {inputs.source_cluster}: "
            "plan again with the right source"
        )


def _request(ctx: MigrateContext, source_id: str, sid: str) -> None:
    """CreateDBClusterSnapshot of the source -- the only call that names the source."""
    try:
        snap = rds.create_snapshot(ctx.aws, source_id, sid, ctx.tags(ROLE))
    finally:
        if ctx.freezer is not None:
            ctx.freezer.thaw(ctx)
    if snap is not None and "TagList" in snap:
        rds.check_owned(ctx.run_id, snap, "cluster snapshot", sid)
