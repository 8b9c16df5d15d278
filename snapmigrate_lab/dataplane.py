"""The lab's data plane: one real PostgreSQL server per Aurora PostgreSQL
cluster, on the major of its engine version, and one physical copy per
cluster snapshot.

Keys are ``(region, identifier)``, as in AWS. Copies are consistent
(``pg_basebackup`` with a fast checkpoint) and remember the LSN they are
consistent at; restores copy the copy (sharing blocks where the filesystem
can), keep its major and start a server on a fresh loopback port. A server
runs with its cluster parameter group's settings as of its last start
(``applied``); a group changed since is ``wanted`` until a reboot.

Later work fits here: a cluster's readers as servers of their own beside
``servers`` (one per instance), a WAL archive per cluster beside ``copies``.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapmigrate.errors import BadInput, NotFound
from snapmigrate_lab import logical
from snapmigrate_lab.majors import Builds, Choice, major_of, wheel_build
from snapmigrate_lab.postgres import PgServer, copy_tree, hand_over, stop_servers_in
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


@dataclass
class ClusterFacts:
    """What the lab knows of a cluster's server besides the server itself."""

    engine_version: str
    version: str
    applied: dict[str, str] = field(default_factory=dict)
    wanted: dict[str, str] = field(default_factory=dict)
    start_lsn: str = ""
    warning: str = ""

    @property
    def pending_reboot(self) -> bool:
        """The parameter group changed since the server started."""
        return self.wanted != self.applied


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


class DataPlane:
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
        self._serial = itertools.count(1)
        self._lock = lock or threading.RLock()

    # -- helpers ------------------------------------------------------------

    def _dir(self, kind: str, ident: str) -> Path:
        path = self.root / kind / f"{next(self._serial):04d}-{_safe(ident)}"
        path.parent.mkdir(parents=True, exist_ok=True)
        hand_over(path.parent, recursive=False)
        return path

    @staticmethod
    def _settings(
        group: dict[str, str] | None = None, *, logical_slots: bool = False
    ) -> dict[str, str]:
        """A server's settings: the lab's, then its parameter group's."""
        settings = {**SERVER_SETTINGS, **(group or {})}
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

    def create(
        self,
        region: str,
        cluster_id: str,
        user: str,
        password: str,
        database: str | None = None,
        *,
        engine_version: str = "",
        group: dict[str, str] | None = None,
    ) -> PgServer:
        """initdb + start a server of the engine version's major for a new cluster, with
        its master login, first database and parameter group settings."""
        with self._lock:
            if (region, cluster_id) in self.servers:
                raise BadInput(f"cluster {cluster_id} already has a server")
            engine_version = engine_version or wheel_build().version
            choice = self.builds.for_engine(engine_version, f"cluster {cluster_id}")
            server = PgServer.create(
                self._dir("clusters", cluster_id),
                user=user,
                password=password,
                settings=self._settings(group),
                install=choice.install,
            )
            try:
                server.start()
                if database and database != "postgres":
                    from psycopg import sql

                    self._execute(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except Exception:
                server.remove()
                raise
            self._serve((region, cluster_id), server)
            self.facts[(region, cluster_id)] = _facts(engine_version, choice, group)
            log.info(
                "cluster %s: PostgreSQL %s server on port %s",
                cluster_id,
                choice.build.version,
                server.port,
            )
            return server

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

    def restore(
        self,
        region: str,
        snapshot_region: str,
        snapshot_id: str,
        cluster_id: str,
        *,
        engine_version: str = "",
        group: dict[str, str] | None = None,
    ) -> PgServer:
        """A new server for ``cluster_id`` started from a snapshot's copy, on the copy's
        major, with ``aurora_volume_logical_start_lsn()`` where the engine version has it.
        Asked for a newer major, it runs the snapshot's version: the caller upgrades it."""
        with self._lock:
            copy = self.copy(snapshot_region, snapshot_id)
            engine_version = engine_version or copy.engine_version or wheel_build().version
            choice = self.builds.for_major(int((copy.path / "PG_VERSION").read_text().strip()))
            if copy.engine_version and major_of(engine_version) > choice.build.major:
                engine_version = copy.engine_version
            server = PgServer.from_copy(
                copy.path,
                self._dir("clusters", cluster_id),
                user=copy.user,
                password=copy.password,
                settings=self._settings(group, logical_slots=copy.logical_slots),
                install=choice.install,
            )
            self._adopt(region, cluster_id, server)
            try:
                if copy.lsn and logical.has_start_lsn(engine_version):
                    logical.create_start_lsn_function(server, copy.lsn)
            except Exception:
                self.delete(region, cluster_id)
                raise
            warning = ""
            if choice.build.major != major_of(engine_version):
                warning = (
                    f"cluster {cluster_id}: aurora-postgresql {engine_version} runs on "
                    f"PostgreSQL {choice.build.version}, the major of its snapshot's data"
                )
            facts = _facts(engine_version, choice, group, warning=warning)
            facts.start_lsn = copy.lsn
            self.facts[(region, cluster_id)] = facts
            return server

    def clone(
        self,
        region: str,
        source_id: str,
        cluster_id: str,
        snapshot_id: str,
        *,
        engine_version: str = "",
        group: dict[str, str] | None = None,
    ) -> PgServer:
        """A new server for ``cluster_id`` holding the source's data as of now (point-in-time
        restore); the copy it starts from is kept as the new cluster's automated snapshot."""
        with self._lock:
            self.snapshot(region, source_id, snapshot_id)
            return self.restore(
                region, region, snapshot_id, cluster_id, engine_version=engine_version, group=group
            )

    def _adopt(self, region: str, cluster_id: str, server: PgServer) -> PgServer:
        try:
            server.start()
        except Exception:
            server.remove()
            raise
        self._serve((region, cluster_id), server)
        log.info("cluster %s: server on port %s from %s", cluster_id, server.port, server.datadir)
        return server

    # -- parameter groups and reboots ------------------------------------------

    def want(self, region: str, cluster_id: str, group: dict[str, str]) -> bool:
        """The cluster's parameter group now says ``group``; whether a reboot is pending."""
        with self._lock:
            facts = self.cluster_facts(region, cluster_id)
            facts.wanted = dict(group)
            return facts.pending_reboot

    def reboot(self, region: str, cluster_id: str) -> None:
        """Restart the cluster's server (sessions end) with its parameter group as it is now."""
        with self._lock:
            self.server(region, cluster_id).stop()
            self.start(region, cluster_id)

    def start(self, region: str, cluster_id: str) -> None:
        """Start the cluster's server (if stopped) with its parameter group as it is now."""
        with self._lock:
            server, facts = self.server(region, cluster_id), self.cluster_facts(region, cluster_id)
            if server.is_running():
                return
            slots = logical.slots_on_disk(server.datadir)
            logical_slots = "logical" in slots.values()
            server.configure(self._settings(facts.wanted, logical_slots=logical_slots))
            server.start()
            facts.applied = dict(facts.wanted)
            applied = facts.applied or "the default group"
            log.info("cluster %s: server started with %s", cluster_id, applied)

    def rename(self, region: str, old: str, new: str) -> None:
        with self._lock:
            if (region, old) in self.facts:
                self.facts[(region, new)] = self.facts.pop((region, old))
            if (region, old) in self.servers:
                self.servers[(region, new)] = self.servers.pop((region, old))
            if (region, old) in self.endpoints:
                self.endpoints[(region, new)] = self.endpoints.pop((region, old))

    def delete(self, region: str, cluster_id: str) -> None:
        """Stop the cluster's server and remove its data."""
        with self._lock:
            self.facts.pop((region, cluster_id), None)
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
            self.generation += 1  # background work lets go: nothing starts again
            list(pool.map(stop, list(self.servers.values())))
        stop_servers_in(self.root / "clusters")  # those of work in flight (an upgrade's)

    def reset(self) -> None:
        """Remove every server and copy (the lab's state is being reset)."""
        with self._lock:
            self.generation += 1
            self.facts.clear()
            self.upgrades.clear()
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


def _facts(
    engine_version: str, choice: Choice, group: dict[str, str] | None, *, warning: str = ""
) -> ClusterFacts:
    return ClusterFacts(
        engine_version=engine_version,
        version=choice.build.version,
        applied=dict(group or {}),
        wanted=dict(group or {}),
        warning=warning or choice.warning,
    )
