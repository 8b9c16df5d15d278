"""Aurora Replicas in the lab: every reader instance is a streaming replica of
its cluster's writer.

A reader is a base backup of the writer (``pg_basebackup``) started as a
standby (``standby.signal`` and ``primary_conninfo``; ``recovery.conf``
before 12) on its own port: read-only, with the replication lag of
asynchronous streaming, catching up from the cluster's WAL archive when the
stream cannot serve it. Endpoints are TLS relays (:mod:`snapmigrate_lab.tlsproxy`):

- the cluster (writer) endpoint reaches the writer;
- the reader endpoint reaches the readers in turn, the writer when there is
  none ("If the cluster contains only a primary instance and no Aurora
  Replicas, the reader endpoint connects to the primary instance"):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Overview.Endpoints.html
- each instance endpoint reaches that instance's own server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab.pgrun import hand_over
from snapmigrate_lab.postgres import PgServer, free_port

if TYPE_CHECKING:
    from snapmigrate_lab.dataplane import DataPlane

log = logging.getLogger(__name__)

Key = tuple[str, str]
#: What makes a server a standby (or a recovery), never carried to a writer or a copy.
RECOVERY_KEYS = (
    "primary_conninfo",
    "restore_command",
    "recovery_target_timeline",
    "recovery_target_time",
    "recovery_target_action",
    "recovery_target_lsn",
)
STALE_FILES = (
    "postmaster.pid",
    "postmaster.opts",
    "server.log",
    "standby.signal",
    "recovery.signal",
    "recovery.conf",
    "recovery.done",
)


@dataclass
class Replica:
    """A reader instance's server."""

    cluster_id: str
    instance_id: str
    server: PgServer


def primary_settings(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` without what made a server a standby or a recovery."""
    return {k: v for k, v in settings.items() if k not in RECOVERY_KEYS}


def conninfo(**fields: str | int) -> str:
    """A libpq key=value connection string, every value quoted."""

    def quoted(value: str | int) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in fields.items())


def recovery_file(server: PgServer, kind: str, settings: dict[str, str]) -> None:
    """Ask a stopped server to start in recovery: ``kind`` ``standby`` (follow a
    primary for good) or ``recovery`` (replay an archive, then promote), with
    ``settings`` (primary_conninfo, restore_command, a target): the signal file
    and settings from 12, ``recovery.conf`` before."""
    from snapmigrate_lab.postgres import conf_quote

    for stale in STALE_FILES[3:]:
        (server.datadir / stale).unlink(missing_ok=True)
    base = primary_settings(server.settings)
    if server.major >= 12:
        server.configure({**base, **settings})
        signal = server.datadir / f"{kind}.signal"
        signal.touch()
        hand_over(signal)
        return
    server.configure(base)
    lines = {"standby_mode": "on"} if kind == "standby" else {}
    lines.update(settings)
    conf = server.datadir / "recovery.conf"
    conf.write_text("".join(f"{k} = {conf_quote(v)}\n" for k, v in lines.items()))
    conf.chmod(0o600)  # it holds the replication password
    hand_over(conf)


def follow(server: PgServer, primary: PgServer, name: str, restore_command: str) -> None:
    """Make ``server`` (stopped, with the primary's settings) a standby of ``primary``."""
    link = conninfo(
        host=primary.host,
        port=primary.port,
        user=primary.user,
        password=primary.password,
        application_name=name,
    )
    settings = {"primary_conninfo": link, "recovery_target_timeline": "latest"}
    if restore_command:
        settings["restore_command"] = restore_command
    recovery_file(server, "standby", settings)


def clone(primary: PgServer, datadir: Path, name: str, restore_command: str) -> PgServer:
    """A new standby of ``primary`` in ``datadir`` (a base backup), started."""
    primary.basebackup(datadir)
    for stale in STALE_FILES:
        (datadir / stale).unlink(missing_ok=True)
    server = PgServer(datadir, free_port(), primary.user, primary.password, install=primary.install)
    server.settings = primary_settings(primary.settings)
    follow(server, primary, name, restore_command)
    try:
        server.start()
    except Exception:
        server.remove()
        raise
    return server


def lsn_after(server: PgServer, lsn: str) -> bool:
    """Whether a standby has replayed the record that begins at ``lsn``."""
    import psycopg

    try:
        with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT coalesce(pg_last_wal_replay_lsn() > %s::pg_lsn, false)", (lsn,)
            ).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


def wait_promoted(server: PgServer, timeout: float = 3600, give_up: object = None) -> None:
    """Wait until ``server`` is out of recovery (writable)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=3) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row and not row[0]:
                return
        except psycopg.Error:
            if not server.is_running():
                raise OperationFailed(
                    f"the server in {server.datadir} stopped in recovery"
                ) from None
        if time.monotonic() > deadline or (callable(give_up) and give_up()):
            raise OperationFailed(f"the server in {server.datadir} is still in recovery")
        time.sleep(0.05)


class Replicas:
    """The reader instances' servers of a data plane, and the endpoints that reach them."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self.by: dict[Key, Replica] = {}  # (region, instance id)
        self.instance_ports: dict[Key, int] = {}  # (region, instance id) -> endpoint
        self.reader_ports: dict[Key, int] = {}  # (region, cluster id) -> endpoint

    def of(self, region: str, cluster_id: str) -> list[Replica]:
        return sorted(
            (r for (reg, _), r in self.by.items() if reg == region and r.cluster_id == cluster_id),
            key=lambda r: r.instance_id,
        )

    def get(self, region: str, instance_id: str) -> Replica | None:
        return self.by.get((region, instance_id))

    def restore_command(self, region: str, cluster_id: str) -> str:
        archive = self.plane.archives.get((region, cluster_id))
        return archive.restore_command() if archive is not None else ""

    # -- life cycle -----------------------------------------------------------------

    def add(self, region: str, cluster_id: str, instance_id: str) -> Replica:
        """A new reader of the cluster: a base backup of its writer, streaming."""
        primary = self.plane.server(region, cluster_id)
        if not primary.is_running():
            raise BadInput(f"cluster {cluster_id} is stopped: its writer cannot be copied")
        datadir = self.plane._dir("clusters", instance_id)
        server = clone(primary, datadir, instance_id, self.restore_command(region, cluster_id))
        replica = Replica(cluster_id, instance_id, server)
        self.by[(region, instance_id)] = replica
        log.info("instance %s: a replica of %s on port %s", instance_id, cluster_id, server.port)
        return replica

    def remove(self, region: str, instance_id: str) -> None:
        """Stop and remove a reader's server and its endpoint."""
        replica = self.by.pop((region, instance_id), None)
        self._close(self.instance_ports.pop((region, instance_id), None))
        if replica is not None:
            replica.server.remove()

    def repoint(self, region: str, cluster_id: str, *, only: str | None = None) -> None:
        """Restart the cluster's readers (or ``only`` that one) following its writer as it
        is now (its port, password and settings: a standby needs its primary's settings)."""
        primary = self.plane.server(region, cluster_id)
        for replica in self.of(region, cluster_id):
            if only is not None and replica.instance_id != only:
                continue
            replica.server.stop()
            replica.server.settings = primary_settings(primary.settings)
            follow(
                replica.server,
                primary,
                replica.instance_id,
                self.restore_command(region, cluster_id),
            )
            if primary.is_running():
                replica.server.start()

    def stop(self, region: str, cluster_id: str) -> None:
        for replica in self.of(region, cluster_id):
            replica.server.stop()

    def rebuild(self, region: str, cluster_id: str) -> None:
        """Copy the writer afresh into each reader (its data changed under them: an upgrade)."""
        for replica in self.of(region, cluster_id):
            replica.server.remove()
            self.by.pop((region, replica.instance_id), None)
            self.add(region, cluster_id, replica.instance_id)

    def rename_cluster(self, region: str, old: str, new: str) -> None:
        for replica in self.of(region, old):
            replica.cluster_id = new
        if (region, old) in self.reader_ports:
            self.reader_ports[(region, new)] = self.reader_ports.pop((region, old))

    def rename_instance(self, region: str, old: str, new: str) -> None:
        replica = self.by.pop((region, old), None)
        if replica is not None:
            replica.instance_id = new
            self.by[(region, new)] = replica
        if (region, old) in self.instance_ports:
            self.instance_ports[(region, new)] = self.instance_ports.pop((region, old))

    def forget_cluster(self, region: str, cluster_id: str) -> None:
        """The cluster is gone: its readers (there should be none) and reader endpoint go."""
        for replica in self.of(region, cluster_id):
            self.remove(region, replica.instance_id)
        self._close(self.reader_ports.pop((region, cluster_id), None))

    def servers(self) -> list[PgServer]:
        return [r.server for r in self.by.values()]

    def clear(self) -> None:
        for key in list(self.by):
            self.remove(*key)
        for port in [*self.instance_ports.values(), *self.reader_ports.values()]:
            self._close(port)
        self.instance_ports.clear()
        self.reader_ports.clear()

    # -- endpoints ------------------------------------------------------------------

    def endpoints(
        self, region: str, cluster_id: str, instances: Iterable[str]
    ) -> tuple[int, dict[str, int]]:
        """The reader endpoint's port and each instance endpoint's, each pointed at
        the servers it reaches now (opened on first use)."""
        primary = self.plane.server(region, cluster_id).port
        readers = tuple(r.server.port for r in self.of(region, cluster_id) if r.server.is_running())
        reader = self._point(self.reader_ports, (region, cluster_id), readers or (primary,))
        ports: dict[str, int] = {}
        for instance_id in instances:
            replica = self.by.get((region, instance_id))
            target = replica.server.port if replica is not None else primary
            ports[instance_id] = self._point(self.instance_ports, (region, instance_id), (target,))
        return reader, ports

    def _point(self, ports: dict[Key, int], key: Key, targets: tuple[int, ...]) -> int:
        proxies = self.plane.proxies
        if proxies is None:
            return targets[0]
        if key not in ports:
            ports[key] = proxies.open(targets)
        else:
            proxies.point(ports[key], targets)
        return ports[key]

    def _close(self, port: int | None) -> None:
        if port is not None and self.plane.proxies is not None:
            self.plane.proxies.close(port)


def wait_streaming(server: PgServer, timeout: float = 30) -> bool:
    """Whether a standby receives a stream within ``timeout`` seconds."""
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=3) as conn:
                row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
            if row and row[0] == "streaming":
                return True
        except psycopg.Error:
            if not server.is_running():
                return False
        time.sleep(0.1)
    return False
