"""``--prepare-source``: make the source publish -- ``rds.logical_replication = 1``
in a custom DB cluster parameter group of its own, and the writer rebooted
(the parameter is static: it takes effect at the reboot).
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Replication.Logical.Configure.html

A group the source shares with other clusters is never modified: the run
creates ``<source>-logical-<run id>``, a copy of the source's own settings
with the parameter on, and gives it to the source alone. The reboot is a
short outage of the source, said in the plan and asked for. Nothing is taken
back by ``cleanup``: that would be another reboot.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.db import logical
from snapmigrate.errors import NotFound, SnapmigrateError
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

NAME = "prepare-source"
ROLE = "parameter-group"
PARAMETER = "rds.logical_replication"
#: ModifyDBClusterParameterGroup takes at most 20 parameters a call.
BATCH = 20


@dataclass(frozen=True)
class PrepareInputs(Record):
    source_cluster: str
    family: str
    writer: str | None
    new_group: bool = True
    copy_from: str | None = None


def group_name(source: str, run_id: str) -> str:
    return f"{source}-logical-{run_id}"


class PrepareSourceStep(Step[Basis, MigrateContext, PrepareInputs]):
    """The source made to publish: its own parameter group with
    ``rds.logical_replication = 1``, its writer rebooted."""

    name = NAME
    inputs = PrepareInputs
    permissions = (
        "rds:CreateDBClusterParameterGroup",
        "rds:ModifyDBClusterParameterGroup",
        "rds:DescribeDBClusterParameterGroups",
        "rds:DescribeDBClusterParameters",
        "rds:ListTagsForResource",
        "rds:AddTagsToResource",
        "rds:ModifyDBCluster",
        "rds:RebootDBInstance",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
    )
    undo_permissions = ("rds:DeleteDBClusterParameterGroup",)

    def plan(self, basis: Basis) -> PrepareInputs | None:
        prepare = basis.spec.catch_up.prepare
        if not basis.spec.catch_up.logical or prepare is None:
            return None
        return PrepareInputs(
            basis.source.identifier,
            prepare.family,
            prepare.writer,
            prepare.new_group,
            prepare.copy_from,
        )

    def describe(self, inputs: PrepareInputs) -> str:
        group = (
            f"give {inputs.source_cluster} its own cluster parameter group with {PARAMETER} = 1, "
            if inputs.new_group
            else ""
        )
        return f"{group}reboot its writer {inputs.writer} (a short outage of the source)"

    def ids(self, ctx: MigrateContext, inputs: PrepareInputs) -> dict[str, str]:
        return (
            {"parameter_group": group_name(inputs.source_cluster, ctx.run_id)}
            if (inputs.new_group)
            else {}
        )

    def is_done(self, ctx: MigrateContext, inputs: PrepareInputs) -> bool:
        """Done when the source's server runs with ``wal_level = logical``."""
        try:
            source = dataplane.endpoint(ctx, inputs.source_cluster, "source")
            level = logical.wal_level(source, connect_map=dataplane.connect_map(ctx))
        except SnapmigrateError:
            return False
        return level == "logical"

    def apply(self, ctx: MigrateContext, inputs: PrepareInputs) -> Outcome:
        source = inputs.source_cluster
        waits = []
        done = []
        if inputs.new_group:
            name = group_name(source, ctx.run_id)
            self._group(ctx, inputs, name)
            cluster = rds.find_cluster(ctx.aws, source) or {}
            if cluster.get("DBClusterParameterGroup") != name:
                ctx.aws.call(
                    f"give {source} the cluster parameter group {name}",
                    ctx.aws.rds().modify_db_cluster,
                    DBClusterIdentifier=source,
                    DBClusterParameterGroupName=name,
                    ApplyImmediately=True,
                )
                done.append(f"{source} now uses {name}")
            waits.append(
                ctx.wait(
                    NAME,
                    f"cluster {source}",
                    lambda: {source: rds.cluster_status(rds.find_cluster(ctx.aws, source))},
                    labels=(source,),
                )
            )
        writer = inputs.writer
        if writer:
            waits.append(self._reboot(ctx, writer))
            done.append(f"rebooted {writer}")
        endpoint = dataplane.endpoint(ctx, source, "source")
        cmap = dataplane.connect_map(ctx)

        def publishing() -> dict[str, Status]:
            try:
                level = logical.wal_level(endpoint, connect_map=cmap)
            except SnapmigrateError:
                return {source: Status("not answering")}
            return {source: Status(f"wal_level {level}", done=level == "logical")}

        waits.append(ctx.wait(NAME, f"{source} to publish", publishing, labels=(source,)))
        summary = "; ".join([*done, "wal_level = logical"])
        resources = {"parameter_group": group_name(source, ctx.run_id)} if inputs.new_group else {}
        return Outcome(summary, resources=resources, waits=tuple(waits))

    def undo(self, ctx: MigrateContext, inputs: PrepareInputs) -> str:
        """A group the source uses stays (taking it away needs another reboot); one
        the run made but never attached is deleted."""
        if not inputs.new_group:
            return f"nothing to undo: {inputs.source_cluster}'s own group was kept"
        name = group_name(inputs.source_cluster, ctx.run_id)
        found = _find_group(ctx, name)
        if found is None:
            return f"cluster parameter group {name} is not there"
        _check_ours(ctx, found, name)
        cluster = rds.find_cluster(ctx.aws, inputs.source_cluster) or {}
        if cluster.get("DBClusterParameterGroup") == name:
            return (
                f"kept {name}: {inputs.source_cluster} uses it (it publishes; to take it away, "
                "give the source its former group and reboot its writer)"
            )
        with contextlib.suppress(NotFound):
            ctx.aws.call(
                f"delete cluster parameter group {name}",
                ctx.aws.rds().delete_db_cluster_parameter_group,
                DBClusterParameterGroupName=name,
            )
        return f"deleted cluster parameter group {name}"

    def _group(self, ctx: MigrateContext, inputs: PrepareInputs, name: str) -> None:
        """The run's group, with the source's settings and the parameter on."""
        found = _find_group(ctx, name)
        if found is None:
            rds.create(
                ctx.aws,
                f"create cluster parameter group {name}",
                ctx.aws.rds().create_db_cluster_parameter_group,
                lambda: _find_group(ctx, name),
                DBClusterParameterGroupName=name,
                DBParameterGroupFamily=inputs.family,
                Description=f"{inputs.source_cluster} with logical replication (snapmigrate)",
                Tags=ctx.tags(ROLE),
            )
            found = _find_group(ctx, name)
        if found is not None:
            _check_ours(ctx, found, name)
        ctx.note(NAME, {"parameter_group": name}, None)
        settings = _user_settings(ctx, inputs.copy_from) if inputs.copy_from else []
        settings.append(
            {"ParameterName": PARAMETER, "ParameterValue": "1", "ApplyMethod": "pending-reboot"}
        )
        for n in range(0, len(settings), BATCH):
            ctx.aws.call(
                f"set {PARAMETER} = 1 in {name}",
                ctx.aws.rds().modify_db_cluster_parameter_group,
                DBClusterParameterGroupName=name,
                Parameters=settings[n : n + BATCH],
            )

    def _reboot(self, ctx: MigrateContext, writer: str) -> Any:
        """Reboot the writer unless a reboot is under way (AWS reboots only an available
        instance: wait for that first); wait until it is available again."""

        def status() -> dict[str, Status]:
            return {writer: rds.instance_status(rds.find_instance(ctx.aws, writer))}

        instance = rds.find_instance(ctx.aws, writer) or {}
        if instance.get("DBInstanceStatus") != "rebooting":
            ctx.wait(NAME, f"writer {writer} before its reboot", status, labels=(writer,))
            ctx.aws.call(
                f"reboot the writer {writer}",
                ctx.aws.rds().reboot_db_instance,
                DBInstanceIdentifier=writer,
            )
            log.warning("rebooting %s: the source's connections drop for a moment", writer)
        return ctx.wait(NAME, f"writer {writer}", status, labels=(writer,))


def _find_group(ctx: MigrateContext, name: str) -> dict[str, Any] | None:
    try:
        found = ctx.aws.call(
            f"describe cluster parameter group {name}",
            ctx.aws.rds().describe_db_cluster_parameter_groups,
            DBClusterParameterGroupName=name,
        )["DBClusterParameterGroups"]
    except NotFound:
        return None
    return dict(found[0]) if found else None


def _check_ours(ctx: MigrateContext, group: dict[str, Any], name: str) -> None:
    tags = ctx.aws.call(
        f"read the tags of {name}",
        ctx.aws.rds().list_tags_for_resource,
        ResourceName=group["DBClusterParameterGroupArn"],
    )
    rds.check_owned(ctx.run_id, dict(tags), "cluster parameter group", name)


def _user_settings(ctx: MigrateContext, group: str) -> list[dict[str, str]]:
    """The parameters set in ``group`` by its owner (to copy into the run's group)."""
    return [
        {
            "ParameterName": p["ParameterName"],
            "ParameterValue": str(p["ParameterValue"]),
            "ApplyMethod": "pending-reboot",
        }
        for p in ctx.aws.each(
            f"read the parameters of {group}",
            ctx.aws.rds().describe_db_cluster_parameters,
            "Parameters",
            DBClusterParameterGroupName=group,
            Source="user",
        )
        if p.get("ParameterValue") is not None and p.get("ParameterName") != PARAMETER
    ]
