"""The lab's data plane: one real PostgreSQL server per Aurora PostgreSQL
cluster, one physical copy per cluster snapshot.

Keys are ``(region, identifier)``, as in AWS. Copies are consistent
(``pg_basebackup`` with a fast checkpoint); restores copy the copy (sharing
blocks where the filesystem can) and start a server on a fresh loopback port.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapmigrate.errors import BadInput, NotFound
from snapmigrate_lab.postgres import PgServer, copy_tree, hand_over
from snapmigrate_lab.tlsproxy import ProxyHub

log = logging.getLogger(__name__)

#: The lab owns its data: durability is traded for speed. Physical copies
#: stay consistent (pg_basebackup forces full-page writes while it runs).
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "wal_level": "replica",
    "max_wal_senders": "10",
}

Key = tuple[str, str]


@dataclass
class SnapshotCopy:
    """A snapshot's data: a stopped data directory and the master login it holds."""

    path: Path
    user: str
    password: str = field(repr=False)
    cluster_id: str = ""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


class DataPlane:
    """Servers and copies under ``root``; every change is reported to ``on_change``."""

    def __init__(self, root: Path, proxies: ProxyHub | None = None) -> None:
        self.root = root
        self.proxies = proxies
        self.servers: dict[Key, PgServer] = {}
        self.endpoints: dict[Key, int] = {}
        self.copies: dict[Key, SnapshotCopy] = {}
        self._serial = itertools.count(1)
        self._lock = threading.RLock()

    # -- helpers ------------------------------------------------------------

    def _dir(self, kind: str, ident: str) -> Path:
        path = self.root / kind / f"{next(self._serial):04d}-{_safe(ident)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        hand_over(path.parent, recursive=False)
        return path

    def _settings(self) -> dict[str, str]:
        return dict(SERVER_SETTINGS)

    def endpoint_port(self, region: str, cluster_id: str) -> int:
        """Where clients connect for the cluster: its TLS endpoint, else the server itself."""
        key = (region, cluster_id)
        return self.endpoints.get(key) or self.server(region, cluster_id).port

    def _serve(self, key: Key, server: PgServer) -> None:
        self.servers[key] = server
        if self.proxies is not None:
            self.endpoints[key] = self.proxies.open(server.port)

    def _unserve(self, key: Key) -> PgServer | None:
        port = self.endpoints.pop(key, None)
        if port is not None and self.proxies is not None:
            self.proxies.close(port)
        return self.servers.pop(key, None)

    def server(self, region: str, cluster_id: str) -> PgServer:
        try:
            return self.servers[(region, cluster_id)]
        except KeyError:
            raise NotFound(f"the lab has no server for cluster {cluster_id} in {region}") from None

    def copy(self, region: str, snapshot_id: str) -> SnapshotCopy:
        try:
            return self.copies[(region, snapshot_id)]
        except KeyError:
            raise NotFound(f"the lab has no data copy for snapshot {snapshot_id} in {region}") from None

    def has_server(self, region: str, cluster_id: str) -> bool:
        return (region, cluster_id) in self.servers

    def has_copy(self, region: str, snapshot_id: str) -> bool:
        return (region, snapshot_id) in self.copies

    # -- clusters -----------------------------------------------------------

    def create(self, region: str, cluster_id: str, user: str, password: str, database: str | None = None) -> PgServer:
        """initdb + start a server for a new cluster, with its master login and first database."""
        with self._lock:
            if (region, cluster_id) in self.servers:
                raise BadInput(f"cluster {cluster_id} already has a server")
            server = PgServer.create(self._dir("clusters", cluster_id), user=user, password=password, settings=self._settings())
            try:
                server.start()
                if database and database != "postgres":
                    from psycopg import sql

                    self._execute(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except Exception:
                server.remove()
                raise
            self._serve((region, cluster_id), server)
            log.info("cluster %s: server on port %s", cluster_id, server.port)
            return server

    def snapshot(self, region: str, cluster_id: str, snapshot_id: str) -> SnapshotCopy:
        """A consistent physical copy of the cluster's server, kept under the snapshot id."""
        with self._lock:
            server = self.server(region, cluster_id)
            if (region, snapshot_id) in self.copies:
                raise BadInput(f"snapshot {snapshot_id} already has a copy")
            path = self._dir("snapshots", snapshot_id)
            if server.is_running():
                server.basebackup(path)
            else:  # a stopped cluster: its directory is consistent as it is
                copy_tree(server.datadir, path)
                for stale in ("postmaster.pid", "postmaster.opts"):
                    (path / stale).unlink(missing_ok=True)
            (path / "server.log").unlink(missing_ok=True)
            copy = SnapshotCopy(path, server.user, server.password, cluster_id)
            self.copies[(region, snapshot_id)] = copy
            log.info("snapshot %s of %s: %s", snapshot_id, cluster_id, path)
            return copy

    def restore(self, region: str, snapshot_region: str, snapshot_id: str, cluster_id: str) -> PgServer:
        """A new server for ``cluster_id`` started from a snapshot's copy."""
        with self._lock:
            copy = self.copy(snapshot_region, snapshot_id)
            server = PgServer.from_copy(
                copy.path, self._dir("clusters", cluster_id), user=copy.user, password=copy.password, settings=self._settings()
            )
            return self._adopt(region, cluster_id, server)

    def clone(self, region: str, source_id: str, cluster_id: str, snapshot_id: str) -> PgServer:
        """A new server for ``cluster_id`` holding the source's data as of now (point-in-time
        restore); the copy it starts from is kept as the new cluster's automated snapshot."""
        with self._lock:
            self.snapshot(region, source_id, snapshot_id)
            return self.restore(region, region, snapshot_id, cluster_id)

    def _adopt(self, region: str, cluster_id: str, server: PgServer) -> PgServer:
        try:
            server.start()
        except Exception:
            server.remove()
            raise
        self._serve((region, cluster_id), server)
        log.info("cluster %s: server on port %s from %s", cluster_id, server.port, server.datadir)
        return server

    def rename(self, region: str, old: str, new: str) -> None:
        with self._lock:
            if (region, old) in self.servers:
                self.servers[(region, new)] = self.servers.pop((region, old))
            if (region, old) in self.endpoints:
                self.endpoints[(region, new)] = self.endpoints.pop((region, old))

    def delete(self, region: str, cluster_id: str) -> None:
        """Stop the cluster's server and remove its data."""
        with self._lock:
            server = self._unserve((region, cluster_id))
            if server is not None:
                server.remove()

    def set_password(self, region: str, cluster_id: str, password: str) -> None:
        """The master password changed in AWS: change it in PostgreSQL too."""
        with self._lock:
            server = self.server(region, cluster_id)
            from psycopg import sql

            self._execute(server, sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(server.user), sql.Literal(password)))
            server.password = password

    # -- snapshots ----------------------------------------------------------

    def copy_snapshot(self, source_region: str, source_id: str, region: str, snapshot_id: str) -> SnapshotCopy:
        with self._lock:
            source = self.copy(source_region, source_id)
            path = self._dir("snapshots", snapshot_id)
            copy_tree(source.path, path)
            copy = SnapshotCopy(path, source.user, source.password, source.cluster_id)
            self.copies[(region, snapshot_id)] = copy
            return copy

    def share(self, region: str, snapshot_id: str, source_region: str, source_id: str) -> SnapshotCopy:
        """Record ``snapshot_id`` as holding the same data as another snapshot (copies are immutable)."""
        with self._lock:
            source = self.copy(source_region, source_id)
            copy = SnapshotCopy(source.path, source.user, source.password, source.cluster_id)
            self.copies[(region, snapshot_id)] = copy
            return copy

    def delete_snapshot(self, region: str, snapshot_id: str) -> None:
        """Forget a snapshot's copy; its directory goes when no other snapshot shares it."""
        with self._lock:
            copy = self.copies.pop((region, snapshot_id), None)
            if copy is not None and all(c.path != copy.path for c in self.copies.values()):
                shutil.rmtree(copy.path, ignore_errors=True)

    # -- the whole plane ----------------------------------------------------

    def stop_all(self) -> None:
        """Stop every server, several at a time (a test session's lab holds dozens)."""
        from concurrent.futures import ThreadPoolExecutor

        def stop(server: PgServer) -> None:
            try:
                server.stop()
            except Exception as e:  # keep stopping the others
                log.warning("stopping %s failed: %s", server.datadir, e)

        with self._lock, ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(stop, list(self.servers.values())))

    def reset(self) -> None:
        """Remove every server and copy (the lab's state is being reset)."""
        with self._lock:
            for key in list(self.servers):
                server = self._unserve(key)
                if server is not None:
                    server.remove()
            for copy in self.copies.values():
                shutil.rmtree(copy.path, ignore_errors=True)
            self.servers.clear()
            self.copies.clear()

    @staticmethod
    def _execute(server: PgServer, query: Any) -> None:
        """Run one composed statement (``psycopg.sql``) as the master user."""
        import psycopg

        with psycopg.connect(
            host=server.host, port=server.port, user=server.user, password=server.password, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(query)
