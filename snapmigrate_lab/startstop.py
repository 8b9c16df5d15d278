"""Starting and stopping a lab: the daemon process launched in its own session
and waited for until it answers (or taken down again when it does not), and
on the way down the daemon, every PostgreSQL server the lab left and its
directory.

:meth:`snapmigrate_lab.Lab.up` and :meth:`snapmigrate_lab.Lab.down` call
:func:`start` and :func:`stop`; the daemon itself is :mod:`snapmigrate_lab.daemon`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab import runtime
from snapmigrate_lab import state as labstate
from snapmigrate_lab.runtime import alive as _alive
from snapmigrate_lab.state import LabState

if TYPE_CHECKING:
    from snapmigrate_lab import Lab
    from snapmigrate_lab.realism import Knobs

#: The user's AWS profile means nothing to the lab (and a missing one would break it).
PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass(frozen=True)
class DownResult:
    """What ``lab down`` did."""

    dir: str
    daemon_stopped: bool
    servers_stopped: int
    removed: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def start(
    lab: Lab,
    *,
    knobs: Knobs | dict[str, Any] | None,
    timeout: float,
    watch_pid: int | None,
    postgres: str | None,
) -> LabState:
    """Start ``lab``'s daemon and return once it answers (see :meth:`Lab.up`)."""
    from snapmigrate_lab.majors import policy

    chosen = policy(postgres)
    if lab.is_running():
        st = lab._running_state()
        if knobs is not None:
            lab.set_knobs(**_knob_dict(knobs))
        return st
    if lab.state is not None:
        # a lab that died: its servers stopped, its data unusable without moto's state
        lab.down()
    if lab.dir.exists() and any(lab.dir.iterdir()):
        raise BadInput(f"{lab.dir} is not empty and holds no lab: pick another --dir")
    runtime.check()
    # A lab that crashed and whose directory went since (by hand, a test session's temp
    # directory) left its data home: no lab runs on it, so it goes before a new one starts.
    runtime.remove_lab_home(lab.dir)
    lab.dir.mkdir(parents=True, exist_ok=True)
    log_file = open(lab.dir / labstate.LOG_FILE, "ab")  # noqa: SIM115 - handed to the daemon
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "snapmigrate_lab.daemon",
                "--dir",
                str(lab.dir),
                "--knobs",
                json.dumps(_knob_dict(knobs)),
                "--postgres",
                chosen,
                *(["--watch-pid", str(watch_pid)] if watch_pid else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            cwd=str(lab.dir),
            env=_daemon_env(),
            close_fds=True,
        )
    finally:
        log_file.close()
    deadline = time.monotonic() + timeout
    problem = ""
    while not problem:
        code = proc.poll()
        if code is not None:
            problem = f"the lab daemon exited ({code}) while starting: {_log_tail(lab.dir)}"
            break
        current = lab.state
        if (
            current is not None
            and current.pid == proc.pid
            and current.status == "running"
            and lab.is_running()
        ):
            return current
        if time.monotonic() >= deadline:
            problem = f"the lab did not answer within {timeout:.0f} s: {_log_tail(lab.dir)}"
        time.sleep(0.05)
    # A failed start takes down what it started: the daemon, its servers, the directory.
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        proc.wait(timeout=10)
    lab.down()
    raise OperationFailed(problem)


def stop(lab: Lab, *, keep: bool, timeout: float) -> DownResult:
    """Stop ``lab``'s servers and daemon, then remove its directory (see :meth:`Lab.down`)."""
    from snapmigrate_lab.postgres import PgServer

    st = lab.state
    if st is None and not lab.dir.exists():
        runtime.remove_lab_home(lab.dir)  # a directory removed by hand may leave its data home
        return DownResult(str(lab.dir), False, 0, False)
    daemon_stopped = False
    if st is not None and _alive(st.pid) and _is_our_daemon(st.pid, lab.dir):
        with contextlib.suppress(OperationFailed):
            lab._control("POST", "shutdown", timeout=5)
        daemon_stopped = runtime.wait_gone([st.pid], timeout)
        if not daemon_stopped:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(st.pid, sig)
                if runtime.wait_gone([st.pid], 5):
                    break
            daemon_stopped = True
    stopped = 0
    for datadir in _datadirs(lab.dir, st):
        server = PgServer(datadir=datadir, port=0)
        if server.is_running():
            server.stop(mode="immediate")
            stopped += 1
    removed = False
    if not keep and ((lab.dir / labstate.LAB_FILE).exists() or _only_lab_files(lab.dir)):
        runtime.remove_lab_home(lab.dir)  # data kept away from the lab directory (root), if any
        shutil.rmtree(lab.dir, ignore_errors=True)
        removed = not lab.dir.exists()
    return DownResult(str(lab.dir), daemon_stopped, stopped, removed)


def _is_our_daemon(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is the lab daemon of ``directory`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc: trust lab.json
    return b"snapmigrate_lab.daemon" in cmdline and str(directory).encode() in cmdline


def _only_lab_files(directory: Path) -> bool:
    known = {
        labstate.LAB_FILE,
        labstate.CONNECT_MAP,
        labstate.PGPASS,
        labstate.LOG_FILE,
        "tls",
        "data",
    }
    return directory.exists() and all(p.name in known for p in directory.iterdir())


def _datadirs(directory: Path, st: LabState | None) -> list[Path]:
    dirs = {Path(s.datadir) for s in (*st.servers, *st.readers)} if st else set()
    clusters = runtime.lab_home(directory) / "clusters"
    if clusters.is_dir():
        dirs |= {p for p in clusters.iterdir() if (p / "PG_VERSION").exists()}
    return sorted(dirs)


def _log_tail(directory: Path, lines: int = 5) -> str:
    try:
        text = (directory / labstate.LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "no daemon log"
    return " | ".join(text.strip().splitlines()[-lines:]) or "empty daemon log"


def _daemon_env() -> dict[str, str]:
    """Our environment, with this snapmigrate importable from the daemon's working
    directory and no AWS profile to trip over."""
    import snapmigrate

    source = str(Path(snapmigrate.__file__).resolve().parent.parent)
    paths = [source, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    return {**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def _knob_dict(knobs: Knobs | dict[str, Any] | None) -> dict[str, Any]:
    if knobs is None:
        return {}
    if isinstance(knobs, dict):
        return knobs
    return knobs.to_dict()
