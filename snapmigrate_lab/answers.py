"""moto's RDS answers rewritten as AWS gives them.

Endpoint names get the region's one identifier; resources in transition show
their transitional status (and snapshots their progress); deleted resources
linger as ``deleting``; cluster membership comes from the lab's topology
(moto loses it on renames); a cluster shows its engine version's default
parameter group (moto: ``default.aurora8.0`` for every engine), its Data API
as the lab recorded it, and its managed secret ``creating`` while the secret
is made. The RDS XML is edited with ElementTree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from snapmigrate_lab import engines
from snapmigrate_lab.history import History
from snapmigrate_lab.names import DnsNames
from snapmigrate_lab.realism import Realism
from snapmigrate_lab.topology import Topology
from snapmigrate_lab.wire import AwsCall, Response

NS = "http://rds.amazonaws.com/doc/2014-10-31/"
ET.register_namespace("", NS)


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def text(el: ET.Element, tag: str) -> str | None:
    child = el.find(q(tag))
    return child.text if child is not None else None


def set_text(el: ET.Element, tag: str, value: str) -> None:
    child = el.find(q(tag))
    if child is None:
        child = ET.SubElement(el, q(tag))
    child.text = value


def split_arn(value: str, default_region: str) -> tuple[str, str]:
    """(region, identifier) of an RDS identifier or ARN (``arn:aws:rds:REGION:ACCT:TYPE:ID``)."""
    if value.startswith("arn:"):
        parts = value.split(":", 6)
        if len(parts) == 7:
            return parts[3], parts[6]
    return default_region, value


@dataclass
class Answers:
    """Rewrites RDS answers from the lab's names, transitions and membership."""

    names: DnsNames
    realism: Realism
    topology: Topology
    history: History | None = None

    def rewrite(self, call: AwsCall, response: Response) -> Response:
        """Moto's answer to ``call`` as AWS would give it."""
        body = self.names.rewrite(response.body)
        action = call.action or ""
        if action == "DescribeDBClusters" and response.status == 404:
            ghost = self.realism.ghosts("cluster", call.region).get(
                call.param("DBClusterIdentifier") or ""
            )
            if ghost is not None:
                body, response = (
                    _listing("DescribeDBClusters", "DBClusters", ghost),
                    Response(200, response.headers, b""),
                )
        if action == "DescribeDBInstances" and response.status == 404:
            ghost = self.realism.ghosts("instance", call.region).get(
                call.param("DBInstanceIdentifier") or ""
            )
            if ghost is not None:
                body, response = (
                    _listing("DescribeDBInstances", "DBInstances", ghost),
                    Response(200, response.headers, b""),
                )
        if response.ok and (
            b"<DBCluster>" in body
            or b"<DBInstance>" in body
            or b"<DBClusterSnapshot>" in body
            or action.startswith("Describe")
        ):
            body = self._rewrite_xml(call, body)
        return response.with_body(body)

    def _rewrite_xml(self, call: AwsCall, body: bytes) -> bytes:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return body
        region, action = call.region, call.action or ""
        poll = action.startswith("Describe")
        listing = not filters(call.params) and not call.param(
            "Marker"
        )  # ghosts join first pages of plain listings
        if action == "DescribeDBClusters" and listing and not call.param("DBClusterIdentifier"):
            _append_ghosts(root, "DBClusters", self.realism.ghosts("cluster", region))
        only_cluster_filter = {name for name, _ in filters(call.params).values()} <= {
            "db-cluster-id"
        }
        if (
            action == "DescribeDBInstances"
            and only_cluster_filter
            and not call.param("Marker")
            and not call.param("DBInstanceIdentifier")
        ):
            _append_ghosts(root, "DBInstances", self.realism.ghosts("instance", region))
        for el in root.iter(q("DBCluster")):
            cluster_id = text(el, "DBClusterIdentifier") or ""
            if self.topology.knows(region, cluster_id):
                _replace_members(el, self.topology.members(region, cluster_id))
            phase = self.realism.phase("cluster", region, cluster_id, poll=poll)
            if phase:
                set_text(el, "Status", phase.status)
            self._cluster_facts(el, region, cluster_id, poll)
        for el in root.iter(q("DBInstance")):
            instance_id = text(el, "DBInstanceIdentifier") or ""
            owner = self.topology.cluster_of(region, instance_id)
            if owner:
                set_text(el, "DBClusterIdentifier", owner)
            phase = self.realism.phase("instance", region, instance_id, poll=poll)
            if phase:
                set_text(el, "DBInstanceStatus", phase.status)
        for el in root.iter(q("DBClusterSnapshot")):
            snapshot_id = text(el, "DBClusterSnapshotIdentifier") or ""
            phase = self.realism.phase("snapshot", region, snapshot_id, poll=poll)
            if phase:
                set_text(el, "Status", phase.status)
                set_text(el, "PercentProgress", str(phase.percent))
        if action == "DescribeDBInstances":
            wanted = cluster_filter(call.params)
            if wanted is not None:
                _filter_instances(root, {split_arn(w, region)[1] for w in wanted})
        return ET.tostring(root, encoding="utf-8")

    def _cluster_facts(self, el: ET.Element, region: str, cluster_id: str, poll: bool) -> None:
        """What AWS shows of a cluster and moto does not."""
        group = text(el, "DBClusterParameterGroup")
        default = engines.default_parameter_group(text(el, "Engine"), text(el, "EngineVersion"))
        if default and group and group.startswith("default."):
            # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/
            #   AuroraPostgreSQL.Reference.ParameterGroups.html
            set_text(el, "DBClusterParameterGroup", default)
        scaling = el.find(q("ScalingConfigurationInfo"))
        if scaling is not None and text(el, "EngineMode") == "provisioned":
            el.remove(scaling)  # moto keeps a converted v1 cluster's v1 scaling configuration
        record = self.history.get(region, cluster_id) if self.history is not None else None
        if record is not None:
            set_text(el, "HttpEndpointEnabled", "true" if record.http_endpoint else "false")
        secret = el.find(q("MasterUserSecret"))
        if secret is not None:
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_MasterUserSecret.html
            phase = self.realism.phase("secret", region, cluster_id, poll=poll)
            if phase is not None:
                set_text(secret, "SecretStatus", phase.status)
            elif text(secret, "SecretStatus") in ("creating", "rotating"):
                set_text(secret, "SecretStatus", "active")  # moto's one-read "creating"


def element(body: bytes, tag: str) -> ET.Element | None:
    try:
        return next(ET.fromstring(body).iter(q(tag)), None)
    except ET.ParseError:
        return None


def clear_members(el: ET.Element) -> None:
    members = el.find(q("DBClusterMembers"))
    if members is not None:
        for child in list(members):
            members.remove(child)


def _replace_members(el: ET.Element, members: list[Any]) -> None:
    container = el.find(q("DBClusterMembers"))
    if container is None:
        container = ET.SubElement(el, q("DBClusterMembers"))
    for child in list(container):
        container.remove(child)
    for m in members:
        item = ET.SubElement(container, q("DBClusterMember"))
        ET.SubElement(item, q("DBInstanceIdentifier")).text = m.instance_id
        ET.SubElement(item, q("IsClusterWriter")).text = "true" if m.writer else "false"
        ET.SubElement(item, q("DBClusterParameterGroupStatus")).text = "in-sync"
        ET.SubElement(item, q("PromotionTier")).text = str(m.promotion_tier)


def _append_ghosts(root: ET.Element, container_tag: str, ghosts: dict[str, bytes]) -> None:
    container = next(root.iter(q(container_tag)), None)
    if container is None or not ghosts:
        return
    present = {
        (text(child, "DBClusterIdentifier") or text(child, "DBInstanceIdentifier"))
        for child in container
    }
    for ident, ghost in ghosts.items():
        if ident not in present:
            container.append(ET.fromstring(ghost))


def _listing(action: str, container: str, element: bytes) -> bytes:
    inner = element.decode()
    return (
        f'<{action}Response xmlns="{NS}"><{action}Result>'
        f"<{container}>{inner}</{container}></{action}Result>"
        f"<ResponseMetadata><RequestId>snapmigrate-lab</RequestId></ResponseMetadata></{action}Response>"
    ).encode()


def filters(params: dict[str, str]) -> dict[int, tuple[str, list[str]]]:
    found: dict[int, tuple[str, list[str]]] = {}
    for key, value in params.items():
        parts = key.split(".")
        if (
            len(parts) == 4
            and parts[:2] == ["Filters", "Filter"]
            and parts[3] == "Name"
            and parts[2].isdigit()
        ):
            n = int(parts[2])
            prefix = f"Filters.Filter.{n}.Values.Value."
            values = [v for k, v in sorted(params.items()) if k.startswith(prefix)]
            found[n] = (value, values)
    return found


def cluster_filter(params: dict[str, str]) -> list[str] | None:
    for name, values in filters(params).values():
        if name == "db-cluster-id":
            return values
    return None


def without_filter(params: dict[str, str], name: str) -> dict[str, str]:
    kept = [(n, vs) for _, (n, vs) in sorted(filters(params).items()) if n != name]
    out = {k: v for k, v in params.items() if not k.startswith("Filters.")}
    for i, (n, vs) in enumerate(kept, start=1):
        out[f"Filters.Filter.{i}.Name"] = n
        for j, v in enumerate(vs, start=1):
            out[f"Filters.Filter.{i}.Values.Value.{j}"] = v
    return out


def _filter_instances(root: ET.Element, wanted: set[str]) -> None:
    container = next(root.iter(q("DBInstances")), None)
    if container is None:
        return
    for child in list(container):
        if (text(child, "DBClusterIdentifier") or "") not in wanted:
            container.remove(child)
