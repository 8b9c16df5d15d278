"""Which instance belongs to which cluster, kept by the lab itself.

moto keys an instance's cluster by the cluster's *name*: a rename leaves the
instances behind (they keep the old name, the renamed cluster shows no
members) and a cluster later renamed onto that name inherits them. AWS moves
the instances with the cluster. The lab records membership as AWS would and
rewrites moto's answers from it (``DBClusterMembers``, an instance's
``DBClusterIdentifier``, the ``db-cluster-id`` filter).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Member:
    instance_id: str
    cluster_id: str
    promotion_tier: int = 1
    writer: bool = False


@dataclass
class Topology:
    """Cluster membership per region, following renames."""

    _members: dict[tuple[str, str], Member] = field(default_factory=dict)
    _clusters: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_cluster(self, region: str, cluster_id: str) -> None:
        with self._lock:
            self._clusters.add((region, cluster_id))

    def knows(self, region: str, cluster_id: str) -> bool:
        return (region, cluster_id) in self._clusters

    def remove_cluster(self, region: str, cluster_id: str) -> None:
        with self._lock:
            self._clusters.discard((region, cluster_id))
            for key in [
                k for k, m in self._members.items() if k[0] == region and m.cluster_id == cluster_id
            ]:
                del self._members[key]

    def rename_cluster(self, region: str, old: str, new: str) -> None:
        with self._lock:
            self._clusters.discard((region, old))
            self._clusters.add((region, new))
            for (r, _), member in self._members.items():
                if r == region and member.cluster_id == old:
                    member.cluster_id = new

    def add_instance(
        self, region: str, instance_id: str, cluster_id: str, promotion_tier: int = 1
    ) -> Member:
        with self._lock:
            first = not self.members(region, cluster_id)
            member = Member(instance_id, cluster_id, promotion_tier, writer=first)
            self._members[(region, instance_id)] = member
            return member

    def remove_instance(self, region: str, instance_id: str) -> None:
        with self._lock:
            member = self._members.pop((region, instance_id), None)
            if member is not None and member.writer:
                rest = sorted(
                    self.members(region, member.cluster_id),
                    key=lambda m: (m.promotion_tier, m.instance_id),
                )
                if rest:
                    rest[0].writer = True

    def rename_instance(self, region: str, old: str, new: str) -> None:
        with self._lock:
            member = self._members.pop((region, old), None)
            if member is not None:
                member.instance_id = new
                self._members[(region, new)] = member

    def failover(self, region: str, cluster_id: str, target: str | None) -> None:
        """Make ``target`` (or the best other member) the writer."""
        with self._lock:
            members = self.members(region, cluster_id)
            current = next((m for m in members if m.writer), None)
            others = sorted(
                (m for m in members if m is not current),
                key=lambda m: (m.promotion_tier, m.instance_id),
            )
            chosen = (
                next((m for m in members if m.instance_id == target), None)
                if target
                else (others[0] if others else None)
            )
            if chosen is None:
                return
            for m in members:
                m.writer = m is chosen

    def cluster_of(self, region: str, instance_id: str) -> str | None:
        member = self._members.get((region, instance_id))
        return member.cluster_id if member else None

    def members(self, region: str, cluster_id: str) -> list[Member]:
        with self._lock:
            return sorted(
                (
                    m
                    for (r, _), m in self._members.items()
                    if r == region and m.cluster_id == cluster_id
                ),
                key=lambda m: (not m.writer, m.instance_id),
            )

    def instances(self, region: str) -> dict[str, str]:
        """instance id -> cluster id, for every instance the lab knows in ``region``."""
        with self._lock:
            return {i: m.cluster_id for (r, i), m in self._members.items() if r == region}

    def clear(self) -> None:
        with self._lock:
            self._members.clear()
            self._clusters.clear()
