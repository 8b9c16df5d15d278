"""Take a manual snapshot of the source (or reuse the one given) and wait until it is available."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from snapmigrate.errors import BadInput, NotFound
from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import dataplane, resources
from snapmigrate.steps.context import Outcome, StepContext
from snapmigrate.waiting import Status

log = logging.getLogger(__name__)

NAME = "snapshot"
ROLE = "snapshot"
PERMISSIONS = (
    "rds:CreateDBClusterSnapshot",
    "rds:DescribeDBClusterSnapshots",
    "rds:AddTagsToResource",
)
UNDO_PERMISSIONS = ("rds:DeleteDBClusterSnapshot",)


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    if spec.snapshot_identifier:
        return Step(
            NAME,
            {"source_cluster": source.identifier, "reuse": spec.snapshot_identifier},
            f"reuse snapshot {spec.snapshot_identifier}",
        )
    return Step(
        NAME,
        {"source_cluster": source.identifier, "reuse": None},
        f"snapshot {source.identifier} (manual, tagged with the run id) and wait until available",
    )


def identifier(ctx: StepContext, step: Step | None = None) -> str:
    """The snapshot the restore uses: the one given, or ``<target>-snapmigrate-<run id>``."""
    params = step.params if step is not None else _params(ctx)
    return params.get("reuse") or resources.snapshot_identifier(ctx.plan.target.identifier, ctx.run_id)


def _params(ctx: StepContext) -> dict[str, Any]:
    for s in ctx.plan.steps:
        if s.name == NAME:
            return dict(s.params)
    return {"reuse": ctx.plan.target.snapshot_identifier}


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """The AWS ids this step stands for (known from the plan and the run id)."""
    return {"snapshot": identifier(ctx, step)}


def _status(snap: dict[str, Any] | None) -> Status:
    return resources.availability(snap, "snapshot")


def is_done(ctx: StepContext, step: Step) -> bool:
    """Done when the snapshot exists, is ours (or the one given) and is available."""
    sid = identifier(ctx, step)
    snap = resources.find_snapshot(ctx, sid)
    if snap is None:
        if step.params.get("reuse"):
            raise BadInput(f"snapshot {sid} given with --snapshot no longer exists: plan again")
        return False
    if not step.params.get("reuse"):
        _check_ours(ctx, step, snap, sid)
    return snap.get("Status") == "available"


def _check_ours(ctx: StepContext, step: Step, snap: dict[str, Any], sid: str) -> None:
    """Our tag, and a snapshot of this run's source (an adopted run may name another)."""
    resources.check_owned(ctx, snap, "cluster snapshot", sid)
    of = snap.get("DBClusterIdentifier")
    if of and of != step.params["source_cluster"]:
        raise BadInput(f"snapshot {sid} of this run was taken of {of}, not of {step.params['source_cluster']}: plan again with the right source")


def apply(ctx: StepContext, step: Step) -> Outcome:
    """Request the snapshot unless this run already did, then wait until it is available."""
    sid = identifier(ctx, step)
    source_id = step.params["source_cluster"]
    details: dict[str, Any] = {}
    if step.params.get("reuse"):
        summary = f"reused snapshot {sid}"
    else:
        snap = resources.find_snapshot(ctx, sid)
        if snap is None:
            if ctx.freezer is not None:
                # Frozen first: the counters then hold every write the snapshot has.
                ctx.freezer.freeze(ctx)
            details["write_counters_before"] = dataplane.write_counters(ctx, "before the snapshot request")
            _request(ctx, source_id, sid)
            details["write_counters_after"] = dataplane.write_counters(ctx, "after the snapshot request")
            summary = f"took snapshot {sid} of {source_id}"
        else:
            _check_ours(ctx, step, snap, sid)
            log.info("snapshot %s was already requested by this run: waiting for it", sid)
            earlier = ctx.previous(NAME)
            for key in ("write_counters_before", "write_counters_after"):
                details[key] = earlier.get(key) or {
                    "captured": False,
                    "reason": "the snapshot was requested by an earlier attempt of this run that stopped before recording them",
                }
            summary = f"snapshot {sid} of {source_id} (requested by an earlier attempt of this run)"
    ctx.note(NAME, {"snapshot": sid}, details)
    waited = ctx.wait(NAME, f"snapshot {sid}", lambda: {sid: _status(resources.find_snapshot(ctx, sid))}, labels=(sid,))
    return Outcome(summary, resources={"snapshot": sid}, details=details, waits=(waited,))


def _request(ctx: StepContext, source_id: str, sid: str) -> None:
    """CreateDBClusterSnapshot of the source -- the only call that names the source."""
    try:
        created = resources.create(
            ctx,
            f"create snapshot {sid} of {source_id}",
            ctx.rds().create_db_cluster_snapshot,
            lambda: resources.find_snapshot(ctx, sid),
            DBClusterSnapshotIdentifier=sid,
            DBClusterIdentifier=source_id,
            Tags=ctx.tags(ROLE),
        )
    finally:
        if ctx.freezer is not None:
            ctx.freezer.thaw(ctx)
    snap = created.get("DBClusterSnapshot", created) if created else None
    if snap is not None and "TagList" in snap:
        resources.check_owned(ctx, snap, "cluster snapshot", sid)


def undo(ctx: StepContext, step: Step) -> str:
    """Delete the run's snapshot (never a snapshot given with --snapshot)."""
    if step.params.get("reuse"):
        return f"kept {step.params['reuse']}: it was given, not created by this run"
    sid = identifier(ctx, step)
    snap = resources.find_snapshot(ctx, sid)
    if snap is None:
        return f"snapshot {sid} is already gone"
    resources.check_owned(ctx, snap, "cluster snapshot", sid)
    with contextlib.suppress(NotFound):
        ctx.call(f"delete snapshot {sid}", ctx.rds().delete_db_cluster_snapshot, DBClusterSnapshotIdentifier=sid)
    return f"deleted snapshot {sid}"
