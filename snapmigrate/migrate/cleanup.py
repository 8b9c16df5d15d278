"""Delete what a run created: its instances, its cluster, its snapshot -- by tag, nothing else.

Each migration step's ``undo`` removes its own part; :func:`undo_all` runs
them in reverse order. A resource without this run's tag stops it (exit 2)
before anything is deleted: the ownership of everything is checked first.
The cluster goes after a final snapshot unless it was declared disposable or
the user said ``--skip-final-snapshot`` (:func:`preview` says which, before
anyone is asked). Whether the run's target is live -- cut over and not rolled
back -- is the cutover's knowledge: the ``cleanup`` command refuses that first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from snapmigrate.aws import rds
from snapmigrate.errors import Interrupted, SnapmigrateError
from snapmigrate.migrate import MIGRATION, read_plan
from snapmigrate.migrate.context import MigrateContext
from snapmigrate.migrate.instances import InstancesInputs, check_instances_owned
from snapmigrate.migrate.restore import deletion_of
from snapmigrate.migrate.snapshot import SnapshotInputs, snapshot_id
from snapmigrate.workflow.journal import RunRecord

if TYPE_CHECKING:
    from snapmigrate.migrate.runner import Runner

NAME = "cleanup"
PERMISSIONS: tuple[str, ...] = tuple(
    sorted(
        {
            "rds:DescribeDBClusters",
            "rds:DescribeDBClusterSnapshots",
            *MIGRATION.undo_permissions(),
        }
    )
)


@dataclass(frozen=True)
class Removal:
    """What one step's undo did."""

    step: str
    message: str


@dataclass(frozen=True)
class CleanupPreview:
    """What ``cleanup`` will delete, decided before anyone is asked: the target (if it
    still exists), what it is to its run, and how it goes (:class:`rds.Deletion`)."""

    target: str
    role: str | None = None
    disposable: bool = False
    deletion: rds.Deletion | None = None


@dataclass(frozen=True)
class CleanupResult:
    """What ``cleanup`` removed, step by step, and the final snapshot it kept."""

    record: RunRecord
    removals: tuple[Removal, ...]
    final_snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.record.run_id,
            "state": self.record.state,
            "removed": [{"step": r.step, "message": r.message} for r in self.removals],
            "final_snapshot": self.final_snapshot,
        }


def check_all_owned(ctx: MigrateContext) -> None:
    """Refuse before deleting anything if a resource with a planned name is not ours."""
    target = ctx.plan.target.identifier
    cluster = rds.find_cluster(ctx.aws, target)
    if cluster is not None:
        rds.check_owned(ctx.run_id, cluster, "cluster", target)
        for planned in ctx.plan.steps:
            if isinstance(planned.inputs, InstancesInputs):
                check_instances_owned(ctx, planned.inputs)
    for planned in ctx.plan.steps:
        if isinstance(planned.inputs, SnapshotInputs) and not planned.inputs.reuse:
            sid = snapshot_id(ctx.plan, ctx.run_id)
            snap = rds.find_snapshot(ctx.aws, sid)
            if snap is not None:
                rds.check_owned(ctx.run_id, snap, "cluster snapshot", sid)


def undo_all(ctx: MigrateContext, *, keep_snapshot: bool = False) -> list[Removal]:
    """Undo every step of the run's plan, last step first."""
    check_all_owned(ctx)
    done: list[Removal] = []
    for planned in reversed(ctx.plan.steps):
        if keep_snapshot and isinstance(planned.inputs, SnapshotInputs):
            kept = snapshot_id(ctx.plan, ctx.run_id)
            done.append(Removal(planned.name, f"kept snapshot {kept} (--keep-snapshot)"))
            continue
        message = MIGRATION.step(planned.name).undo(ctx, planned.inputs)
        done.append(Removal(planned.name, message or "nothing to undo"))
    return done


def preview(runner: Runner, run_id: str) -> CleanupPreview:
    """How run ``run_id``'s target would be deleted now (reads AWS, changes nothing)."""
    record = runner.journal.load(run_id)
    ctx = runner.context(run_id, read_plan(record.plan), record)
    target = ctx.plan.target.identifier
    cluster = rds.find_cluster(ctx.aws, target)
    if cluster is None or not rds.is_ours(cluster, run_id):
        return CleanupPreview(target)
    _, role = rds.owner(cluster)
    return CleanupPreview(target, role, rds.is_disposable(cluster), deletion_of(ctx, cluster))


def cleanup(runner: Runner, run_id: str, *, keep_snapshot: bool = False) -> CleanupResult:
    """Delete what run ``run_id`` created (by tag), last step first; journal it."""
    journal = runner.journal
    record = journal.load(run_id)
    plan = read_plan(record.plan)
    with journal.lock(run_id):
        record = journal.load(run_id).with_event("cleanup started")
        journal.save(record)
        ctx = runner.context(run_id, plan, record)
        target = rds.find_cluster(ctx.aws, plan.target.identifier)
        deletion = deletion_of(ctx, target) if target is not None else None
        try:
            removals = undo_all(ctx, keep_snapshot=keep_snapshot)
        except KeyboardInterrupt:
            journal.save(journal.load(run_id).with_event("cleanup interrupted"))
            raise Interrupted(
                f"cleanup of run {run_id} interrupted",
                hint=f"run 'snapmigrate cleanup {run_id}' again",
            ) from None
        except SnapmigrateError as e:
            journal.save(journal.load(run_id).with_event(f"cleanup failed: {e}"))
            raise
        record = journal.load(run_id)
        for removal in removals:
            record = record.with_event(f"cleanup {removal.step}: {removal.message}")
        final = replace(record, state="cleaned", error=None)
        journal.save(final)
    kept = deletion.final_snapshot if deletion is not None else None
    return CleanupResult(final, tuple(removals), kept)
