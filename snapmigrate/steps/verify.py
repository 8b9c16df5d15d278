"""Compare the source and the copy (schema, row counts, checksums)."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec

NAME = "verify"
PERMISSIONS = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue", "rds-db:connect")


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    return Step(
        NAME,
        {"source": source.identifier, "target": spec.identifier, "mode": "checksum"},
        f"verify {spec.identifier} against {source.identifier} (schema, row counts, checksums)",
    )
