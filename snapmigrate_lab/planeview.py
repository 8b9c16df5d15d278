"""How the data plane shows in RDS answers: cluster members ``pending-reboot``
while the cluster parameter group says other than what the server started
with (``DBClusterMembers[].DBClusterParameterGroupStatus``, as AWS shows a
static parameter change until the reboot:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.Modifying.html).
Each cluster with a WAL archive shows its restorable window
(``EarliestRestorableTime``: its oldest base backup; ``LatestRestorableTime``:
its newest archived commit, or the present when all is archived); neither
while it has no base backup yet, as AWS shows "NULL until the restore operation
is complete":
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html
Work the data plane does in the background (an upgrade, a failover) shows
through the realism's held statuses instead.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from snapmigrate_lab.answers import q, set_text, text
from snapmigrate_lab.dataplane import DataPlane

WINDOW = ("EarliestRestorableTime", "LatestRestorableTime")


def show(body: bytes, plane: DataPlane, region: str) -> bytes:
    """``body`` (an RDS answer) with its clusters' restorable windows, and the members of
    clusters pending a reboot so marked."""
    if b"<DBCluster>" not in body:
        return body
    pending = {
        c for (r, c), facts in list(plane.facts.items()) if r == region and facts.pending_reboot
    }
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    for el in root.iter(q("DBCluster")):
        cluster_id = text(el, "DBClusterIdentifier") or ""
        key = (region, cluster_id)
        if plane.archives.get(key) is not None or key in plane.busy:
            _window(el, *plane.archives.window(key))
        if cluster_id in pending:
            for member in el.iter(q("DBClusterMember")):
                set_text(member, "DBClusterParameterGroupStatus", "pending-reboot")
    return ET.tostring(root, encoding="utf-8")


def _window(el: ET.Element, earliest: datetime | None, latest: datetime | None) -> None:
    from snapmigrate_lab.pitr import shown

    if earliest is None or latest is None:
        for name in WINDOW:
            found = el.find(q(name))
            if found is not None:
                el.remove(found)
        return
    set_text(el, WINDOW[0], shown(earliest))
    set_text(el, WINDOW[1], shown(latest))
