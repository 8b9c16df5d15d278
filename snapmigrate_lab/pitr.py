"""``RestoreDBClusterToPointInTime`` (full copy) in the lab: a base backup of the
source and its archived WAL, replayed to the time asked for.

The call is checked and answered at once: the time must lie within the
source's restorable window (see :mod:`snapmigrate_lab.archive`), else
``InvalidRestoreFault``, as the API reference lists it for this call:
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
Before answering, the lab archives what the source committed until now, so
the time asked for lies before the archive's last record. The new cluster
shows ``creating`` while a thread copies the newest base backup from before
that time, replays the archive up to it (``recovery_target_time``: the
commits of that moment and before are in, later ones are not) and promotes
the copy; it then takes the new cluster's first base backup (its automated
snapshot). A recovery that fails leaves the cluster ``incompatible-restore``
("Amazon RDS can't do a point-in-time restore"):
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from snapmigrate.errors import OperationFailed
from snapmigrate_lab import logical
from snapmigrate_lab.archive import RecoveryPlan, restore_command
from snapmigrate_lab.background import BackgroundJob
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.majors import major_of
from snapmigrate_lab.postgres import PgServer
from snapmigrate_lab.provision import facts_of
from snapmigrate_lab.replicas import primary_settings, recovery_file, wait_promoted
from snapmigrate_lab.wire import AwsCall, Refused

log = logging.getLogger(__name__)

FAILED = "incompatible-restore"
#: Replaying a long archive takes long: the lab waits this long at most.
RECOVERY_S = 3600.0


@dataclass(frozen=True)
class RestoreResult:
    """How a point-in-time restore ended (``target`` empty: the end of the archive)."""

    cluster_id: str
    source_id: str
    target: str
    base_taken: str
    elapsed_s: float
    error: str = ""


def switch_point(datadir: Path) -> str:
    """Where a promoted server's timeline begins (its newest history file's last line)."""
    histories = sorted((datadir / "pg_wal").glob("*.history"))
    if not histories:
        return ""
    lines = [ln.split() for ln in histories[-1].read_text().splitlines() if ln.strip()]
    return lines[-1][1] if lines and len(lines[-1]) > 1 else ""


class PointInTimeRestore(BackgroundJob):
    """One restore of ``source_id`` to a time as the new cluster ``cluster_id``."""

    status = "creating"

    def __init__(
        self,
        plane: DataPlane,
        region: str,
        source_id: str,
        cluster_id: str,
        plan: RecoveryPlan,
        *,
        automated: list[str],
        engine_version: str,
        group: dict[str, str],
        show: Callable[[str | None], None],
    ) -> None:
        super().__init__(plane, region, cluster_id, show)
        self.source_id, self.plan = source_id, plan
        self.automated, self.engine_version, self.group = automated, engine_version, group

    def run(self) -> None:
        started, error = time.monotonic(), ""
        server: PgServer | None = None
        try:
            server = self._recover()
            self._adopt(server)
        except Exception as e:
            log.warning("cluster %s: the point-in-time restore failed: %s", self.cluster_id, e)
            error = str(e) or type(e).__name__
            if server is not None and (self.key not in self.plane.servers or self.gone()):
                server.remove()
        target = self.plan.target.isoformat() if self.plan.target else ""
        result = RestoreResult(
            self.cluster_id,
            self.source_id,
            target,
            self.plan.base.taken.isoformat(),
            round(time.monotonic() - started, 2),
            error,
        )
        with self.plane._lock:
            self.plane.restores.append(result)
        self.done(FAILED if error and not self.gone() else None)
        self.plane.on_change()

    def _recover(self) -> PgServer:
        """A copy of the base, replayed to the target and promoted (running, private)."""
        plane = self.plane
        with plane._lock:
            source = plane.server(self.region, self.source_id)
            choice = plane.builds.for_major(int((self.plan.base.path / "PG_VERSION").read_text()))
            slots = "logical" in logical.slots_on_disk(self.plan.base.path).values()
            settings = plane._settings(self.key, self.group, logical_slots=slots)
            server = PgServer.from_copy(
                self.plan.base.path,
                plane._dir("clusters", self.cluster_id),
                user=source.user,
                password=source.password,
                settings=settings,
                install=choice.install,
            )
        recovery = {
            "restore_command": restore_command(self.plan.wal),
            "recovery_target_timeline": "latest",
        }
        if self.plan.target is not None:
            recovery["recovery_target_time"] = self.plan.target.isoformat(sep=" ")
            recovery["recovery_target_action"] = "promote"
        recovery_file(server, "recovery", recovery)
        server.start(timeout=RECOVERY_S)
        wait_promoted(server, timeout=RECOVERY_S, give_up=self.gone)
        server.settings = primary_settings(server.settings)
        server.configure(server.settings)  # the recovery settings go at the next start
        return server

    def _adopt(self, server: PgServer) -> None:
        """The recovered server is the new cluster's; its first base backup and automated
        snapshot copies are taken."""
        plane = self.plane
        with plane._lock:
            if self.gone():
                raise OperationFailed("the lab was reset or stopped during the restore")
            plane._serve(self.key, server)
            choice = plane.builds.for_major(server.major)
            warning = ""
            if choice.build.major != major_of(self.engine_version):
                warning = (
                    f"cluster {self.cluster_id}: aurora-postgresql {self.engine_version} runs "
                    f"on PostgreSQL {choice.build.version}, the major of its source's data"
                )
            facts = facts_of(self.engine_version, choice, self.group, warning=warning)
            facts.start_lsn = switch_point(server.datadir)
            plane.facts[self.key] = facts
        if facts.start_lsn and logical.has_start_lsn(self.engine_version):
            logical.create_start_lsn_function(server, facts.start_lsn)
        with plane._lock:
            if self.automated:
                plane.snapshot(self.region, self.cluster_id, self.automated[0])
                for other in self.automated[1:]:
                    plane.share(self.region, other, self.region, self.automated[0])
                plane.archives.add_base(self.key, plane.copy(self.region, self.automated[0]).path)
        log.info("cluster %s: restored from %s to %s", self.cluster_id, self.source_id, self.plan)


def restore_time(value: str) -> datetime:
    """A ``RestoreToTime`` as the API takes it (ISO 8601, UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Refused(
            "InvalidParameterValue", f"RestoreToTime {value!r} is not a time in UTC format"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def shown(when: datetime | None) -> str:
    """A time as the RDS API shows it (UTC, milliseconds)."""
    if when is None:
        return "none"
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def check_window(plane: DataPlane, call: AwsCall) -> RecoveryPlan:
    """The recovery a full-copy restore of the call's source needs, once everything the
    source committed until now is archived; ``InvalidRestoreFault`` for a time outside
    its restorable window ("Users can restore to any point in time before
    LatestRestorableTime for up to BackupRetentionPeriod days"; AWS documents no
    message for it: the words are the lab's)."""
    key = (call.region, call.param("SourceDBClusterIdentifier") or "")
    archive = plane.archives.get(key)
    server = plane.servers.get(key)
    if archive is None or server is None:
        raise Refused("InvalidRestoreFault", f"DB cluster {key[1]} has no restorable backups.")
    if server.is_running() and key not in plane.busy:
        try:
            plane.archives.flush(key, server, timeout=30)
        except Exception as e:  # what is archived still restores
            log.warning("cluster %s: could not archive its latest WAL: %s", key[1], e)
    earliest, latest = plane.archives.window(key)
    wanted = call.param("RestoreToTime")
    when = restore_time(wanted) if wanted else latest
    if earliest is None or latest is None or when is None or not earliest <= when <= latest:
        raise Refused(
            "InvalidRestoreFault",
            f"The restore time {shown(when)} is not within the restorable time window of DB "
            f"cluster {key[1]} (from {shown(earliest)} to {shown(latest)}).",
        )
    return archive.plan(when)
