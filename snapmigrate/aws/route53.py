"""Route 53 records the way snapmigrate uses them: read a CNAME (weighted sets
included), point it elsewhere, wait until the change is ``INSYNC``.

Every change returns what was there before, so it can be put back exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import StructureShape

from snapmigrate.aws.call import Aws
from snapmigrate.aws.errors import error_code
from snapmigrate.errors import BadInput, SnapmigrateError
from snapmigrate.progress import Status

#: The fields a :class:`Record` holds itself; every other field of a record set is kept.
OWN_KEYS = ("Name", "Type", "TTL", "ResourceRecords", "SetIdentifier", "Weight")


@functools.cache
def kept_keys() -> tuple[str, ...]:
    """Every field of a record set but :data:`OWN_KEYS`, from botocore's
    ``ResourceRecordSet`` shape (``GeoLocation``, ``GeoProximityLocation``,
    ``CidrRoutingConfig``, ``Failover``, ``HealthCheckId``, ...): an UPSERT replaces
    the whole set, so each is sent back unchanged and only the target changes.
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
    """
    model = botocore.session.get_session().get_service_model("route53")
    shape = model.shape_for("ResourceRecordSet")
    assert isinstance(shape, StructureShape)
    return tuple(k for k in shape.members if k not in OWN_KEYS)
#: A zone id that names no zone: unknown, or malformed.
NO_ZONE_CODES = frozenset({"NoSuchHostedZone", "InvalidInput"})


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

    @property
    def host(self) -> str:
        """The record's name without the final dot, as clients use it."""
        return self.name.rstrip(".")


def fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def same_host(a: str | None, b: str | None) -> bool:
    return bool(a and b) and fqdn(a or "") == fqdn(b or "")


def _record(zone_id: str, rs: dict[str, Any]) -> Record:
    values = [r["Value"] for r in rs.get("ResourceRecords", [])]
    return Record(
        zone_id=zone_id,
        name=rs["Name"],
        value=values[0] if values else "",
        ttl=int(rs.get("TTL", 60)),
        set_identifier=rs.get("SetIdentifier"),
        weight=rs.get("Weight"),
        extra={k: rs[k] for k in kept_keys() if k in rs},
    )


def find_records(aws: Aws, zone_id: str, name: str) -> list[Record]:
    """Every CNAME record set named ``name`` in the zone (several when weighted)."""
    r53 = aws.route53()
    wanted = fqdn(name)
    found: list[Record] = []
    params: dict[str, Any] = {
        "HostedZoneId": zone_id,
        "StartRecordName": wanted,
        "StartRecordType": "CNAME",
    }
    while True:
        page = aws.call(
            f"list records {name} in zone {zone_id}", r53.list_resource_record_sets, **params
        )
        for rs in page["ResourceRecordSets"]:
            if fqdn(rs["Name"]) != wanted:
                return found
            if rs["Type"] == "CNAME":
                found.append(_record(zone_id, rs))
        if not page.get("IsTruncated"):
            return found
        params = {
            "HostedZoneId": zone_id,
            "StartRecordName": page["NextRecordName"],
            "StartRecordType": page.get("NextRecordType", "CNAME"),
        }
        if page.get("NextRecordIdentifier"):
            params["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def current_value(aws: Aws, record: Record) -> str | None:
    """Where ``record`` (the same set identifier) points now, None when it is gone."""
    for found in find_records(aws, record.zone_id, record.name):
        if found.set_identifier == record.set_identifier:
            return found.value
    return None


def record_for(
    aws: Aws, zone_id: str, name: str, points_at: str | None, set_identifier: str | None = None
) -> Record:
    """The record set to swap: the one named (and identified), else the one pointing at
    ``points_at``."""
    records = find_records(aws, zone_id, name)
    if not records:
        raise BadInput(
            f"record {name} (CNAME) does not exist in zone {zone_id}: create it, pointing at "
            "the source's endpoint"
        )
    if set_identifier is not None:
        chosen = [r for r in records if r.set_identifier == set_identifier]
        if not chosen:
            raise BadInput(
                f"record {name} has no set identifier {set_identifier!r} in zone {zone_id}"
            )
        return _swappable(chosen[0])
    if len(records) == 1:
        return _swappable(records[0])
    pointing = [r for r in records if same_host(r.value, points_at)]
    if len(pointing) == 1:
        return _swappable(pointing[0])
    ids = ", ".join(str(r.set_identifier) for r in records)
    raise BadInput(
        f"record {name} is a weighted set ({ids}): name the one to swap with --set-identifier"
    )


def _swappable(record: Record) -> Record:
    """``record``, unless it is an alias (``AliasTarget``): it has no value to point elsewhere."""
    if "AliasTarget" in record.extra:
        raise BadInput(
            f"record {record.host} is an alias record: snapmigrate swaps the value of a CNAME; "
            "point the alias yourself, or give a CNAME clients use"
        )
    return record


def upsert(
    aws: Aws, record: Record, value: str, ttl: int | None = None, comment: str = "snapmigrate"
) -> str:
    """Point ``record`` at ``value``; the Route 53 change id (wait for INSYNC on it)."""
    change = aws.call(
        f"update record {record.name}",
        aws.route53().change_resource_record_sets,
        HostedZoneId=record.zone_id,
        ChangeBatch={
            "Comment": comment,
            "Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": record.to_api(value=value, ttl=ttl)}
            ],
        },
    )
    return str(change["ChangeInfo"]["Id"])


def change_statuses(aws: Aws, changes: Sequence[str]) -> dict[str, Status]:
    """A wait's poll: each change done once Route 53 says ``INSYNC``.

    https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html
    """
    seen = {
        c: str(
            aws.call(f"read Route 53 change {c}", aws.route53().get_change, Id=c)["ChangeInfo"][
                "Status"
            ]
        )
        for c in changes
    }
    return {c: Status(s, done=s == "INSYNC") for c, s in seen.items()}


def hosted_zone(aws: Aws, zone_id: str) -> dict[str, Any] | None:
    """The hosted zone, or None when there is none (or the id is malformed)."""
    try:
        found = aws.call(f"get hosted zone {zone_id}", aws.route53().get_hosted_zone, Id=zone_id)
    except SnapmigrateError as e:
        if error_code(e.__cause__ or e) in NO_ZONE_CODES:
            return None
        raise
    return dict(found["HostedZone"])
