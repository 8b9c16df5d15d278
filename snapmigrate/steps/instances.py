"""Create the writer and readers (db.serverless), wait for all, then probe with SELECT 1."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec, to_jsonable

NAME = "instances"
PERMISSIONS = (
    "rds:CreateDBInstance",
    "rds:DescribeDBInstances",
    "rds:AddTagsToResource",
    "rds:FailoverDBCluster",
    "rds:DeleteDBInstance",
)


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    roles = [i.role for i in spec.instances]
    readers = roles.count("reader")
    bridge = " via a provisioned bridge writer (major upgrade rule)" if "bridge" in roles else ""
    return Step(
        NAME,
        {"cluster_id": spec.identifier, "instances": to_jsonable(list(spec.instances))},
        f"create 1 db.serverless writer and {readers} reader(s){bridge}; wait until available and SELECT 1",
    )
