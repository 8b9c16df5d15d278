"""Whether a cluster is shared with other accounts through AWS RAM (Aurora
clusters are shared that way for cross-account cloning).

A cutover by rename changes the shared cluster's identifier under the other
accounts' feet; AWS documents nothing about renaming a shared cluster, so
snapmigrate warns rather than assumes. A caller without ``ram:`` permissions
gets None (unknown), never an error.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Clone.html
https://docs.aws.amazon.com/ram/latest/APIReference/API_GetResourceShareAssociations.html
"""

from __future__ import annotations

import logging

from snapmigrate.aws.call import Aws
from snapmigrate.errors import SnapmigrateError

log = logging.getLogger(__name__)


def shares_of(aws: Aws, arn: str) -> tuple[str, ...] | None:
    """The names of the RAM resource shares ``arn`` is associated with (None: unknown)."""
    try:
        found = aws.call(
            f"list the RAM shares of {arn}",
            aws.ram().get_resource_share_associations,
            retry=False,
            associationType="RESOURCE",
            resourceArn=arn,
        )
    except SnapmigrateError as e:
        log.debug("cannot read the RAM shares of %s: %s", arn, e)
        return None
    return tuple(
        str(a.get("resourceShareName") or a.get("resourceShareArn"))
        for a in found.get("resourceShareAssociations") or ()
        if a.get("status") in ("ASSOCIATED", "ASSOCIATING")
    )
