"""Continuous WAL archiving per cluster: the lab's Aurora continuous backup.

Aurora keeps every cluster's changes restorable to any moment between
``EarliestRestorableTime`` and ``LatestRestorableTime`` ("typically within 5
minutes of the current time"):
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html

The lab's servers archive each completed WAL segment into their cluster's
archive (``archive_mode = on``, ``archive_command`` copying into
``<data home>/archives/NNNN-<cluster>/``), whatever server is the writer (a
failover's new timeline lands beside the old one). Base backups are the
cluster's automated snapshot copies (its first at creation or restore) and one
more every ``base_every_s``.

A background tick (every ``tick_s``) keeps ``LatestRestorableTime`` a second or
two behind the present: when a cluster's WAL has grown and a transaction took an
id since the last time everything was archived, it writes a *marker* -- it
notes the time, commits a transaction of its own (``txid_current()``) and
closes the segment (``pg_switch_wal()``). Once that segment is archived, every
commit before the noted time is restorable, and the marker's commit, later than
that time, is the record a recovery to any earlier time stops before. An idle
cluster's latest restorable time is the present.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import OperationFailed
from snapmigrate_lab.pgrun import hand_over
from snapmigrate_lab.postgres import PgServer

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

TICK_S = 1.0
BASE_EVERY_S = 3600.0
Key = tuple[str, str]


def utcnow() -> datetime:
    return datetime.now(UTC)


def ceil_ms(when: datetime) -> datetime:
    """``when`` rounded up to the millisecond (the API shows milliseconds: a base must not
    seem restorable before it is)."""
    extra = when.microsecond % 1000
    return when + timedelta(microseconds=1000 - extra) if extra else when


@dataclass(frozen=True)
class Base:
    """A base backup: a stopped, consistent data directory, restorable from ``taken``.
    ``owned``: the archive made it (else a snapshot copy shares the directory)."""

    path: Path
    taken: datetime
    owned: bool = False


@dataclass(frozen=True)
class Marker:
    """Every commit before ``at`` is in WAL up to the end of ``segment``."""

    at: datetime
    segment: str
    next_xid: int


@dataclass(frozen=True)
class RecoveryPlan:
    """How to restore a cluster to a time: a base, the WAL to replay, where to stop
    (``target`` None: the end of the archive)."""

    base: Base
    wal: Path
    target: datetime | None


@dataclass
class ClusterArchive:
    """One cluster's archive: its WAL directory, base backups and restorable window."""

    wal: Path
    bases: list[Base] = field(default_factory=list)
    retention_days: int = 1
    latest: datetime | None = None
    #: The time of the newest archived marker: a commit after it is in the archive.
    marked: datetime | None = None
    pending: list[Marker] = field(default_factory=list)
    #: The transaction id next to be assigned when everything before was archived.
    clean_xid: int | None = None
    seen: tuple[str, int] = ("", 0)

    @property
    def earliest(self) -> datetime | None:
        return self.bases[0].taken if self.bases else None

    def settings(self) -> dict[str, str]:
        """The server settings that archive into this archive (copy, then rename: a
        reader never sees half a segment)."""
        where = shlex.quote(str(self.wal))
        return {
            "archive_mode": "on",
            "archive_command": f"cp %p {where}/.tmp-%f && mv {where}/.tmp-%f {where}/%f",
        }

    def restore_command(self) -> str:
        return restore_command(self.wal)

    def settle(self) -> None:
        """Markers whose segment is archived move the restorable window forward."""
        while self.pending and (self.wal / self.pending[0].segment).exists():
            done = self.pending.pop(0)
            self.marked, self.clean_xid = done.at, done.next_xid
            self.latest = max(self.latest or done.at, done.at)

    def plan(self, when: datetime | None) -> RecoveryPlan:
        """The newest base from before ``when`` and where to stop (pure)."""
        usable = [b for b in self.bases if when is None or b.taken <= when]
        if not usable:
            raise OperationFailed("no base backup is old enough for that time")
        target = when if when is not None and self.marked and when < self.marked else None
        return RecoveryPlan(usable[-1], self.wal, target)


def restore_command(wal: Path) -> str:
    """The ``restore_command`` that reads an archive directory."""
    return f"cp {shlex.quote(str(wal))}/%f %p"


def wal_signature(datadir: Path) -> tuple[str, int]:
    """The WAL segment of a data directory written last, and when (by modification time:
    the newest name may be a recycled segment waiting for its turn)."""
    newest: tuple[int, str] = (0, "")
    try:
        with os.scandir(datadir / "pg_wal") as entries:
            for entry in entries:
                if len(entry.name) == 24 and entry.is_file():
                    newest = max(newest, (entry.stat().st_mtime_ns, entry.name))
    except OSError:
        return "", 0
    return newest[1], newest[0]


def _connect(server: PgServer) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(
        server.dsn("postgres"),
        autocommit=True,
        connect_timeout=5,
        application_name="snapmigrate-lab-archiver",
    )


def mark(server: PgServer, unless_next: int | None = None) -> Marker | int:
    """Note the time, commit a transaction, close the WAL segment: a :class:`Marker` --
    unless the next transaction id is still ``unless_next`` (nothing committed since the
    last marker): then that id."""
    at = utcnow()
    with _connect(server) as conn:
        if unless_next is not None:
            query = "SELECT txid_snapshot_xmax(txid_current_snapshot())"
            (nxt,) = conn.execute(query).fetchone() or (0,)
            if int(nxt) == unless_next:
                return unless_next
        (xid,) = conn.execute("SELECT txid_current()").fetchone() or (0,)
        (segment,) = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone() or ("",)
    return Marker(at, str(segment), int(xid) + 1)


class Archives:
    """The archives of a data plane's clusters, and the tick that keeps them current.

    ``servers`` lists the primaries to tick (key, server), leaving out clusters in
    the middle of a failover, an upgrade or a restore."""

    def __init__(self, root: Path, servers: Callable[[], Iterable[tuple[Key, PgServer]]]) -> None:
        self.root = root
        self.servers = servers
        self.tick_s = TICK_S
        self.base_every_s = BASE_EVERY_S
        self._by: dict[Key, ClusterArchive] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial = 0

    # -- records ----------------------------------------------------------------

    def get(self, key: Key) -> ClusterArchive | None:
        return self._by.get(key)

    def new(self, name: str) -> ClusterArchive:
        """A new, empty archive directory (not yet any cluster's)."""
        with self._lock:
            self._serial += 1
            wal = self.root / f"{self._serial:04d}-{name[:60]}"
            wal.mkdir(parents=True)
            hand_over(self.root, recursive=False)
            hand_over(wal)
            return ClusterArchive(wal)

    def settings(self, key: Key) -> dict[str, str]:
        """The archive settings of ``key``'s servers (its archive made on first use)."""
        with self._lock:
            if key not in self._by:
                self._by[key] = self.new(key[1])
            return self._by[key].settings()

    def attach(self, key: Key, archive: ClusterArchive) -> list[Path]:
        """``archive`` is now ``key``'s (a major upgrade starts one afresh); the
        directories of the one it replaces, to release."""
        with self._lock:
            old = self._by.pop(key, None)
            self._by[key] = archive
            return self._dirs(old)

    def add_base(self, key: Key, path: Path, *, owned: bool = False) -> Base:
        with self._lock:
            archive = self._by[key]
            base = Base(path, ceil_ms(utcnow()), owned)
            archive.bases.append(base)
            archive.latest = max(archive.latest or base.taken, base.taken)
            return base

    def rename(self, old: Key, new: Key) -> None:
        with self._lock:
            if old in self._by:
                self._by[new] = self._by.pop(old)

    def remove(self, key: Key) -> list[Path]:
        """Forget ``key``'s archive; the directories to release (its WAL, the base
        backups it made, the snapshot copies it shared)."""
        with self._lock:
            return self._dirs(self._by.pop(key, None))

    def clear(self) -> list[Path]:
        with self._lock:
            dirs = [d for a in self._by.values() for d in self._dirs(a)]
            self._by.clear()
            return dirs

    @staticmethod
    def _dirs(archive: ClusterArchive | None) -> list[Path]:
        return [] if archive is None else [archive.wal, *(b.path for b in archive.bases)]

    def references(self) -> set[Path]:
        """The base directories archives use (a snapshot copy's goes only with both)."""
        with self._lock:
            return {b.path for a in self._by.values() for b in a.bases}

    def window(self, key: Key) -> tuple[datetime | None, datetime | None]:
        """(EarliestRestorableTime, LatestRestorableTime) of ``key``, as known now."""
        with self._lock:
            archive = self._by.get(key)
            if archive is None:
                return None, None
            archive.settle()
            return archive.earliest, archive.latest

    # -- the tick -----------------------------------------------------------------

    def flush(self, key: Key, server: PgServer, timeout: float = 60) -> None:
        """Archive everything ``server`` committed until now (a marker, waited for)."""
        archive = self._by[key]
        marker = mark(server)
        assert isinstance(marker, Marker)
        deadline = time.monotonic() + timeout
        while not (archive.wal / marker.segment).exists():
            if time.monotonic() > deadline or not server.is_running():
                raise OperationFailed(f"WAL segment {marker.segment} was not archived in time")
            time.sleep(0.02)
        with self._lock:
            archive.pending.append(marker)
            archive.settle()

    def tick(self, key: Key, server: PgServer) -> None:
        """One look at a running primary: settle, mark or call it idle, take a base."""
        archive = self._by.get(key)
        if archive is None or not server.is_running():
            return
        now, seen = utcnow(), wal_signature(server.datadir)
        with self._lock:
            archive.settle()
            busy = bool(archive.pending)
            idle = seen == archive.seen and not busy
            if idle and archive.clean_xid is not None:
                archive.latest = now
        if not idle and not busy:
            marker = mark(server, unless_next=archive.clean_xid)
            with self._lock:
                if isinstance(marker, Marker):
                    archive.pending.append(marker)
                    archive.seen = wal_signature(server.datadir)
                else:  # WAL without commits (a checkpoint, a snapshot record)
                    archive.latest, archive.seen = now, seen
        newest = archive.bases[-1].taken if archive.bases else None
        if newest is not None and (now - newest).total_seconds() > self.base_every_s:
            self.take_base(key, server)

    def take_base(self, key: Key, server: PgServer) -> Base:
        """A base backup of ``server`` into the archive; bases beyond the retention go."""
        archive = self._by[key]
        path = archive.wal.parent / f"{archive.wal.name}.base-{len(archive.bases) + 1}"
        server.basebackup(path)
        (path / "server.log").unlink(missing_ok=True)
        base = self.add_base(key, path, owned=True)
        cutoff = base.taken - timedelta(days=archive.retention_days)
        with self._lock:
            while len(archive.bases) > 1 and archive.bases[1].taken <= cutoff:
                gone = archive.bases.pop(0)
                if gone.owned:
                    shutil.rmtree(gone.path, ignore_errors=True)
        return base

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lab-archiver", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            for key, server in list(self.servers()):
                if self._stop.is_set():
                    return
                try:
                    self.tick(key, server)
                except Exception as e:  # a server stopping under us: next time
                    log.debug("archive tick of %s: %s", key[1], e)
            with contextlib.suppress(Exception):
                for archive in list(self._by.values()):
                    with self._lock:
                        archive.settle()
