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

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, NotFound, OperationFailed
from snapmigrate_lab import startstop
from snapmigrate_lab import state as labstate
from snapmigrate_lab.control import ControlApi
from snapmigrate_lab.runtime import alive as _alive
from snapmigrate_lab.startstop import DownResult
from snapmigrate_lab.state import DEFAULT_DIR, REGION, LabState, ServerInfo

if TYPE_CHECKING:
    from snapmigrate.aws import Clients
    from snapmigrate_lab.postgres import PgServer
    from snapmigrate_lab.realism import Knobs
    from snapmigrate_lab.seed import SeedResult

DUMMY_KEY = "snapmigrate-lab"


class Lab(ControlApi):
    """One lab directory and the processes it describes (its control API: :class:`ControlApi`;
    starting and stopping it: :mod:`snapmigrate_lab.startstop`)."""

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
        return startstop.start(
            self, knobs=knobs, timeout=timeout, watch_pid=watch_pid, postgres=postgres
        )

    def down(self, *, keep: bool = False, timeout: float = 30) -> DownResult:
        """Stop the servers and the daemon, then remove the directory (unless ``keep``).
        Idempotent; works when the daemon has died (servers are stopped from lab.json)."""
        return startstop.stop(self, keep=keep, timeout=timeout)

    # -- data -------------------------------------------------------------------

    def server_for(self, cluster_id: str, region: str | None = None) -> PgServer:
        """The local PostgreSQL server behind ``cluster_id`` (with its master password)."""
        info = self._running_state().server(cluster_id, region)
        if info is None:
            raise NotFound(f"the lab has no server for cluster {cluster_id!r}")
        return self._local_server(info)

    def reader_for(self, instance_id: str, region: str | None = None) -> PgServer:
        """The local PostgreSQL server of a reader instance (a replica of its writer)."""
        info = self._running_state().reader(instance_id, region)
        if info is None:
            raise NotFound(f"the lab has no reader server for instance {instance_id!r}")
        return self._local_server(info)

    def _local_server(self, info: ServerInfo) -> PgServer:
        """A server lab.json lists, with its login from the lab's pgpass."""
        from snapmigrate_lab.postgres import PgServer

        password = next(
            (
                login.password
                for login in labstate.read_pgpass(self.pgpass_path)
                if (login.host, login.port, login.user) == ("127.0.0.1", str(info.port), info.user)
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


__all__ = ["DEFAULT_DIR", "DownResult", "Lab", "LabState", "UpResult", "up"]
