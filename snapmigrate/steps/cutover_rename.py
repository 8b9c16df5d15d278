"""Cut over by renaming: the source becomes ``<source>-old-<run>``, the target
takes the source's name, and with it the endpoint host names clients use.

Which cluster is which is read from AWS, never assumed: the target carries
this run's ``snapmigrate:run-id`` tag and the ``target`` role. ``undo``
renames both back. (A rename modifies the source's identifier: the one change
to the source, besides the freeze, that snapmigrate makes, and only here.)
"""

from __future__ import annotations

from typing import Any

from snapmigrate import swap
from snapmigrate.aws import tags_of
from snapmigrate.errors import BadInput
from snapmigrate.model import TAG_ROLE, TAG_RUN_ID
from snapmigrate.steps.phase import CutoverContext
from snapmigrate.waiting import Status

NAME = "swap"
PERMISSIONS = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")
UNDO_PERMISSIONS = PERMISSIONS


def old_name(source: str, run_id: str) -> str:
    return f"{source}-old-{run_id}"


def names(ctx: CutoverContext) -> tuple[str, str, str]:
    """(source name, the source's name once renamed away, target name)."""
    source = ctx.plan.source.identifier
    return source, old_name(source, ctx.run_id), ctx.plan.target.identifier


def is_ours(ctx: CutoverContext, cluster: dict[str, Any] | None) -> bool:
    tags = tags_of(cluster or {})
    return tags.get(TAG_RUN_ID) == ctx.run_id and tags.get(TAG_ROLE) == "target"


def _available(ctx: CutoverContext, identifier: str, *, ours: bool) -> Status:
    cluster = ctx.cluster(identifier)
    if cluster is None:
        return Status("not there yet")
    if is_ours(ctx, cluster) != ours:
        return Status("another cluster")
    status = cluster.get("Status", "unknown")
    return Status(status, done=status == "available")


def _rename(ctx: CutoverContext, old: str, new: str, *, ours: bool) -> None:
    swap.rename_cluster(ctx.clients, old, new)
    ctx.wait(f"rename {old} -> {new}", lambda: {new: _available(ctx, new, ours=ours)})


def check_names(ctx: CutoverContext) -> None:
    """Bad input unless the names are as this run expects (or half way, from a crash)."""
    source, old, _ = names(ctx)
    at_old = ctx.cluster(old)
    if at_old is not None and is_ours(ctx, at_old):
        raise BadInput(f"{old} is this run's target: the clusters are in an unexpected state; run 'snapmigrate rollback {ctx.run_id}'")
    at_source = ctx.cluster(source)
    if at_old is not None and at_source is not None and not is_ours(ctx, at_source):
        raise BadInput(f"both {source} and {old} exist and neither is this run's target: a name collision; rename one away first")


def is_done(ctx: CutoverContext) -> bool:
    source, old, _ = names(ctx)
    return is_ours(ctx, ctx.cluster(source)) and ctx.cluster(old) is not None


def apply(ctx: CutoverContext) -> str:
    """Rename the source away, then the target onto its name (each waited for)."""
    source, old, target = names(ctx)
    at_source = ctx.cluster(source)
    if at_source is not None and not is_ours(ctx, at_source):
        _rename(ctx, source, old, ours=False)
    if not is_ours(ctx, ctx.cluster(source)):
        _rename(ctx, target, source, ours=True)
    return f"{source} -> {old}; {target} -> {source} (its endpoints now answer for {source})"


def undo(ctx: CutoverContext) -> str:
    """Rename back: the target to its own name, then the source to its name."""
    source, old, target = names(ctx)
    done = []
    if is_ours(ctx, ctx.cluster(source)):
        _rename(ctx, source, target, ours=True)
        done.append(f"{source} -> {target}")
    if ctx.cluster(old) is not None and ctx.cluster(source) is None:
        _rename(ctx, old, source, ours=False)
        done.append(f"{old} -> {source}")
    return "; ".join(done) + " (restored)" if done else "names already as before the cutover"
