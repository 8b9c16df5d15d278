"""Route 53 in the lab resolves: a CNAME whose value is a served endpoint
reaches the same server, so a client using the record name follows a DNS
cutover (and its rollback) as it would on AWS, minus the TTL.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _split(key: str) -> tuple[str, str]:
    host, _, port = key.rpartition(":")
    return host, port


def dns_routes(route53: Any, routes: dict[str, str]) -> dict[str, str]:
    """Connect-map routes for every CNAME pointing at an endpoint in ``routes``.

    Of a weighted set, the member with the highest weight answers (a resolver
    would answer each by weight; the lab keeps it deterministic).
    """
    by_host: dict[str, dict[str, str]] = defaultdict(dict)
    for key, target in routes.items():
        host, port = _split(key)
        by_host[host.lower()][port] = target
    chosen: dict[str, tuple[int, str]] = {}
    for zone in route53.get_paginator("list_hosted_zones").paginate():
        for hz in zone["HostedZones"]:
            pages = route53.get_paginator("list_resource_record_sets").paginate(
                HostedZoneId=hz["Id"]
            )
            for page in pages:
                for rs in page["ResourceRecordSets"]:
                    values = [r["Value"] for r in rs.get("ResourceRecords", [])]
                    if rs["Type"] != "CNAME" or not values:
                        continue
                    name = rs["Name"].rstrip(".").lower()
                    weight = int(rs.get("Weight", 1))
                    if name not in chosen or weight > chosen[name][0]:
                        chosen[name] = (weight, values[0].rstrip(".").lower())
    out: dict[str, str] = {}
    for name, (_, value) in chosen.items():
        for port, target in by_host.get(value, {}).items():
            out[f"{name}:{port}"] = target
    return out
