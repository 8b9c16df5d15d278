"""Where a run's source and target are now: a rename cutover moves the source to
``<source>-old-<run id>`` and the target onto the source's name. Told by tags,
never by names alone."""

from __future__ import annotations

from snapmigrate.aws import Aws, rds
from snapmigrate.model import Plan

#: The role tag of the cluster a run restored.
TARGET_ROLE = "target"


def old_name(source: str, run_id: str) -> str:
    """The source's identifier once a rename cutover moved it away."""
    return f"{source}-old-{run_id}"


def locate(aws: Aws, plan: Plan, run_id: str) -> tuple[str | None, str | None]:
    """Where the source and the target are now (a rename moves them): their identifiers."""
    source, target = plan.source.identifier, plan.target.identifier
    old = old_name(source, run_id)
    at_source = rds.find_cluster(aws, source)
    if rds.is_ours(at_source, run_id, TARGET_ROLE):
        return (old if rds.find_cluster(aws, old) is not None else None), source
    if at_source is not None:
        where_source: str | None = source
    else:
        where_source = old if rds.find_cluster(aws, old) is not None else None
    where_target = target if rds.find_cluster(aws, target) is not None else None
    return where_source, where_target
