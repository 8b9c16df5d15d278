"""Delete what a run created: its instances, its cluster, its snapshot -- by tag, nothing else.

Each migration step's ``undo`` removes its own part; this runs them in
reverse order. A resource without this run's tag stops it (exit 2) before
anything is deleted: the ownership of everything is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapmigrate.steps import MIGRATION, resources
from snapmigrate.steps import instances as instances_step
from snapmigrate.steps import snapshot as snapshot_step
from snapmigrate.steps.context import StepContext

NAME = "cleanup"
PERMISSIONS: tuple[str, ...] = tuple(
    sorted({"rds:DescribeDBClusters", "rds:DescribeDBClusterSnapshots", *(p for m in MIGRATION for p in m.UNDO_PERMISSIONS)})
)


@dataclass(frozen=True)
class Removal:
    """What one step's undo did."""

    step: str
    message: str


def check_all_owned(ctx: StepContext) -> None:
    """Refuse before deleting anything if a resource with a planned name is not ours."""
    target = ctx.plan.target.identifier
    cluster = resources.find_cluster(ctx, target)
    if cluster is not None:
        resources.check_owned(ctx, cluster, "cluster", target)
        found = resources.instances_of(ctx, target)
        for step in ctx.plan.steps:
            if step.name == instances_step.NAME:
                for spec in instances_step.specs(step):
                    if spec.identifier in found:
                        resources.check_owned(ctx, found[spec.identifier], "instance", spec.identifier)
    for step in ctx.plan.steps:
        if step.name == snapshot_step.NAME and not step.params.get("reuse"):
            sid = snapshot_step.identifier(ctx, step)
            snap = resources.find_snapshot(ctx, sid)
            if snap is not None:
                resources.check_owned(ctx, snap, "cluster snapshot", sid)


def undo_all(ctx: StepContext, *, keep_snapshot: bool = False) -> list[Removal]:
    """Undo every step of the run's plan, last step first."""
    check_all_owned(ctx)
    modules = {m.NAME: m for m in MIGRATION}
    done: list[Removal] = []
    for step in reversed(ctx.plan.steps):
        if keep_snapshot and step.name == snapshot_step.NAME:
            done.append(Removal(step.name, f"kept snapshot {snapshot_step.identifier(ctx, step)} (--keep-snapshot)"))
            continue
        done.append(Removal(step.name, modules[step.name].undo(ctx, step)))
    return done
