"""Read what AWS knows for a clone: the source, the name, the snapshot, the
account's quotas, the caller -- and the clones themselves. Read-only calls.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from snapmigrate.aws import Aws, rds
from snapmigrate.clone.lease import Lease
from snapmigrate.clone.options import CloneOptions
from snapmigrate.clone.spec import Basis, Quota
from snapmigrate.errors import BadInput, NotFound
from snapmigrate.model import Snapshot
from snapmigrate.plan.discover import (
    engine_facts,
    read_snapshot,
    snapshot_from_api,
    source_from_api,
)

log = logging.getLogger(__name__)

QUOTAS = ("DBClusters", "DBInstances")


def caller_arn(aws: Aws) -> str | None:
    """The caller's ARN (STS GetCallerIdentity needs no permission), or None.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    """
    try:
        found = aws.call("ask STS who is calling", aws.client("sts").get_caller_identity)
    except Exception as e:  # no STS at this endpoint: the owner stays unknown
        log.warning("cannot tell who is calling (STS GetCallerIdentity): %s", e)
        return None
    return str(found.get("Arn") or "") or None


def quotas(aws: Aws, names: tuple[str, ...] = QUOTAS) -> tuple[tuple[Quota, ...], str | None]:
    """The region's quotas ``names`` (DB clusters and instances), or why they are unknown.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_AccountQuota.html
    """
    try:
        found = aws.call(
            "describe account attributes",
            aws.rds().describe_account_attributes,
            retry=False,
        )
    except NotImplementedError:  # moto in-process
        return (), "DescribeAccountAttributes is not implemented by this endpoint"
    except Exception as e:  # denied, or an endpoint without it (moto's server: HTTP 500)
        return (), f"DescribeAccountAttributes did not answer: {_why(e)}"
    wanted = [
        Quota(q["AccountQuotaName"], int(q.get("Used", 0)), int(q.get("Max", 0)))
        for q in found.get("AccountQuotas") or []
        if q.get("AccountQuotaName") in names
    ]
    return tuple(wanted), None


def _why(exc: BaseException) -> str:
    text = str(exc)
    if "not been implemented" in text or "Internal Server Error" in text:
        return "not implemented by this endpoint"
    return (text.splitlines() or [type(exc).__name__])[0][:120]


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return None


def latest_automated(aws: Aws, source: str) -> Snapshot | None:
    """The source's newest available automated snapshot, or None."""
    found = [
        snapshot_from_api(s)
        for s in aws.each(
            f"describe automated snapshots of {source}",
            aws.rds().describe_db_cluster_snapshots,
            "DBClusterSnapshots",
            DBClusterIdentifier=source,
            SnapshotType="automated",
        )
        if s.get("Status") == "available"
    ]
    return max(found, key=lambda s: s.created or "", default=None)


def read_basis(aws: Aws, options: CloneOptions, now: datetime, *, replacing: bool = False) -> Basis:
    """Everything the preflight reads about ``options``' source and name."""
    cluster = rds.find_cluster(aws, options.source)
    if cluster is None:
        raise NotFound(
            f"source cluster {options.source!r} not found in {aws.region}: check the "
            "identifier, --region and --profile (a clone is made in its source's region)"
        )
    source = source_from_api(cluster, rds.list_instances(aws, options.source), None)
    snapshot = None
    if options.method == "snapshot":
        snapshot = (
            read_snapshot(aws, options.snapshot)
            if options.snapshot
            else latest_automated(aws, options.source)
        )
    version = snapshot.engine_version if snapshot else source.engine_version
    facts, note = engine_facts(aws, source.engine, version)
    if note:
        log.debug("engine facts from the table: %s", note)
    held = rds.find_cluster(aws, options.name)
    found_quotas, quota_note = quotas(aws)
    return Basis(
        source=source,
        facts=facts,
        region=aws.region,
        now=now,
        name_taken=rds.tags_of(held) if held is not None else None,
        owner=caller_arn(aws),
        quotas=found_quotas,
        quota_note=quota_note,
        snapshot=snapshot,
        earliest_restorable=_when(cluster.get("EarliestRestorableTime")),
        latest_restorable=_when(cluster.get("LatestRestorableTime")),
        replacing=replacing,
    )


def all_clusters(aws: Aws) -> list[rds.Resource]:
    """Every cluster of the region the caller may describe (DescribeDBClusters has no
    tag filter: clones are told by their tags here)."""
    return list(aws.each("describe clusters", aws.rds().describe_db_clusters, "DBClusters"))


def clone_cluster(aws: Aws, name: str) -> tuple[rds.Resource, Lease]:
    """The cluster ``name`` and its lease; NotFound when there is no such cluster."""
    cluster = rds.find_cluster(aws, name)
    if cluster is None:
        raise NotFound(f"no cluster {name!r} in {aws.region}: see 'snapmigrate clone list'")
    return cluster, Lease.of(name, rds.tags_of(cluster))


def require_clone(aws: Aws, name: str) -> tuple[rds.Resource, Lease]:
    """As :func:`clone_cluster`, refusing (exit 2) a cluster that is not a clone."""
    cluster, seen = clone_cluster(aws, name)
    if not seen.is_clone:
        raise BadInput(
            f"{name} is not a snapmigrate clone (no snapmigrate:kind=clone tag): "
            "clone commands touch only clones; nothing was changed"
        )
    return cluster, seen
