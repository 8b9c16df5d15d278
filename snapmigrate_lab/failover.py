"""``FailoverDBCluster`` in the lab: a reader's replica becomes the writer and no
committed write is lost, as on Aurora's shared storage.

The call answers at once; the cluster shows ``failing-over`` while a thread

1. closes the cluster endpoint to new clients and stops the old writer (a fast
   shutdown: its sessions end, open transactions roll back, and its WAL
   senders hand every record to the connected replicas before it exits);
2. waits until the chosen replica has replayed the old writer's last record
   (its shutdown checkpoint) -- from the stream, or from the cluster's archive
   where the stream missed it; a replica that does not get there in time
   fails the failover, and the old writer comes back;
3. promotes the replica and points the cluster endpoint at it (writes resume);
4. makes the old writer a replica of the new one (it stopped cleanly at a
   point the new writer has replayed, so it follows the new timeline as it
   is; a fresh base backup where it does not), and the other readers follow.

Deleting the writer instance fails over the same way, without step 4's old
writer. Aurora: "service is typically restored in less than 120 seconds, and
often less than 60 seconds":
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from snapmigrate.errors import OperationFailed
from snapmigrate_lab import logical
from snapmigrate_lab.archive import wal_signature
from snapmigrate_lab.background import BackgroundJob
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.pgrun import hand_over
from snapmigrate_lab.postgres import PgServer
from snapmigrate_lab.replicas import (
    Replica,
    follow,
    lsn_after,
    primary_settings,
    wait_promoted,
    wait_streaming,
)

log = logging.getLogger(__name__)

#: How long the chosen replica may take to replay the old writer's last record.
CATCH_UP_S = 60.0


@dataclass(frozen=True)
class FailoverResult:
    """How a failover ended; ``writes_blocked_s``: from the old writer's stop until the
    new one took writes."""

    cluster_id: str
    old_writer: str
    new_writer: str
    writes_blocked_s: float
    elapsed_s: float
    error: str = ""


class Failover(BackgroundJob):
    """One cluster's failover, run in a thread of its own (:meth:`start`)."""

    status = "failing-over"

    def __init__(
        self,
        plane: DataPlane,
        region: str,
        cluster_id: str,
        old_writer: str,
        new_writer: str,
        *,
        show: Callable[[str | None], None],
        on_finish: Callable[[FailoverResult], None],
        keep_old: bool = True,
    ) -> None:
        super().__init__(plane, region, cluster_id, show)
        self.old_writer, self.new_writer, self.keep_old = old_writer, new_writer, keep_old
        self.on_finish = on_finish

    def run(self) -> None:
        started = time.monotonic()
        blocked, error = 0.0, ""
        try:
            blocked = self._switch()
        except Exception as e:
            log.warning("cluster %s: the failover failed: %s", self.cluster_id, e)
            error = str(e) or type(e).__name__
        result = FailoverResult(
            self.cluster_id,
            self.old_writer,
            self.new_writer,
            round(blocked, 3),
            round(time.monotonic() - started, 3),
            error,
        )
        log.info("cluster %s: %s", self.cluster_id, result)
        self.done()
        with self.plane._lock:
            self.on_finish(result)
        self.plane.on_change()

    # -- the steps ------------------------------------------------------------------

    def _switch(self) -> float:
        """Steps 1-4; the seconds writes were refused."""
        plane = self.plane
        with plane._lock:
            old = plane.server(*self.key)
            replica = plane.replicas.get(self.region, self.new_writer)
            if replica is None or replica.cluster_id != self.cluster_id:
                raise OperationFailed(f"instance {self.new_writer} has no replica to promote")
            endpoint = plane.endpoints.get(self.key)
            self._point(endpoint, ())  # the cluster endpoint refuses new clients
        fenced = time.monotonic()
        try:
            old.stop("fast")
            last = logical.checkpoint_lsn(old.datadir)
            self._catch_up(replica.server, old, last)
            replica.server.promote()
            wait_promoted(replica.server, timeout=60)
        except Exception:
            if not old.is_running() and not self.gone():
                old.start()  # the writer takes writes again; the cluster stays as it was
            self._point(endpoint, (old.port,))
            raise
        new = replica.server
        with plane._lock:
            if self.gone():
                raise OperationFailed("the lab was reset or stopped during the failover")
            new.settings = primary_settings(new.settings)
            new.configure(new.settings)
            plane.replicas.by.pop((self.region, self.new_writer), None)
            plane.servers[self.key] = new
            self._point(endpoint, (new.port,))
        blocked = time.monotonic() - fenced
        plane.on_change()  # lab.json and the instance endpoints show the new writer
        self._followers(old)
        return blocked

    def _catch_up(self, replica: PgServer, old: PgServer, last: str) -> None:
        """Wait until ``replica`` replayed past ``last``; after a few seconds, hand it the
        old writer's last WAL segment through the archive (the stream may have missed it)."""
        deadline = time.monotonic() + CATCH_UP_S
        handed = time.monotonic() + 3
        while not lsn_after(replica, last):
            now = time.monotonic()
            if now > deadline:
                raise OperationFailed(
                    f"the replica did not replay the writer's last record ({last}) "
                    f"within {CATCH_UP_S:.0f} s"
                )
            if handed and now > handed:
                self._hand_last_segment(old)
                handed = 0.0
            time.sleep(0.02)

    def _hand_last_segment(self, old: PgServer) -> None:
        archive = self.plane.archives.get(self.key)
        name, _ = wal_signature(old.datadir)
        if archive is None or not name or (archive.wal / name).exists():
            return
        log.info("cluster %s: the replica gets segment %s from the archive", self.cluster_id, name)
        shutil.copyfile(old.datadir / "pg_wal" / name, archive.wal / name)
        hand_over(archive.wal / name)

    def _followers(self, old: PgServer) -> None:
        """The old writer (or, deleted, its data) and the other readers follow the new one."""
        plane = self.plane
        restore = plane.replicas.restore_command(*self.key)
        new = plane.server(*self.key)
        if self.keep_old:
            old.settings = primary_settings(new.settings)
            follow(old, new, self.old_writer, restore)
            old.start()
            if wait_streaming(old):
                with plane._lock:
                    plane.replicas.by[(self.region, self.old_writer)] = Replica(
                        self.cluster_id, self.old_writer, old
                    )
            else:
                log.info("cluster %s: %s copied afresh", self.cluster_id, self.old_writer)
                old.remove()
                with plane._lock:
                    plane.replicas.add(self.region, self.cluster_id, self.old_writer)
        else:
            old.remove()
        for replica in plane.replicas.of(*self.key):
            if replica.instance_id == self.old_writer:
                continue
            replica.server.stop()
            replica.server.settings = primary_settings(new.settings)
            follow(replica.server, new, replica.instance_id, restore)
            replica.server.start()
            if not wait_streaming(replica.server):
                with plane._lock:
                    plane.replicas.remove(self.region, replica.instance_id)
                    plane.replicas.add(self.region, self.cluster_id, replica.instance_id)

    def _point(self, endpoint: int | None, targets: tuple[int, ...]) -> None:
        if endpoint is not None and self.plane.proxies is not None:
            self.plane.proxies.point(endpoint, targets)
