"""The two ways to move clients: point a Route 53 CNAME at another endpoint, or
rename clusters so the old endpoint host name lands on the new cluster.

Only AWS calls and records here; waiting, journaling and rollback order are
the cutover's business. Every change returns what was there before, so it
can be put back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from snapmigrate.aws import Clients, aws_errors
from snapmigrate.errors import BadInput


@dataclass(frozen=True)
class Record:
    """One CNAME record set (weighted records carry a set identifier and a weight)."""

    zone_id: str
    name: str
    value: str
    ttl: int
    set_identifier: str | None = None
    weight: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_api(self, value: str | None = None, ttl: int | None = None) -> dict[str, Any]:
        rrset: dict[str, Any] = {
            "Name": self.name,
            "Type": "CNAME",
            "TTL": self.ttl if ttl is None else ttl,
            "ResourceRecords": [{"Value": value or self.value}],
        }
        if self.set_identifier is not None:
            rrset["SetIdentifier"] = self.set_identifier
        if self.weight is not None:
            rrset["Weight"] = self.weight
        rrset.update(self.extra)
        return rrset

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "name": self.name,
            "value": self.value,
            "ttl": self.ttl,
            "set_identifier": self.set_identifier,
            "weight": self.weight,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**data)


def fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def same_host(a: str | None, b: str | None) -> bool:
    return bool(a and b) and fqdn(a or "") == fqdn(b or "")


def find_records(clients: Clients, zone_id: str, name: str) -> list[Record]:
    """Every CNAME record set named ``name`` in the zone (several when weighted)."""
    r53 = clients.route53()
    wanted = fqdn(name)
    found: list[Record] = []
    params: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": wanted, "StartRecordType": "CNAME"}
    with aws_errors(f"list records {name} in zone {zone_id}"):
        while True:
            page = r53.list_resource_record_sets(**params)
            for rs in page["ResourceRecordSets"]:
                if fqdn(rs["Name"]) != wanted:
                    return found
                if rs["Type"] != "CNAME":
                    continue
                values = [r["Value"] for r in rs.get("ResourceRecords", [])]
                extra = {k: rs[k] for k in ("Region", "Failover", "HealthCheckId", "MultiValueAnswer") if k in rs}
                found.append(
                    Record(
                        zone_id=zone_id,
                        name=rs["Name"],
                        value=values[0] if values else "",
                        ttl=int(rs.get("TTL", 60)),
                        set_identifier=rs.get("SetIdentifier"),
                        weight=rs.get("Weight"),
                        extra=extra,
                    )
                )
            if not page.get("IsTruncated"):
                return found
            params = {
                "HostedZoneId": zone_id,
                "StartRecordName": page["NextRecordName"],
                "StartRecordType": page.get("NextRecordType", "CNAME"),
            }
            if page.get("NextRecordIdentifier"):
                params["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def record_for(clients: Clients, zone_id: str, name: str, points_at: str | None, set_identifier: str | None = None) -> Record:
    """The record set to swap: the one named (and identified), else the one pointing at ``points_at``."""
    records = find_records(clients, zone_id, name)
    if not records:
        raise BadInput(f"record {name} (CNAME) does not exist in zone {zone_id}: create it, pointing at the source's endpoint")
    if set_identifier is not None:
        chosen = [r for r in records if r.set_identifier == set_identifier]
        if not chosen:
            raise BadInput(f"record {name} has no set identifier {set_identifier!r} in zone {zone_id}")
        return chosen[0]
    if len(records) == 1:
        return records[0]
    pointing = [r for r in records if same_host(r.value, points_at)]
    if len(pointing) == 1:
        return pointing[0]
    ids = ", ".join(str(r.set_identifier) for r in records)
    raise BadInput(f"record {name} is a weighted set ({ids}): name the one to swap with --set-identifier")


def upsert(clients: Clients, record: Record, value: str, ttl: int | None = None, comment: str = "snapmigrate") -> str:
    """Point ``record`` at ``value``; the Route 53 change id (wait for INSYNC on it)."""
    with aws_errors(f"update record {record.name}"):
        change = clients.route53().change_resource_record_sets(
            HostedZoneId=record.zone_id,
            ChangeBatch={
                "Comment": comment,
                "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record.to_api(value=value, ttl=ttl)}],
            },
        )
    return str(change["ChangeInfo"]["Id"])


def change_status(clients: Clients, change_id: str) -> str:
    with aws_errors(f"read Route 53 change {change_id}"):
        return str(clients.route53().get_change(Id=change_id)["ChangeInfo"]["Status"])


def rename_cluster(clients: Clients, old: str, new: str) -> None:
    """Rename a cluster now (``ApplyImmediately``): its endpoint host names follow."""
    with aws_errors(f"rename cluster {old} to {new}"):
        clients.rds().modify_db_cluster(DBClusterIdentifier=old, NewDBClusterIdentifier=new, ApplyImmediately=True)
