"""The local Aurora: moto's server for the control plane, real PostgreSQL
servers for the data plane, kept in step by the lab's middleware.

:class:`Lab` is the Python API (the ``snapmigrate lab`` commands and the test
fixtures call it)::

    lab = Lab("./.snapmigrate-lab")
    lab.up()
    lab.seed("v1", scale=5)
    os.environ.update(lab.env())     # boto3 and snapmigrate now talk to the lab
    lab.set_knobs(delay_polls=3, throttle_rate=0.1, seed=7)
    lab.down()

Importing this package is cheap: boto3, moto and psycopg load only when used.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, NotFound, OperationFailed
from snapmigrate_lab import runtime
from snapmigrate_lab import state as labstate
from snapmigrate_lab.runtime import alive as _alive
from snapmigrate_lab.state import DEFAULT_DIR, REGION, LabState

if TYPE_CHECKING:
    from snapmigrate.aws import Clients
    from snapmigrate_lab.postgres import PgServer
    from snapmigrate_lab.realism import Knobs
    from snapmigrate_lab.seed import SeedResult

DUMMY_KEY = "snapmigrate-lab"


@dataclass(frozen=True)
class DownResult:
    """What ``lab down`` did."""

    dir: str
    daemon_stopped: bool
    servers_stopped: int
    removed: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _is_our_daemon(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is the lab daemon of ``directory`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc: trust lab.json
    return b"snapmigrate_lab.daemon" in cmdline and str(directory).encode() in cmdline


class Lab:
    """One lab directory and the processes it describes."""

    def __init__(self, directory: str | os.PathLike[str] = DEFAULT_DIR) -> None:
        self.dir = Path(directory).resolve()

    # -- where things are ---------------------------------------------------

    @property
    def state(self) -> LabState | None:
        """What lab.json says now (None when there is no lab here)."""
        return labstate.read(self.dir)

    def _running_state(self) -> LabState:
        st = self.state
        if st is None or st.status != "running":
            raise BadInput(
                f"no lab is running in {self.dir}: "
                f"start one with 'snapmigrate lab up --dir {self.dir}'"
            )
        return st

    @property
    def endpoint_url(self) -> str:
        return self._running_state().endpoint_url

    @property
    def region(self) -> str:
        st = self.state
        return st.region if st else REGION

    @property
    def connect_map_path(self) -> Path:
        return self.dir / labstate.CONNECT_MAP

    @property
    def pgpass_path(self) -> Path:
        return self.dir / labstate.PGPASS

    def env(self) -> dict[str, str]:
        """The environment that points boto3, the aws CLI, libpq and snapmigrate at this lab."""
        st = self._running_state()
        env = {
            "AWS_ENDPOINT_URL": st.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
            "AWS_DEFAULT_REGION": st.region,
            "AWS_REGION": st.region,
            "SNAPMIGRATE_CONNECT_MAP": str(self.connect_map_path),
            "PGPASSFILE": str(self.pgpass_path),
        }
        dns = st.notes.get("dns") or {}
        if dns:
            env["SNAPMIGRATE_LAB_DNS_ZONE_ID"] = str(dns.get("zone_id", ""))
            env["SNAPMIGRATE_LAB_DNS_NAME"] = str(dns.get("record", ""))
        return env

    def is_running(self) -> bool:
        st = self.state
        if st is None or st.status != "running" or not _alive(st.pid):
            return False
        try:
            return bool(self._control("GET", "health", timeout=2).get("pid") == st.pid)
        except OperationFailed:
            return False

    # -- AWS clients ----------------------------------------------------------

    def client(self, service: str, region: str | None = None, *, max_attempts: int = 10) -> Any:
        """A boto3 client for the lab (dummy credentials, standard retries, ``max_attempts``
        attempts in all, the first included)."""
        from botocore.config import Config

        session = lab_session(region or self.region)
        return session.client(
            service,
            endpoint_url=self.endpoint_url,
            config=Config(retries={"mode": "standard", "total_max_attempts": max_attempts}),
        )

    def clients(self) -> Clients:
        """snapmigrate's own client factory, pointed at this lab with its dummy credentials."""
        from snapmigrate.aws import AwsSettings, Clients

        st = self._running_state()

        class LabClients(Clients):
            @property
            def session(self) -> Any:
                if self._session is None:
                    self._session = lab_session(st.region)
                return self._session

        return LabClients(AwsSettings(region=st.region, endpoint_url=st.endpoint_url))

    # -- life cycle -----------------------------------------------------------

    def up(
        self,
        *,
        knobs: Knobs | dict[str, Any] | None = None,
        timeout: float = 60,
        watch_pid: int | None = None,
        postgres: str | None = None,
    ) -> LabState:
        """Start the daemon (moto + glue) and return once it answers; idempotent.
        With ``watch_pid`` the lab stops itself when that process exits (test sessions);
        ``postgres`` is the policy for a major it cannot have: ``fallback`` (default) or
        ``strict`` (see :mod:`snapmigrate_lab.majors`)."""
        from snapmigrate_lab.majors import policy

        chosen = policy(postgres)
        if self.is_running():
            st = self._running_state()
            if knobs is not None:
                self.set_knobs(**_knob_dict(knobs))
            return st
        if self.state is not None:
            # a lab that died: its servers stopped, its data unusable without moto's state
            self.down()
        if self.dir.exists() and any(self.dir.iterdir()):
            raise BadInput(f"{self.dir} is not empty and holds no lab: pick another --dir")
        runtime.check()
        # A lab that crashed and whose directory went since (by hand, a test session's temp
        # directory) left its data home: no lab runs on it, so it goes before a new one starts.
        runtime.remove_lab_home(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.dir / labstate.LOG_FILE, "ab")  # noqa: SIM115 - handed to the daemon
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "snapmigrate_lab.daemon",
                    "--dir",
                    str(self.dir),
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
                cwd=str(self.dir),
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
                problem = f"the lab daemon exited ({code}) while starting: {self._log_tail()}"
                break
            current = self.state
            if (
                current is not None
                and current.pid == proc.pid
                and current.status == "running"
                and self.is_running()
            ):
                return current
            if time.monotonic() >= deadline:
                problem = f"the lab did not answer within {timeout:.0f} s: {self._log_tail()}"
            time.sleep(0.05)
        # A failed start takes down what it started: the daemon, its servers, the directory.
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            proc.wait(timeout=10)
        self.down()
        raise OperationFailed(problem)

    def down(self, *, keep: bool = False, timeout: float = 30) -> DownResult:
        """Stop the servers and the daemon, then remove the directory (unless ``keep``).
        Idempotent; works when the daemon has died (servers are stopped from lab.json)."""
        from snapmigrate_lab.postgres import PgServer

        st = self.state
        if st is None and not self.dir.exists():
            runtime.remove_lab_home(self.dir)  # a directory removed by hand may leave its data home
            return DownResult(str(self.dir), False, 0, False)
        daemon_stopped = False
        if st is not None and _alive(st.pid) and _is_our_daemon(st.pid, self.dir):
            with contextlib.suppress(OperationFailed):
                self._control("POST", "shutdown", timeout=5)
            daemon_stopped = self._wait_gone(st.pid, timeout)
            if not daemon_stopped:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(st.pid, sig)
                    if self._wait_gone(st.pid, 5):
                        break
                daemon_stopped = True
        stopped = 0
        for datadir in self._datadirs(st):
            server = PgServer(datadir=datadir, port=0)
            if server.is_running():
                server.stop(mode="immediate")
                stopped += 1
        removed = False
        if not keep and ((self.dir / labstate.LAB_FILE).exists() or self._only_lab_files()):
            runtime.remove_lab_home(
                self.dir
            )  # data kept away from the lab directory (root), if any
            shutil.rmtree(self.dir, ignore_errors=True)
            removed = not self.dir.exists()
        return DownResult(str(self.dir), daemon_stopped, stopped, removed)

    def _only_lab_files(self) -> bool:
        known = {
            labstate.LAB_FILE,
            labstate.CONNECT_MAP,
            labstate.PGPASS,
            labstate.LOG_FILE,
            "tls",
            "data",
        }
        return self.dir.exists() and all(p.name in known for p in self.dir.iterdir())

    def _datadirs(self, st: LabState | None) -> list[Path]:
        dirs = {Path(s.datadir) for s in (*st.servers, *st.readers)} if st else set()
        clusters = runtime.lab_home(self.dir) / "clusters"
        if clusters.is_dir():
            dirs |= {p for p in clusters.iterdir() if (p / "PG_VERSION").exists()}
        return sorted(dirs)

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> bool:
        return runtime.wait_gone([pid], timeout)

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = (self.dir / labstate.LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "no daemon log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "empty daemon log"

    # -- the control API --------------------------------------------------------

    def _control(
        self, method: str, route: str, data: dict[str, Any] | None = None, *, timeout: float = 30
    ) -> Any:
        import urllib.error
        import urllib.request

        st = self.state
        if st is None:
            raise BadInput(
                f"no lab in {self.dir}: start one with 'snapmigrate lab up --dir {self.dir}'"
            )
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(
            f"{st.endpoint_url}/snapmigrate-lab/{route}",
            data=body if method == "POST" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("error", str(e))
            raise BadInput(f"the lab refused {route}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise OperationFailed(
                f"the lab in {self.dir} does not answer ({e}): is it up?"
            ) from None

    def knobs(self) -> Knobs:
        from snapmigrate_lab.realism import Knobs

        return Knobs.from_dict(self._control("GET", "knobs"))

    def set_knobs(self, **changes: Any) -> Knobs:
        """Change some knobs (the others stay); ``seed=`` restarts the random sequence."""
        from snapmigrate_lab.realism import Knobs

        Knobs.from_dict(changes)  # reject bad input here, with our message
        return Knobs.from_dict(self._control("POST", "knobs", changes))

    def reset_knobs(self) -> Knobs:
        """Back to the knobs the lab was started with."""
        from snapmigrate_lab.realism import Knobs

        return Knobs.from_dict(self._control("POST", "knobs", {"reset": True}))

    def fail_once(
        self,
        action: str,
        code: str = "InternalFailure",
        *,
        after: bool = False,
        status: int | None = None,
        times: int = 1,
        state: str | None = None,
    ) -> Knobs:
        """Make the next call of ``action`` fail (before it acts, or ``after`` it acted);
        with ``state``, let a creation act and its resource end in that failure state
        (``lab.fail_once("RestoreDBClusterFromSnapshot", state="migration-failed")``)."""
        from snapmigrate_lab.realism import FailRule, Knobs

        rule = FailRule(
            action=action, code=code, after=after, status=status, times=times, state=state
        )
        return Knobs.from_dict(self._control("POST", "fail", rule.__dict__))

    def reset(self) -> None:
        """Forget every AWS resource and remove every server and copy (knobs stay)."""
        self._control("POST", "reset")

    def note(self, **data: Any) -> None:
        """Record facts in lab.json's notes (the seed's cluster, the DNS zone)."""
        self._control("POST", "notes", data)

    # -- data -------------------------------------------------------------------

    def server_for(self, cluster_id: str, region: str | None = None) -> PgServer:
        """The local PostgreSQL server behind ``cluster_id`` (with its master password)."""
        from snapmigrate_lab.postgres import PgServer

        st = self._running_state()
        info = st.server(cluster_id, region)
        if info is None:
            raise NotFound(f"the lab has no server for cluster {cluster_id!r}")
        password = next(
            (
                login.password
                for login in labstate.read_pgpass(self.pgpass_path)
                if login.host == "127.0.0.1"
                and login.port == str(info.port)
                and login.user == info.user
            ),
            "",
        )
        return PgServer(
            datadir=Path(info.datadir), port=info.port, user=info.user, password=password
        )

    def reader_for(self, instance_id: str, region: str | None = None) -> PgServer:
        """The local PostgreSQL server of a reader instance (a replica of its writer)."""
        from snapmigrate_lab.postgres import PgServer

        info = self._running_state().reader(instance_id, region)
        if info is None:
            raise NotFound(f"the lab has no reader server for instance {instance_id!r}")
        password = next(
            (
                login.password
                for login in labstate.read_pgpass(self.pgpass_path)
                if login.host == "127.0.0.1" and login.port == str(info.port)
            ),
            "",
        )
        return PgServer(Path(info.datadir), info.port, user=info.user, password=password)

    def seed(self, kind: str = "v1", **options: Any) -> SeedResult:
        """Create a source cluster with data through the lab's AWS API (see
        :mod:`snapmigrate_lab.seed`)."""
        from snapmigrate_lab.seed import seed

        return seed(self, kind, **options)


@dataclass(frozen=True)
class UpResult:
    """What ``lab up`` started (or found running) and seeded; ``postgres_warning``:
    PostgreSQL majors it could not have (their clusters run on 18)."""

    state: LabState
    env: dict[str, str]
    already_running: bool = False
    seed: SeedResult | None = None
    elapsed_s: float = 0.0
    postgres_warning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.state.to_dict(),
            "already_running": self.already_running,
            "env": dict(self.env),
            "seed": self.seed.to_dict() if self.seed else None,
            "elapsed_s": self.elapsed_s,
            "postgres_warning": self.postgres_warning,
        }


def up(
    directory: str | os.PathLike[str] = DEFAULT_DIR,
    *,
    seed: str = "none",
    scale: int = 1,
    cluster_id: str | None = None,
    knobs: Knobs | dict[str, Any] | None = None,
    postgres: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> UpResult:
    """Start a lab in ``directory`` (or find it running), optionally seed a source cluster.
    The PostgreSQL major the seed needs is fetched first (``progress`` tells of it);
    ``postgres`` is the policy for a major the lab cannot have (``fallback``, ``strict``)."""
    from snapmigrate_lab import majors
    from snapmigrate_lab.seed import ENGINE_VERSIONS, KINDS

    if seed not in (*KINDS, "none"):
        raise BadInput(f"unknown seed {seed!r}: choose one of {', '.join((*KINDS, 'none'))}")
    if scale < 1:
        raise BadInput("--scale must be at least 1")
    if cluster_id is not None:
        from snapmigrate.plan.options import check_identifier

        cluster_id = check_identifier(cluster_id, "seed cluster identifier")
    if knobs is not None and isinstance(knobs, dict):
        from snapmigrate_lab.realism import Knobs

        Knobs.from_dict(knobs)
    started = time.monotonic()
    wanted = [majors.major_of(ENGINE_VERSIONS[seed])] if seed != "none" else []
    warning = majors.prepare(postgres, wanted, progress)  # strict and lacking: refused here
    lab = Lab(directory)
    already = lab.is_running()
    lab.up(knobs=knobs, postgres=postgres)
    try:
        seeded = lab.seed(seed, scale=scale, cluster_id=cluster_id) if seed != "none" else None
    except BaseException:
        if not already:
            lab.down()  # a failed `lab up` leaves nothing it started behind
        raise
    return UpResult(
        state=lab._running_state(),
        env=lab.env(),
        already_running=already,
        seed=seeded,
        elapsed_s=round(time.monotonic() - started, 2),
        postgres_warning=warning,
    )


#: The user's AWS profile means nothing to the lab (and a missing one would break it).
PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def lab_session(region: str) -> Any:
    """A boto3 session with the lab's dummy credentials, deaf to the user's profile."""
    import boto3
    import botocore.session

    # The profile variable read from nowhere: not $AWS_PROFILE, which may not exist here.
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    return boto3.Session(
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_KEY,
        region_name=region,
        botocore_session=core,
    )


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


__all__ = ["DEFAULT_DIR", "DownResult", "Lab", "LabState", "UpResult", "up"]
