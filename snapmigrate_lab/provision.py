"""How a cluster gets its server in the lab's data plane (a part of
:class:`snapmigrate_lab.dataplane.DataPlane`): initdb of the engine version's
major for a new cluster, a copy of a snapshot's copy for a restore (on the
snapshot's major), a copy of the source as of now for a clone; and what the
lab records about a cluster's server besides the server (:class:`ClusterFacts`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput
from snapmigrate_lab import logical
from snapmigrate_lab.majors import Builds, Choice, major_of, wheel_build
from snapmigrate_lab.postgres import PgServer

if TYPE_CHECKING:
    from snapmigrate_lab.archive import Archives
    from snapmigrate_lab.copies import SnapshotCopy

log = logging.getLogger(__name__)

#: WAL segments of 1 MB (PostgreSQL 11 and later): the archive closes one every second or
#: two while a cluster is written, so that its latest restorable time stays close.
SMALL_WAL = ("--wal-segsize=1",)

Key = tuple[str, str]


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


class Provisioning:
    """The data plane's making of cluster servers (a part of :class:`DataPlane`)."""

    servers: dict[Key, PgServer]
    facts: dict[Key, ClusterFacts]
    builds: Builds
    archives: Archives
    _lock: threading.RLock
    _dir: Callable[[str, str], Path]
    _settings: Callable[..., dict[str, str]]
    _serve: Callable[[Key, PgServer], None]
    _execute: Callable[[PgServer, Any], None]
    copy: Callable[[str, str], SnapshotCopy]
    snapshot: Callable[[str, str, str], SnapshotCopy]
    delete: Callable[[str, str], None]

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
                settings=self._settings((region, cluster_id), group),
                install=choice.install,
                initdb_args=SMALL_WAL if choice.build.major >= 11 else (),
            )
            try:
                server.start()
                if database and database != "postgres":
                    from psycopg import sql

                    self._execute(
                        server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
                    )
            except Exception:
                server.remove()
                raise
            self._serve((region, cluster_id), server)
            self.facts[(region, cluster_id)] = facts_of(engine_version, choice, group)
            log.info(
                "cluster %s: PostgreSQL %s server on port %s",
                cluster_id,
                choice.build.version,
                server.port,
            )
            return server

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
                settings=self._settings(
                    (region, cluster_id), group, logical_slots=copy.logical_slots
                ),
                install=choice.install,
            )
            self._adopt(region, cluster_id, server)
            self.archives.add_base((region, cluster_id), copy.path)  # restorable from now
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
            facts = facts_of(engine_version, choice, group, warning=warning)
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


def facts_of(
    engine_version: str, choice: Choice, group: dict[str, str] | None, *, warning: str = ""
) -> ClusterFacts:
    return ClusterFacts(
        engine_version=engine_version,
        version=choice.build.version,
        applied=dict(group or {}),
        wanted=dict(group or {}),
        warning=warning or choice.warning,
    )
