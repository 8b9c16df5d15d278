"""What the source shows about publishing, for ``--catch-up logical``: its cluster
parameter group (AWS, read-only) and its databases (SQL, read-only).

``rds.logical_replication = 1`` in a custom cluster parameter group takes
effect when the writer reboots; ``wal_level = logical`` on the server is the
truth, however it got there:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Replication.Logical.Configure.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from snapmigrate.aws import Aws, rds
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import from_cluster
from snapmigrate.db.logical import SourceFacts, inspect_source
from snapmigrate.errors import NotFound, OperationFailed, SnapmigrateError
from snapmigrate.model import SourceCluster

log = logging.getLogger(__name__)

PARAMETER = "rds.logical_replication"


@dataclass(frozen=True)
class PublisherFacts:
    """The source's parameter group as AWS describes it, and its server's answers
    (or why they could not be read)."""

    group: str | None = None
    group_value: str | None = None  # rds.logical_replication in the group (None: unknown)
    pending_reboot: bool = False  # the writer has not rebooted since the group changed
    writer: str | None = None
    server: SourceFacts | None = None
    unreachable: str | None = None

    @property
    def default_group(self) -> bool:
        return not self.group or self.group.startswith("default.")


def parameter_value(aws: Aws, group: str, name: str = PARAMETER) -> str | None:
    """The value of ``name`` in cluster parameter group ``group`` (None: unset or unreadable)."""
    try:
        for page in aws.each(
            f"describe the parameters of {group}",
            aws.rds().describe_db_cluster_parameters,
            "Parameters",
            DBClusterParameterGroupName=group,
        ):
            if page.get("ParameterName") == name:
                value = page.get("ParameterValue")
                return None if value is None else str(value)
    except (NotFound, OperationFailed) as e:  # moto knows no default groups; a denied call
        log.debug("cannot read %s: %s", group, e)
    return None


def read_publisher(
    aws: Aws, source: SourceCluster, connect_map: str | None, *, connect: bool = True
) -> PublisherFacts:
    """The source's group, its writer's reboot state and (``connect``) its databases."""
    cluster = rds.find_cluster(aws, source.identifier) or {}
    writer = rds.writer_of(cluster)
    member: dict[str, object] = next(
        (m for m in cluster.get("DBClusterMembers") or [] if m.get("IsClusterWriter")), {}
    )
    group = cluster.get("DBClusterParameterGroup")
    # A default group cannot be modified: there it is off.
    value = parameter_value(aws, group) if group and not group.startswith("default.") else "0"
    facts = PublisherFacts(
        group=group,
        group_value=value,
        pending_reboot=member.get("DBClusterParameterGroupStatus") == "pending-reboot",
        writer=writer,
    )
    if not connect or source.kind == "serverless-v1":
        return facts
    try:
        endpoint = from_cluster(aws, source.identifier, "source")
        server = inspect_source(endpoint, connect_map=ConnectMap.load(connect_map))
    except SnapmigrateError as e:
        return PublisherFacts(**{**facts.__dict__, "unreachable": str(e)})
    return PublisherFacts(**{**facts.__dict__, "server": server})
