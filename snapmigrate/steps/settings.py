"""What a restore cannot take: the Data API, the managed master password, Performance Insights."""

from __future__ import annotations

from typing import Any

from snapmigrate.errors import OperationFailed
from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import resources
from snapmigrate.steps.context import Outcome, StepContext
from snapmigrate.steps.restore import cluster_status
from snapmigrate.waiting import Status

NAME = "settings"
PERMISSIONS = (
    "rds:ModifyDBCluster",
    "rds:EnableHttpEndpoint",
    "rds:DescribeDBClusters",
    "secretsmanager:CreateSecret",
    "secretsmanager:TagResource",
    "kms:DescribeKey",
)
UNDO_PERMISSIONS: tuple[str, ...] = ()


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


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """The AWS ids this step stands for."""
    return {"cluster": step.params["cluster_id"]}


def missing(step: Step, cluster: dict[str, Any]) -> list[str]:
    """The planned settings the cluster does not have yet."""
    p = step.params
    wanted = (
        ("data-api", p.get("enable_http_endpoint"), bool(cluster.get("HttpEndpointEnabled"))),
        ("managed-password", p.get("manage_master_user_password"), bool((cluster.get("MasterUserSecret") or {}).get("SecretArn"))),
        ("performance-insights", p.get("performance_insights"), bool(cluster.get("PerformanceInsightsEnabled"))),
    )
    return [name for name, asked, have in wanted if asked and not have]


def is_done(ctx: StepContext, step: Step) -> bool:
    """Done when our cluster has every planned setting and is available."""
    cluster = resources.owned_cluster(ctx, step.params["cluster_id"])
    if cluster is None:
        return False
    return not missing(step, cluster) and cluster.get("Status") == "available"


def apply(ctx: StepContext, step: Step) -> Outcome:
    """One ModifyDBCluster for the password and Performance Insights, EnableHttpEndpoint
    for the Data API (provisioned and v2 clusters take it only that way); then wait."""
    cluster_id = step.params["cluster_id"]
    cluster = resources.find_cluster(ctx, cluster_id)
    if cluster is None:
        raise OperationFailed(f"cluster {cluster_id} is gone: the restore step must run first (--resume)")
    resources.check_owned(ctx, cluster, "cluster", cluster_id)
    todo = missing(step, cluster)
    if not todo:
        nothing = not any(step.params.get(k) for k in ("enable_http_endpoint", "manage_master_user_password", "performance_insights"))
        return Outcome("nothing to change after the restore" if nothing else "every planned setting is already on")
    rds = ctx.rds()
    modify: dict[str, Any] = {}
    if "managed-password" in todo:
        modify["ManageMasterUserPassword"] = True
    if "performance-insights" in todo:
        modify["EnablePerformanceInsights"] = True
    if modify:
        ctx.call(f"modify {cluster_id} ({', '.join(modify)})", rds.modify_db_cluster, DBClusterIdentifier=cluster_id, ApplyImmediately=True, **modify)
    if "data-api" in todo:
        ctx.call(f"enable the Data API on {cluster_id}", rds.enable_http_endpoint, ResourceArn=cluster["DBClusterArn"])

    def poll() -> dict[str, Status]:
        found = resources.find_cluster(ctx, cluster_id)
        status = cluster_status(found)
        if found is None or status.failed:
            return {cluster_id: status}
        left = missing(step, found)
        if left:
            return {cluster_id: Status(f"{status.status}, waiting for {', '.join(left)}")}
        return {cluster_id: status}

    waited = ctx.wait(NAME, f"settings of {cluster_id}", poll, labels=(cluster_id,))
    final = resources.find_cluster(ctx, cluster_id) or {}
    details = {
        "data_api": bool(final.get("HttpEndpointEnabled")),
        "master_user_secret_arn": (final.get("MasterUserSecret") or {}).get("SecretArn"),
        "performance_insights": bool(final.get("PerformanceInsightsEnabled")),
    }
    return Outcome(f"turned on: {', '.join(todo)}", resources={"cluster": cluster_id}, details=details, waits=(waited,))


def undo(ctx: StepContext, step: Step) -> str:
    """Nothing to undo on its own: deleting the cluster (restore's undo) removes the settings."""
    return "nothing to undo: deleting the cluster removes its settings"
