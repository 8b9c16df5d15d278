"""How the data plane shows in RDS answers: a cluster and its instances
``upgrading`` while the data moves to a new major; cluster members
``pending-reboot`` while the cluster parameter group says other than what the
server started with (``DBClusterMembers[].DBClusterParameterGroupStatus``, as
AWS shows a static parameter change until the reboot:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.Modifying.html).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from snapmigrate_lab.answers import q, set_text, text
from snapmigrate_lab.dataplane import ClusterFacts, DataPlane
from snapmigrate_lab.topology import Topology


def show(body: bytes, plane: DataPlane, topology: Topology, region: str) -> bytes:
    """``body`` (an RDS answer) with the data plane's statuses in it."""
    if b"<DBCluster>" not in body and b"<DBInstance>" not in body:
        return body
    flagged: dict[str, ClusterFacts] = {
        cluster_id: facts
        for (r, cluster_id), facts in list(plane.facts.items())
        if r == region and (facts.busy or facts.pending_reboot)
    }
    if not flagged:
        return body
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    for el in root.iter(q("DBCluster")):
        facts = flagged.get(text(el, "DBClusterIdentifier") or "")
        if facts is None:
            continue
        if facts.busy:
            set_text(el, "Status", facts.busy)
        if facts.pending_reboot:
            for member in el.iter(q("DBClusterMember")):
                set_text(member, "DBClusterParameterGroupStatus", "pending-reboot")
    for el in root.iter(q("DBInstance")):
        instance_id = text(el, "DBInstanceIdentifier") or ""
        facts = flagged.get(
            topology.cluster_of(region, instance_id) or text(el, "DBClusterIdentifier") or ""
        )
        if facts is not None and facts.busy:
            set_text(el, "DBInstanceStatus", facts.busy)
    return ET.tostring(root, encoding="utf-8")
