"""Snapshot copies: what the lab keeps for each cluster snapshot.

A copy is a stopped, consistent data directory (``pg_basebackup`` with a fast
checkpoint, or a stopped cluster's directory as it is) with the LSN it is
consistent at; copies are immutable, so a copied or shared snapshot may point
at the same directory, which goes when no snapshot and no WAL archive (whose
base backups they may be) uses it any more.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, NotFound
from snapmigrate_lab import logical
from snapmigrate_lab.postgres import PgServer, copy_tree

if TYPE_CHECKING:
    from snapmigrate_lab.archive import Archives

log = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass
class SnapshotCopy:
    """A snapshot's data: a stopped data directory and the master login it holds;
    ``lsn``, where it is consistent (``aurora_volume_logical_start_lsn()`` of its
    restores); whether it holds logical replication slots."""

    path: Path
    user: str
    password: str = field(repr=False)
    cluster_id: str = ""
    lsn: str = ""
    logical_slots: bool = False
    engine_version: str = ""


class Copies:
    """The data plane's snapshot copies (a part of :class:`DataPlane`)."""

    copies: dict[Key, SnapshotCopy]
    archives: Archives
    facts: dict[Key, Any]
    _lock: threading.RLock
    _dir: Callable[[str, str], Path]
    server: Callable[[str, str], PgServer]

    def copy(self, region: str, snapshot_id: str) -> SnapshotCopy:
        try:
            return self.copies[(region, snapshot_id)]
        except KeyError:
            raise NotFound(
                f"the lab has no data copy for snapshot {snapshot_id} in {region}"
            ) from None

    def has_copy(self, region: str, snapshot_id: str) -> bool:
        return (region, snapshot_id) in self.copies

    def snapshot(self, region: str, cluster_id: str, snapshot_id: str) -> SnapshotCopy:
        """A consistent physical copy of the cluster's server, kept under the snapshot id."""
        with self._lock:
            server = self.server(region, cluster_id)
            if (region, snapshot_id) in self.copies:
                raise BadInput(f"snapshot {snapshot_id} already has a copy")
            path = self._dir("snapshots", snapshot_id)
            if server.is_running():
                lsn = server.basebackup(path)
                logical.end_wal_at(path, lsn)  # consistent at lsn exactly, not later
                logical.copy_slots(server.datadir, path)
            else:  # a stopped cluster: its directory is consistent as it is
                copy_tree(server.datadir, path)
                for stale in ("postmaster.pid", "postmaster.opts"):
                    (path / stale).unlink(missing_ok=True)
                lsn = logical.checkpoint_lsn(path)
            has_logical = "logical" in logical.slots_on_disk(path).values()
            (path / "server.log").unlink(missing_ok=True)
            facts = self.facts.get((region, cluster_id))
            engine_version = facts.engine_version if facts else ""
            copy = SnapshotCopy(
                path, server.user, server.password, cluster_id, lsn, has_logical, engine_version
            )
            self.copies[(region, snapshot_id)] = copy
            log.info("snapshot %s of %s: %s", snapshot_id, cluster_id, path)
            return copy

    # -- snapshots ----------------------------------------------------------

    def copy_snapshot(
        self, source_region: str, source_id: str, region: str, snapshot_id: str
    ) -> SnapshotCopy:
        with self._lock:
            source = self.copy(source_region, source_id)
            path = self._dir("snapshots", snapshot_id)
            copy_tree(source.path, path)
            copy = SnapshotCopy(path, source.user, source.password, source.cluster_id)
            self.copies[(region, snapshot_id)] = copy
            return copy

    def share(
        self, region: str, snapshot_id: str, source_region: str, source_id: str
    ) -> SnapshotCopy:
        """Record ``snapshot_id`` as holding the same data as another snapshot (copies
        are immutable)."""
        with self._lock:
            source = self.copy(source_region, source_id)
            copy = SnapshotCopy(source.path, source.user, source.password, source.cluster_id)
            self.copies[(region, snapshot_id)] = copy
            return copy

    def delete_snapshot(self, region: str, snapshot_id: str) -> None:
        """Forget a snapshot's copy; its directory goes when no other snapshot shares it."""
        with self._lock:
            copy = self.copies.pop((region, snapshot_id), None)
            if copy is not None:
                self._release([copy.path])

    def _release(self, paths: list[Path]) -> None:
        """Remove directories no snapshot copy and no archive uses any more."""
        used = {c.path for c in self.copies.values()} | self.archives.references()
        for path in paths:
            if path not in used:
                shutil.rmtree(path, ignore_errors=True)
