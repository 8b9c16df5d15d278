"""How the data plane shows in RDS answers: cluster members ``pending-reboot``
while the cluster parameter group says other than what the server started
with (``DBClusterMembers[].DBClusterParameterGroupStatus``, as AWS shows a
static parameter change until the reboot:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.Modifying.html).
Work the data plane does in the background (an upgrade) shows through the
realism's held statuses instead.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from snapmigrate_lab.answers import q, set_text, text
from snapmigrate_lab.dataplane import DataPlane


def show(body: bytes, plane: DataPlane, region: str) -> bytes:
    """``body`` (an RDS answer) with the members of clusters pending a reboot so marked."""
    if b"<DBClusterMember>" not in body:
        return body
    pending = {
        c for (r, c), facts in list(plane.facts.items()) if r == region and facts.pending_reboot
    }
    if not pending:
        return body
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    for el in root.iter(q("DBCluster")):
        if (text(el, "DBClusterIdentifier") or "") in pending:
            for member in el.iter(q("DBClusterMember")):
                set_text(member, "DBClusterParameterGroupStatus", "pending-reboot")
    return ET.tostring(root, encoding="utf-8")
