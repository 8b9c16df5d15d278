"""Major-version upgrade of the restored cluster, when the plan needs one."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec

NAME = "upgrade"
PERMISSIONS = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")


def plan(spec: TargetSpec, source: SourceCluster) -> Step | None:
    if not spec.major_upgrade:
        return None
    return Step(
        NAME,
        {
            "cluster_id": spec.identifier,
            "from_version": spec.restore_version,
            "engine_version": spec.engine_version,
            "parameter_group": spec.parameter_group,
        },
        f"upgrade {spec.identifier} from {spec.restore_version} to {spec.engine_version} "
        "(AllowMajorVersionUpgrade)",
    )
