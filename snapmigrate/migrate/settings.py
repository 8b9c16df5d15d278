"""What a restore cannot take: the Data API, the managed master password, Performance Insights.

Restore does not take ``ManageMasterUserPassword``; provisioned and v2
clusters get the Data API only through ``EnableHttpEndpoint``:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html
One change at a time: ``EnableHttpEndpoint`` right after a ``ModifyDBCluster``
meets the cluster ``modifying`` (``InvalidResourceStateFault``), so the step
waits for ``available`` in between. The managed password is there when its
secret is ``active``, not when an ARN appears (``SecretStatus`` ``creating``):
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_MasterUserSecret.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.restore import owned_cluster, restored_cluster
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

NAME = "settings"


@dataclass(frozen=True)
class SettingsInputs(Record):
    cluster_id: str
    enable_http_endpoint: bool = False
    manage_master_user_password: bool = False
    performance_insights: bool = False

    @property
    def wanted(self) -> tuple[tuple[str, str, bool], ...]:
        """(setting, what turning it on says, planned) for each setting."""
        return (
            ("data-api", "enable the Data API", self.enable_http_endpoint),
            (
                "managed-password",
                "manage the master password in Secrets Manager",
                self.manage_master_user_password,
            ),
            ("performance-insights", "enable Performance Insights", self.performance_insights),
        )


@dataclass(frozen=True)
class SettingsDetails(StepDetails):
    step = NAME
    always = frozenset({"data_api", "master_user_secret_arn", "performance_insights"})

    data_api: bool | None = None
    master_user_secret_arn: str | None = None
    performance_insights: bool | None = None


def secret_status(cluster: rds.Resource) -> str | None:
    """The managed master secret's ``SecretStatus`` (None when there is no secret)."""
    secret = cluster.get("MasterUserSecret") or {}
    return str(secret.get("SecretStatus") or "creating") if secret.get("SecretArn") else None


def _has(cluster: rds.Resource) -> dict[str, bool]:
    return {
        "data-api": bool(cluster.get("HttpEndpointEnabled")),
        "managed-password": secret_status(cluster) in ("active", "rotating"),
        "performance-insights": bool(cluster.get("PerformanceInsightsEnabled")),
    }


def missing(inputs: SettingsInputs, cluster: rds.Resource) -> list[str]:
    """The planned settings the cluster does not have yet."""
    have = _has(cluster)
    return [name for name, _, asked in inputs.wanted if asked and not have[name]]


class SettingsStep(Step[Basis, MigrateContext, SettingsInputs]):
    """The settings turned on after the restore, then waited for."""

    name = NAME
    inputs = SettingsInputs
    permissions = (
        "rds:ModifyDBCluster",
        "rds:EnableHttpEndpoint",
        "rds:DescribeDBClusters",
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "kms:DescribeKey",
    )

    def plan(self, basis: Basis) -> SettingsInputs:
        spec = basis.spec
        return SettingsInputs(
            spec.identifier,
            spec.enable_http_endpoint,
            spec.manage_master_user_password,
            spec.performance_insights,
        )

    def describe(self, inputs: SettingsInputs) -> str:
        todo = [label for _, label, on in inputs.wanted if on]
        return "; ".join(todo) if todo else "nothing to change after the restore"

    def ids(self, ctx: MigrateContext, inputs: SettingsInputs) -> dict[str, str]:
        return {"cluster": inputs.cluster_id}

    def is_done(self, ctx: MigrateContext, inputs: SettingsInputs) -> bool:
        """Done when our cluster has every planned setting and is available."""
        cluster = owned_cluster(ctx, inputs.cluster_id)
        if cluster is None:
            return False
        return not missing(inputs, cluster) and cluster.get("Status") == "available"

    def apply(self, ctx: MigrateContext, inputs: SettingsInputs) -> Outcome:
        """One ModifyDBCluster for the password and Performance Insights,
        EnableHttpEndpoint for the Data API; then wait."""
        cluster_id = inputs.cluster_id
        cluster = restored_cluster(ctx, cluster_id)
        todo = missing(inputs, cluster)
        if not todo:
            nothing = not any(on for _, _, on in inputs.wanted)
            return Outcome(
                "nothing to change after the restore"
                if nothing
                else "every planned setting is already on"
            )
        client = ctx.aws.rds()
        waits = []
        modify: dict[str, Any] = {}
        if "managed-password" in todo:
            modify["ManageMasterUserPassword"] = True
        if "performance-insights" in todo:
            modify["EnablePerformanceInsights"] = True
        if modify and not _requested(cluster, modify):
            ctx.aws.call(
                f"modify {cluster_id} ({', '.join(modify)})",
                client.modify_db_cluster,
                DBClusterIdentifier=cluster_id,
                ApplyImmediately=True,
                **modify,
            )
        if modify and "data-api" in todo:
            # One change at a time: wait until the cluster is available again.
            waits.append(
                ctx.wait(
                    NAME,
                    f"{cluster_id} available again",
                    lambda: {cluster_id: rds.cluster_status(rds.find_cluster(ctx.aws, cluster_id))},
                    labels=(cluster_id,),
                )
            )
        if "data-api" in todo:
            ctx.aws.call(
                f"enable the Data API on {cluster_id}",
                client.enable_http_endpoint,
                ResourceArn=cluster["DBClusterArn"],
            )

        def poll() -> dict[str, Status]:
            found = rds.find_cluster(ctx.aws, cluster_id)
            status = rds.cluster_status(found)
            if found is None or status.failed:
                return {cluster_id: status}
            left = missing(inputs, found)
            if left:
                secret = secret_status(found)
                seen = f", secret {secret}" if secret and "managed-password" in left else ""
                left_text = ", ".join(left)
                return {cluster_id: Status(f"{status.status}, waiting for {left_text}{seen}")}
            return {cluster_id: status}

        waits.append(ctx.wait(NAME, f"settings of {cluster_id}", poll, labels=(cluster_id,)))
        final = rds.find_cluster(ctx.aws, cluster_id) or {}
        details = SettingsDetails(
            data_api=bool(final.get("HttpEndpointEnabled")),
            master_user_secret_arn=(final.get("MasterUserSecret") or {}).get("SecretArn"),
            performance_insights=bool(final.get("PerformanceInsightsEnabled")),
        )
        return Outcome(
            f"turned on: {', '.join(todo)}",
            resources={"cluster": cluster_id},
            details=details,
            waits=tuple(waits),
        )

    def undo(self, ctx: MigrateContext, inputs: SettingsInputs) -> str:
        """Nothing to undo on its own: deleting the cluster (restore's undo) removes them."""
        return "nothing to undo: deleting the cluster removes its settings"


def _requested(cluster: rds.Resource, modify: dict[str, Any]) -> bool:
    """Whether an earlier attempt already asked for ``modify``: a managed secret on its
    way (``creating``) is not asked for twice."""
    return set(modify) == {"ManageMasterUserPassword"} and secret_status(cluster) is not None
