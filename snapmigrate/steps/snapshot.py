"""Take a manual snapshot of the source (or reuse the one given) and wait until it is available."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec

NAME = "snapshot"
PERMISSIONS = (
    "rds:CreateDBClusterSnapshot",
    "rds:DescribeDBClusterSnapshots",
    "rds:AddTagsToResource",
)


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
