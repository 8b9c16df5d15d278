"""``--to-region``: the recovery point's snapshot copied into the DR region
before it is restored there, and the copy deleted by the teardown.

Facts from "Copying a DB cluster snapshot" (Aurora User Guide),
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-copy-snapshot.html
and the CopyDBClusterSnapshot reference,
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CopyDBClusterSnapshot.html :

- the call is made in the destination region, the source named by its ARN;
  ``KmsKeyId`` is the destination region's key (required for an encrypted snapshot);
- "You can have up to five snapshot copy requests in progress to a single
  destination Region per account": we wait for a free slot, and a
  ``SnapshotQuotaExceeded`` answer (the same code as the manual-snapshot quota)
  is waited out too, not a failure;
- a cross-region copy is always a full copy and can take hours; the parameter
  group is not copied (the restore gets the region's default).

And from the ``KmsKeyId`` parameter of CopyDBClusterSnapshot: "To copy an encrypted DB
cluster snapshot to another Amazon Web Services Region, you must set KmsKeyId [...]. If you
copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId parameter, an
error is returned." :func:`check_encryption` says so before t0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from snapmigrate.aws import Aws, error_code, rds
from snapmigrate.errors import BadInput, NotFound, SnapmigrateError
from snapmigrate.progress import Status
from snapmigrate.waiting import Waiter, WaitPolicy

log = logging.getLogger(__name__)

#: Copy requests in progress to one destination region, per account (AWS's limit).
MAX_COPIES_IN_FLIGHT = 5
QUOTA_FAULT = "SnapshotQuotaExceeded"


def check_encryption(snapshot: str, encrypted: bool, kms_key: str | None, dest_region: str) -> None:
    """Bad input (exit 2, before t0) when AWS would refuse the copy for its ``KmsKeyId``."""
    if encrypted and not kms_key:
        raise BadInput(
            f"snapshot {snapshot} is encrypted: a copy to {dest_region} needs --kms-key, "
            f"a KMS key of {dest_region} (keys do not cross regions)"
        )
    if kms_key and not encrypted:
        raise BadInput(
            f"snapshot {snapshot} is not encrypted: AWS refuses a KMS key for its copy; "
            "drop --kms-key"
        )


def copies_in_flight(aws: Aws) -> int:
    """Cluster snapshots being copied into ``aws``'s region now."""
    return sum(
        1
        for s in aws.each(
            "describe the snapshots being copied",
            aws.rds().describe_db_cluster_snapshots,
            "DBClusterSnapshots",
        )
        if s.get("Status") == "copying"
    )


def copy_snapshot(
    dest: Aws,
    waiter: Waiter,
    policy: WaitPolicy,
    *,
    source_arn: str,
    source_region: str,
    target: str,
    kms_key: str | None,
    tags: Mapping[str, str],
) -> rds.Resource:
    """Copy ``source_arn`` into ``dest``'s region as ``target`` (waiting for a free slot
    among the five, and until the copy is available); the copy as described."""
    slot = f"a free copy slot in {dest.region}"

    def request() -> dict[str, Status]:
        if rds.find_snapshot(dest, target) is not None:  # asked already (a resume)
            return {slot: Status("requested", done=True)}
        busy = copies_in_flight(dest)
        if busy >= MAX_COPIES_IN_FLIGHT:
            return {slot: Status(f"{busy} copies in flight")}
        params: dict[str, Any] = {
            "SourceDBClusterSnapshotIdentifier": source_arn,
            "TargetDBClusterSnapshotIdentifier": target,
            "SourceRegion": source_region,
            "CopyTags": False,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if kms_key:
            params["KmsKeyId"] = kms_key
        try:
            dest.call(
                f"copy snapshot {source_arn} to {dest.region}",
                dest.rds().copy_db_cluster_snapshot,
                **params,
            )
        except SnapmigrateError as e:
            if error_code(e.__cause__ or e) != QUOTA_FAULT:
                raise
            log.info("AWS refused the copy for now (%s): waiting for a slot", QUOTA_FAULT)
            return {slot: Status("quota exceeded: waiting")}
        return {slot: Status("requested", done=True)}

    waiter.wait(slot, request, policy, labels=(slot,))
    waiter.wait(
        f"copy {target}",
        lambda: {target: rds.snapshot_status(rds.find_snapshot(dest, target))},
        policy,
        labels=(target,),
    )
    found = rds.find_snapshot(dest, target)
    if found is None:
        raise NotFound(f"the snapshot copy {target} vanished in {dest.region}")
    return found


def delete_copy(dest: Aws, target: str, drill_tag: tuple[str, str]) -> str | None:
    """Delete the drill's snapshot copy (only one carrying its tag); its id, or None."""
    found = rds.find_snapshot(dest, target)
    if found is None:
        return None
    key, value = drill_tag
    if rds.tags_of(found).get(key) != value:
        log.warning("snapshot %s is not this drill's copy: left alone", target)
        return None
    try:
        dest.call(
            f"delete the snapshot copy {target}",
            dest.rds().delete_db_cluster_snapshot,
            DBClusterSnapshotIdentifier=target,
        )
    except NotFound:
        return None
    return target
