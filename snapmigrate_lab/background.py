"""Work the data plane does on one cluster in a thread of its own: a major
upgrade, a failover, a point-in-time restore. Meanwhile the cluster shows a
status of the work's (the realism holds it, whatever the knobs, so the state
rules refuse other changes) and is ``busy`` (the archive tick leaves it
alone); work of an older generation (the lab was reset or is stopping) lets
go instead of finishing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snapmigrate_lab.dataplane import DataPlane


class BackgroundJob:
    """One cluster's background work: :meth:`run` in a thread (:meth:`start`)."""

    #: What the cluster shows while the work runs.
    status = "modifying"

    def __init__(
        self,
        plane: DataPlane,
        region: str,
        cluster_id: str,
        show: Callable[[str | None], None],
    ) -> None:
        self.plane, self.region, self.cluster_id = plane, region, cluster_id
        self.key = (region, cluster_id)
        self.show = show  # the status to show (None: the cluster's own again)
        self.generation = plane.generation

    def start(self) -> threading.Thread:
        """Show the status, mark the cluster busy and work in the background."""
        with self.plane._lock:
            self.show(self.status)
            self.plane.busy.add(self.key)
            self.generation = self.plane.generation
            self.starting()
        name = f"{type(self).__name__.lower()}-{self.cluster_id}"
        thread = threading.Thread(target=self.run, name=name, daemon=True)
        thread.start()
        return thread

    def starting(self) -> None:
        """What to do, under the plane's lock, before the thread starts."""

    def run(self) -> None:
        raise NotImplementedError

    def gone(self) -> bool:
        """Whether the lab was reset or is stopping since the work started."""
        return self.plane.generation != self.generation

    def done(self, status: str | None = None) -> None:
        """The cluster is no longer busy; it shows ``status`` (None: its own)."""
        with self.plane._lock:
            self.plane.busy.discard(self.key)
            self.show(status)
