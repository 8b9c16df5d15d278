"""The lab's data plane: one real PostgreSQL server per Aurora PostgreSQL
cluster, on the major of its engine version, and one physical copy per
cluster snapshot.

Keys are ``(region, identifier)``, as in AWS. Copies are consistent
(``pg_basebackup`` with a fast checkpoint) and remember the LSN they are
consistent at (:mod:`snapmigrate_lab.copies`); restores copy the copy (sharing
blocks where the filesystem can), keep its major and start a server on a fresh
loopback port (:mod:`snapmigrate_lab.provision`). A server runs with its
cluster parameter group's settings as of its last start (``applied``); a group
changed since is ``wanted`` until a reboot (:mod:`snapmigrate_lab.power`).

Beside ``servers`` (the writers), ``replicas`` holds the reader instances'
servers (:mod:`snapmigrate_lab.replicas`) and ``archives`` each cluster's WAL
archive and base backups (:mod:`snapmigrate_lab.archive`). Work in the
background (an upgrade, a failover, a point-in-time restore) marks its cluster
``busy`` while it runs.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snapmigrate.errors import NotFound
from snapmigrate_lab.archive import Archives
from snapmigrate_lab.copies import Copies, SnapshotCopy
from snapmigrate_lab.majors import Builds
from snapmigrate_lab.pgrun import hand_over
from snapmigrate_lab.postgres import PgServer
from snapmigrate_lab.power import Power
from snapmigrate_lab.provision import ClusterFacts, Provisioning
from snapmigrate_lab.replicas import Replicas
from snapmigrate_lab.runtime import stop_servers_in
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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


class DataPlane(Provisioning, Power, Copies):
    """Servers and copies under ``root``; every change is reported to ``on_change``."""

    def __init__(
        self,
        root: Path,
        proxies: ProxyHub | None = None,
        *,
        builds: Builds | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.root = root
        self.proxies = proxies
        self.builds = builds or Builds(home=root)
        self.servers: dict[Key, PgServer] = {}
        self.facts: dict[Key, ClusterFacts] = {}
        self.endpoints: dict[Key, int] = {}
        self.copies: dict[Key, SnapshotCopy] = {}
        #: Called after work done in the background (an upgrade) changed the plane.
        self.on_change: Callable[[], None] = lambda: None
        #: Bumped by :meth:`reset`: background work of an older generation lets go.
        self.generation = 0
        #: How the major version upgrades of this lab ended (``upgrade.UpgradeResult``).
        self.upgrades: list[Any] = []
        #: How failovers and point-in-time restores ended (``FailoverResult``, ``RestoreResult``).
        self.failovers: list[Any] = []
        self.restores: list[Any] = []
        #: Clusters whose servers work in the background (no archive tick meanwhile).
        self.busy: set[Key] = set()
        self._serial = itertools.count(1)
        self._lock = lock or threading.RLock()
        self.replicas = Replicas(self)
        self.archives = Archives(root / "archives", self._archivable)

    # -- helpers ------------------------------------------------------------

    def _dir(self, kind: str, ident: str) -> Path:
        path = self.root / kind / f"{next(self._serial):04d}-{_safe(ident)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        hand_over(path.parent, recursive=False)
        return path

    def _settings(
        self, key: Key, group: dict[str, str] | None = None, *, logical_slots: bool = False
    ) -> dict[str, str]:
        """A server's settings: the lab's, its cluster's archive, its parameter group's."""
        settings = {**SERVER_SETTINGS, **self.archives.settings(key), **(group or {})}
        if logical_slots and settings.get("wal_level") != "logical":
            # PostgreSQL does not start with logical slots below wal_level logical; Aurora's
            # copies keep the slots whatever their group says.
            log.info("a copy with logical replication slots runs with wal_level logical")
            settings["wal_level"] = "logical"
        return settings

    def cluster_facts(self, region: str, cluster_id: str) -> ClusterFacts:
        try:
            return self.facts[(region, cluster_id)]
        except KeyError:
            raise NotFound(f"the lab has no server for cluster {cluster_id} in {region}") from None

    @property
    def warnings(self) -> list[str]:
        """What runs on another major than its engine version says (the fallback)."""
        return sorted({f.warning for f in self.facts.values() if f.warning})

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

    def has_server(self, region: str, cluster_id: str) -> bool:
        return (region, cluster_id) in self.servers

    # -- clusters -----------------------------------------------------------

    def ensure_base(self, region: str, cluster_id: str, snapshot_id: str | None) -> None:
        """The cluster's first base backup: its automated snapshot's copy, else one taken."""
        with self._lock:
            key = (region, cluster_id)
            archive = self.archives.get(key)
            if archive is None or archive.bases:
                return
            if snapshot_id and self.has_copy(region, snapshot_id):
                self.archives.add_base(key, self.copy(region, snapshot_id).path)
            else:
                self.archives.take_base(key, self.server(*key))

    def rename(self, region: str, old: str, new: str) -> None:
        with self._lock:
            if (region, old) in self.facts:
                self.facts[(region, new)] = self.facts.pop((region, old))
            if (region, old) in self.servers:
                self.servers[(region, new)] = self.servers.pop((region, old))
            if (region, old) in self.endpoints:
                self.endpoints[(region, new)] = self.endpoints.pop((region, old))
            self.archives.rename((region, old), (region, new))
            self.replicas.rename_cluster(region, old, new)

    def delete(self, region: str, cluster_id: str) -> None:
        """Stop the cluster's servers and remove its data and its archive (its
        automated backups go with it, as on AWS)."""
        with self._lock:
            self.facts.pop((region, cluster_id), None)
            self.replicas.forget_cluster(region, cluster_id)
            server = self._unserve((region, cluster_id))
            if server is not None:
                server.remove()
            self._release(self.archives.remove((region, cluster_id)))

    def set_password(self, region: str, cluster_id: str, password: str) -> None:
        """The master password changed in AWS: change it in PostgreSQL too."""
        with self._lock:
            server = self.server(region, cluster_id)
            from psycopg import sql

            self._execute(
                server,
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(server.user), sql.Literal(password)
                ),
            )
            server.password = password
            for replica in self.replicas.of(region, cluster_id):
                replica.server.password = password
            self.replicas.repoint(region, cluster_id)  # they log in to the writer with it

    # -- the whole plane ----------------------------------------------------

    def stop_all(self) -> None:
        """Stop every server, several at a time (a test session's lab holds dozens)."""
        from concurrent.futures import ThreadPoolExecutor

        def stop(server: PgServer) -> None:
            try:
                server.stop()
            except Exception as e:  # keep stopping the others
                log.warning("stopping %s failed: %s", server.datadir, e)

        self.archives.stop()
        with self._lock, ThreadPoolExecutor(max_workers=8) as pool:
            self.generation += 1  # background work lets go: nothing starts again
            list(pool.map(stop, [*self.replicas.servers(), *self.servers.values()]))
        stop_servers_in(self.root / "clusters")  # those of work in flight (an upgrade's)

    def reset(self) -> None:
        """Remove every server and copy (the lab's state is being reset)."""
        with self._lock:
            self.generation += 1
            self.facts.clear()
            self.upgrades.clear()
            self.failovers.clear()
            self.restores.clear()
            self.replicas.clear()
            for key in list(self.servers):
                server = self._unserve(key)
                if server is not None:
                    server.remove()
            for path in {c.path for c in self.copies.values()} | set(self.archives.clear()):
                shutil.rmtree(path, ignore_errors=True)
            self.servers.clear()
            self.copies.clear()

    def _archivable(self) -> list[tuple[Key, PgServer]]:
        """The writers the archive tick looks at: running, not busy in the background."""
        with self._lock:
            return [(k, s) for k, s in self.servers.items() if k not in self.busy]

    @staticmethod
    def _execute(server: PgServer, query: Any) -> None:
        """Run one composed statement (``psycopg.sql``) as the master user."""
        import psycopg

        with psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(query)
