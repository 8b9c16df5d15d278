"""What AWS remembers about a cluster and moto does not, kept by the lab.

How the cluster came to be (created, restored from a snapshot or a point in
time, cloned); whether the first instance it gets must be provisioned (a
major version upgrade by snapshot restore or cloning, until that instance
exists); whether its Data API is on (moto implements no ``EnableHttpEndpoint``);
and, after a rename, from when its new endpoint names resolve. Records follow
renames and go with the cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CREATED, RESTORED, CLONED = "create", "restore", "clone"


@dataclass
class ClusterRecord:
    origin: str = CREATED
    provisioned_first: bool = False
    http_endpoint: bool = False
    names_from: float = 0.0


@dataclass
class History:
    """Cluster records per (region, identifier)."""

    clock: Callable[[], float] = time.monotonic
    _records: dict[tuple[str, str], ClusterRecord] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def record(self, region: str, cluster_id: str) -> ClusterRecord:
        """The cluster's record, made (as a plain creation) on first use."""
        with self._lock:
            return self._records.setdefault((region, cluster_id), ClusterRecord())

    def get(self, region: str, cluster_id: str) -> ClusterRecord | None:
        return self._records.get((region, cluster_id))

    def begin(self, region: str, cluster_id: str, origin: str) -> ClusterRecord:
        """A new cluster's record (a cluster made under a deleted one's name starts afresh)."""
        with self._lock:
            record = self._records[(region, cluster_id)] = ClusterRecord(origin=origin)
            return record

    def rename(self, region: str, old: str, new: str, *, dns_delay_s: float = 0.0) -> None:
        """Move the record; the new names resolve ``dns_delay_s`` from now."""
        with self._lock:
            record = self._records.pop((region, old), None) or ClusterRecord()
            record.names_from = self.clock() + dns_delay_s
            self._records[(region, new)] = record

    def names_pending(self, region: str, cluster_id: str) -> bool:
        """Whether the cluster's endpoint names do not resolve yet (a recent rename)."""
        record = self._records.get((region, cluster_id))
        return record is not None and self.clock() < record.names_from

    def forget(self, region: str, cluster_id: str) -> None:
        with self._lock:
            self._records.pop((region, cluster_id), None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
