"""Endpoint host names as AWS forms them.

In AWS the random part of an endpoint (``<id>.cluster-<xyz>.<region>.rds...``)
belongs to the account and region, not to the cluster: that is why a cluster
renamed onto another's old name answers on that old host name, the basis of
the cutover by rename. moto draws it per cluster (and ``aaaaaaaaaa`` for every
instance); the lab rewrites both to one identifier per region.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

_CLUSTER = re.compile(
    rb"\.cluster-(ro-)?[a-z0-9]{12}\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com"
)
_INSTANCE = re.compile(rb"\.aaaaaaaaaa\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com")


@dataclass(frozen=True)
class DnsNames:
    """One endpoint identifier per region, derived from a lab-wide token."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def identifier(self, region: str) -> str:
        digest = hashlib.sha256(f"{self.token}:{region}".encode()).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(alphabet[b % len(alphabet)] for b in digest[:12])

    def rewrite(self, body: bytes) -> bytes:
        """``body`` with moto's endpoint names replaced by the region's stable ones."""
        if b".rds.amazonaws.com" not in body:
            return body

        def cluster(m: re.Match[bytes]) -> bytes:
            region = m.group(2)
            ro = m.group(1) or b""
            return (
                b".cluster-"
                + ro
                + self.identifier(region.decode()).encode()
                + b"."
                + region
                + b".rds.amazonaws.com"
            )

        def instance(m: re.Match[bytes]) -> bytes:
            region = m.group(1)
            return (
                b"."
                + self.identifier(region.decode()).encode()
                + b"."
                + region
                + b".rds.amazonaws.com"
            )

        return _INSTANCE.sub(instance, _CLUSTER.sub(cluster, body))

    def host(self, name: str) -> str:
        return self.rewrite(name.encode()).decode()
