"""What a restore cannot take: the Data API, the managed master password, Performance Insights."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec

NAME = "settings"
PERMISSIONS = ("rds:ModifyDBCluster", "rds:EnableHttpEndpoint", "secretsmanager:CreateSecret")


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    params = {
        "cluster_id": spec.identifier,
        "enable_http_endpoint": spec.enable_http_endpoint,
        "manage_master_user_password": spec.manage_master_user_password,
        "performance_insights": spec.performance_insights,
    }
    todo = [
        label
        for label, on in (
            ("enable the Data API", spec.enable_http_endpoint),
            ("manage the master password in Secrets Manager", spec.manage_master_user_password),
            ("enable Performance Insights", spec.performance_insights),
        )
        if on
    ]
    return Step(NAME, params, "; ".join(todo) if todo else "nothing to change after the restore")
