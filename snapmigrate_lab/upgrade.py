"""Major version upgrades that move the data, as
``ModifyDBCluster --engine-version X --allow-major-version-upgrade`` does on Aurora.

The call answers at once; the cluster (and its instances) show ``upgrading``
while a background thread takes the server offline (it moves to a private
port: clients are refused, as during Aurora's upgrade), dumps every database
with the wheel's client tools (``pg_dumpall --globals-only``, then
``pg_dump``/``pg_restore`` per database: time in proportion to the data),
restores into a new server of X's major, and puts that server on the
cluster's port. Roles, passwords and databases survive; planner statistics do
not (pg_upgrade before 18 does not carry them either). The new server archives
into a new WAL archive, whose first base backup is taken once it serves; the
readers are copied afresh. A failure puts the old server back and the cluster
back on its old engine version.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_UpgradeDBInstance.PostgreSQL.MajorVersion.html
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snapmigrate.errors import OperationFailed
from snapmigrate_lab import logical
from snapmigrate_lab.archive import ClusterArchive
from snapmigrate_lab.background import BackgroundJob
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.majors import Choice, major_of
from snapmigrate_lab.pgrun import binary, hand_over, run_pg, run_pg_full
from snapmigrate_lab.postgres import PgServer, free_port
from snapmigrate_lab.provision import SMALL_WAL
from snapmigrate_lab.replicas import primary_settings

log = logging.getLogger(__name__)

#: What pg_restore of the 18 tools says into an older server: a SET the older one lacks.
HARMLESS = ('unrecognized configuration parameter "transaction_timeout"',)
#: A database frozen read-only (``ALTER DATABASE ... SET default_transaction_read_only``)
#: is restored all the same: a client's option outranks the database's setting.
WRITABLE = {"PGOPTIONS": "-c default_transaction_read_only=off"}


def is_major(current: str, new: str | None) -> bool:
    return bool(new and current) and major_of(str(new)) != major_of(current)


@dataclass(frozen=True)
class UpgradeResult:
    """How an upgrade ended: the versions, the databases moved, the time, the error if any."""

    cluster_id: str
    from_version: str
    to_version: str
    server_version: str
    databases: tuple[str, ...]
    elapsed_s: float
    error: str = ""


def databases(server: PgServer) -> list[str]:
    """The databases to move: every one that takes connections (template1 too)."""
    listed = server.psql("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname")
    return [name for name in listed.splitlines() if name]


def dump_and_restore(old: PgServer, new: PgServer, workdir: Path) -> list[str]:
    """Move roles and every database of ``old`` into ``new`` (running, same master login)."""
    env = {"PGPASSWORD": old.password}
    roles = run_pg(
        [binary("pg_dumpall"), "--globals-only", "-d", old.dsn(with_password=False)], env=env
    )
    done = subprocess.run(
        [binary("psql"), "-X", "-q", "-d", new.dsn(with_password=False), "-f", "-"],
        input=roles,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGPASSWORD": new.password, **WRITABLE},
    )
    _require_clean(
        done.stderr, "the roles", allowed=(f'role "{new.user}" already exists', *HARMLESS)
    )
    moved: list[str] = []
    for name in databases(old):
        dump = workdir / f"{len(moved):03d}.dump"
        run_pg(
            [binary("pg_dump"), "-Fc", "-f", str(dump), "-d", old.dsn(name, with_password=False)],
            env=env,
            timeout=24 * 3600,
        )
        existing = name in ("postgres", "template1")  # initdb made them: fill, do not create
        target = new.dsn(name if existing else "postgres", with_password=False)
        restored = run_pg_full(
            [binary("pg_restore"), *([] if existing else ["--create"]), "-d", target, str(dump)],
            env={"PGPASSWORD": new.password, **WRITABLE},
            timeout=24 * 3600,
            check=False,
        )
        _require_clean(restored.stderr, f"database {name}", allowed=HARMLESS)
        if existing:  # pg_restore without --create carries no database settings
            carry_database_settings(old, new, name)
        dump.unlink()
        moved.append(name)
    return moved


#: A database's own settings, and those of a role in it, as ``ALTER`` statements need them.
SETTINGS_SQL = """
SELECT r.rolname, unnest(s.setconfig)
FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
LEFT JOIN pg_roles r ON r.oid = s.setrole
WHERE d.datname = %s
"""


def carry_database_settings(old: PgServer, new: PgServer, name: str) -> None:
    """``ALTER DATABASE name [IN ROLE ...] SET`` on ``new`` as on ``old`` (frozen stays so)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(old.dsn(name)) as conn:
        rows = conn.execute(SETTINGS_SQL, (name,)).fetchall()
    with psycopg.connect(new.dsn("postgres"), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # postgres may be frozen already
        for role, setting in rows:
            key, _, value = str(setting).partition("=")
            target = sql.SQL("ALTER DATABASE {}").format(sql.Identifier(name))
            if role is not None:
                target = sql.SQL("ALTER ROLE {} IN DATABASE {}").format(
                    sql.Identifier(role), sql.Identifier(name)
                )
            set_it = sql.SQL("{} SET {} = {}").format(
                target, sql.Identifier(key), sql.Literal(value)
            )
            conn.execute(set_it)


def _require_clean(stderr: str, what: str, *, allowed: tuple[str, ...]) -> None:
    """Fail on any error a client tool printed but the ``allowed`` ones."""
    errors = [
        line
        for line in stderr.splitlines()
        if any(k in line for k in ("ERROR:", "FATAL:", "error:"))
    ]
    unexpected = [line for line in errors if not any(a in line for a in allowed)]
    if unexpected:
        raise OperationFailed(f"restoring {what} failed: {unexpected[0].strip()}")


def logical_slots(server: PgServer) -> list[str]:
    return [name for name, kind in logical.persistent_slots(server).items() if kind == "logical"]


class Upgrade(BackgroundJob):
    """One cluster's upgrade, run in a thread of its own (:meth:`start`)."""

    def __init__(
        self,
        plane: DataPlane,
        region: str,
        cluster_id: str,
        to_version: str,
        *,
        show: Callable[[str | None], None],
        on_finish: Callable[[UpgradeResult], None],
        status: str = "upgrading",
    ) -> None:
        super().__init__(plane, region, cluster_id, show)
        self.to_version = to_version
        self.status = status  # upgrading, or creating (a restore at a newer major)
        self.on_finish = on_finish
        self.from_version = plane.cluster_facts(region, cluster_id).engine_version
        self.archive: ClusterArchive | None = None

    def starting(self) -> None:
        self.plane.replicas.stop(self.region, self.cluster_id)  # copied afresh at the end

    def run(self) -> None:
        started = time.monotonic()
        key = (self.region, self.cluster_id)
        with self.plane._lock:
            old = self.plane.server(*key)
        offline = PgServer(old.datadir, free_port(), old.user, old.password, install=old.install)
        new: PgServer | None = None
        choice: Choice | None = None
        moved: list[str] = []
        error = ""
        try:
            old.stop()  # offline: the endpoint refuses clients until the new server takes its port
            offline.configure(old.settings)
            offline.start()
            slots = logical_slots(offline) if offline.major < 17 else []
            if slots:
                # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pglogical.recover-replication-after-upgrade.html
                raise OperationFailed(
                    f"the upgrade precheck found logical replication slot(s) "
                    f"{', '.join(slots)}: drop them "
                    f"before upgrading from PostgreSQL {offline.major}"
                )
            choice = self.plane.builds.for_engine(self.to_version, f"cluster {self.cluster_id}")
            if choice.build.major != offline.major:
                new = self._move(offline, old, choice, moved)
        except Exception as e:
            log.warning(
                "cluster %s: the upgrade to %s failed: %s", self.cluster_id, self.to_version, e
            )
            error = str(e) or type(e).__name__
        result = UpgradeResult(
            self.cluster_id,
            self.from_version,
            self.to_version,
            choice.build.version if choice else "",
            tuple(moved),
            round(time.monotonic() - started, 2),
            error,
        )
        try:
            self._finish(old, offline, new, choice, result)
        except Exception:
            log.exception("cluster %s: could not finish the upgrade", self.cluster_id)

    def _move(self, offline: PgServer, old: PgServer, choice: Choice, moved: list[str]) -> PgServer:
        """A new server of ``choice`` holding what ``offline`` holds (running, private port)."""
        workdir = self.plane._dir("upgrades", self.cluster_id)
        workdir.mkdir()
        hand_over(workdir)
        self.archive = self.plane.archives.new(self.cluster_id)  # a new system: a new archive
        new = PgServer.create(
            self.plane._dir("clusters", self.cluster_id),
            user=old.user,
            password=old.password,
            settings={**primary_settings(old.settings), **self.archive.settings()},
            install=choice.install,
            initdb_args=SMALL_WAL if choice.build.major >= 11 else (),
            # md5 hashes of roles from a major before 14 log in on md5 (SCRAM ones too).
            auth="md5" if offline.major < 14 else None,
        )
        try:
            new.start()
            moved += dump_and_restore(offline, new, workdir)
            start_lsn = self.plane.cluster_facts(self.region, self.cluster_id).start_lsn
            if start_lsn and logical.has_start_lsn(self.to_version):
                logical.create_start_lsn_function(new, start_lsn)
        except Exception:
            new.remove()
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return new

    def _finish(
        self,
        old: PgServer,
        offline: PgServer,
        new: PgServer | None,
        choice: Choice | None,
        result: UpgradeResult,
    ) -> None:
        """Put the new server (or, after a failure, the old one) on the cluster's port."""
        key = (self.region, self.cluster_id)
        with self.plane._lock:
            if self.gone():  # the lab was reset or is stopping
                self.done()
                offline.stop()
                if new is not None:
                    new.remove()  # a second copy: the old data directory is the cluster's
                self._drop_archive()
                return
            offline.stop()
            facts = self.plane.cluster_facts(*key)
            try:
                if result.error or choice is None:
                    old.restart(settings=old.settings)
                    self._drop_archive()
                elif new is not None:
                    new.restart(port=old.port)
                    self.plane.servers[key] = new
                    shutil.rmtree(old.datadir, ignore_errors=True)
                    facts.engine_version, facts.version, facts.warning = (
                        self.to_version,
                        choice.build.version,
                        choice.warning,
                    )
                    if self.archive is not None:
                        self.plane._release(self.plane.archives.attach(key, self.archive))
                else:  # the same major runs it (the fallback): nothing to move
                    old.restart(settings=old.settings)
                    facts.engine_version, facts.warning = self.to_version, choice.warning
                    self._drop_archive()
                self.plane.replicas.rebuild(*key)
            except Exception:
                log.exception("cluster %s: the readers could not follow the upgrade", key[1])
            finally:
                self.done()
            log.info(
                "cluster %s: upgrade %s -> %s %s in %.1f s",
                self.cluster_id,
                self.from_version,
                self.to_version,
                f"failed ({result.error})" if result.error else "done",
                result.elapsed_s,
            )
            self.on_finish(result)
        self.plane.on_change()
        if new is not None and self.plane.servers.get(key) is new:
            try:  # the new archive's first base backup: restorable from now on
                self.plane.archives.take_base(key, new)
            except Exception as e:
                log.warning("cluster %s: no base backup after the upgrade: %s", key[1], e)

    def _drop_archive(self) -> None:
        if self.archive is not None:
            shutil.rmtree(self.archive.wal, ignore_errors=True)
            self.archive = None
