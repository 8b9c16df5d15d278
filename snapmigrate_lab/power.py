"""Starting, stopping and rebooting a cluster's servers in the lab's data plane
(a part of :class:`snapmigrate_lab.dataplane.DataPlane`): a server runs with its
cluster parameter group's settings as of its last start (``applied``); a group
changed since is ``wanted`` until a reboot. The readers follow their writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from snapmigrate_lab import logical
from snapmigrate_lab.postgres import PgServer

if TYPE_CHECKING:
    from snapmigrate_lab.archive import Archives
    from snapmigrate_lab.provision import ClusterFacts
    from snapmigrate_lab.replicas import Replicas

log = logging.getLogger(__name__)


class Power:
    """The data plane's starts, stops and reboots (a part of :class:`DataPlane`)."""

    archives: Archives
    replicas: Replicas
    _lock: threading.RLock
    _settings: Callable[..., dict[str, str]]
    server: Callable[[str, str], PgServer]
    cluster_facts: Callable[[str, str], ClusterFacts]

    def want(self, region: str, cluster_id: str, group: dict[str, str]) -> bool:
        """The cluster's parameter group now says ``group``; whether a reboot is pending."""
        with self._lock:
            facts = self.cluster_facts(region, cluster_id)
            facts.wanted = dict(group)
            return facts.pending_reboot

    def reboot(self, region: str, cluster_id: str) -> None:
        """Restart the cluster's writer (sessions end) with its parameter group as it is
        now; its readers restart with it (a standby needs its primary's settings)."""
        with self._lock:
            self.server(region, cluster_id).stop()
            self.start(region, cluster_id)

    def start(self, region: str, cluster_id: str) -> None:
        """Start the cluster's writer (if stopped) with its parameter group as it is now,
        then its readers."""
        with self._lock:
            key = (region, cluster_id)
            server, facts = self.server(*key), self.cluster_facts(*key)
            if server.is_running():
                return
            slots = logical.slots_on_disk(server.datadir)
            logical_slots = "logical" in slots.values()
            server.configure(self._settings(key, facts.wanted, logical_slots=logical_slots))
            server.start()
            facts.applied = dict(facts.wanted)
            applied = facts.applied or "the default group"
            log.info("cluster %s: server started with %s", cluster_id, applied)
            self.replicas.repoint(region, cluster_id)

    def stop(self, region: str, cluster_id: str) -> None:
        """Stop the cluster's readers and writer, what it committed archived first."""
        with self._lock:
            key = (region, cluster_id)
            server = self.server(*key)
            if server.is_running() and self.archives.get(key) is not None:
                try:
                    self.archives.flush(key, server, timeout=30)
                except Exception as e:  # stopping matters more
                    log.warning("cluster %s: last WAL not archived before the stop: %s", key[1], e)
            self.replicas.stop(region, cluster_id)
            server.stop()
