"""The lab directory: ``lab.json`` (what runs where), the connect map and the
pgpass file the tool uses to reach the lab's servers.

The daemon is the only writer of these files; clients read them. Passwords
live only in ``pgpass`` (mode 0600), never in ``lab.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapmigrate.files import atomic_write_json, atomic_write_text

DEFAULT_DIR = ".snapmigrate-lab"
LAB_FILE = "lab.json"
CONNECT_MAP = "connect-map.json"
PGPASS = "pgpass"
LOG_FILE = "daemon.log"
REGION = "us-east-1"


@dataclass(frozen=True)
class ServerInfo:
    """One running PostgreSQL server of the lab (no password): ``port`` is the server's
    own (plain), ``endpoint_port`` the TLS endpoint the connect map points at."""

    cluster_id: str
    region: str
    port: int
    datadir: str
    user: str
    endpoint_port: int | None = None
    pid: int | None = None
    version: str = ""  # the PostgreSQL version it runs
    instance_id: str = ""  # a reader's instance (a writer's server has none)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServerInfo:
        return cls(
            **{k: data[k] for k in ("cluster_id", "region", "port", "datadir", "user")},
            endpoint_port=data.get("endpoint_port"),
            pid=data.get("pid"),
            version=data.get("version", ""),
            instance_id=data.get("instance_id", ""),
        )


@dataclass(frozen=True)
class LabState:
    """What ``lab.json`` says: the daemon, its endpoint, its servers (the clusters'
    writers), its readers (one per reader instance), and notes (seed, DNS)."""

    dir: str
    pid: int
    port: int
    region: str = REGION
    started: str = ""
    status: str = "running"
    servers: tuple[ServerInfo, ...] = ()
    snapshots: tuple[str, ...] = ()
    notes: Mapping[str, Any] = field(default_factory=dict)
    readers: tuple[ServerInfo, ...] = ()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connect_map(self) -> str:
        return str(Path(self.dir) / CONNECT_MAP)

    @property
    def pgpass(self) -> str:
        return str(Path(self.dir) / PGPASS)

    def server(self, cluster_id: str, region: str | None = None) -> ServerInfo | None:
        return next(
            (
                s
                for s in self.servers
                if s.cluster_id == cluster_id and (region is None or s.region == region)
            ),
            None,
        )

    def reader(self, instance_id: str, region: str | None = None) -> ServerInfo | None:
        return next(
            (
                s
                for s in self.readers
                if s.instance_id == instance_id and (region is None or s.region == region)
            ),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "pid": self.pid,
            "port": self.port,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "started": self.started,
            "status": self.status,
            "connect_map": self.connect_map,
            "pgpass": self.pgpass,
            "servers": [s.__dict__ for s in self.servers],
            "readers": [s.__dict__ for s in self.readers],
            "snapshots": list(self.snapshots),
            "notes": dict(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabState:
        return cls(
            dir=data["dir"],
            pid=int(data["pid"]),
            port=int(data["port"]),
            region=data.get("region", REGION),
            started=data.get("started", ""),
            status=data.get("status", "running"),
            servers=tuple(ServerInfo.from_dict(s) for s in data.get("servers", [])),
            readers=tuple(ServerInfo.from_dict(s) for s in data.get("readers", [])),
            snapshots=tuple(data.get("snapshots", [])),
            notes=dict(data.get("notes", {})),
        )


def read(directory: str | os.PathLike[str]) -> LabState | None:
    """The lab state in ``directory``, or None when there is no (readable) lab.json."""
    path = Path(directory) / LAB_FILE
    try:
        return LabState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(directory: str | os.PathLike[str], state: LabState) -> None:
    atomic_write_json(Path(directory) / LAB_FILE, state.to_dict())


@dataclass(frozen=True)
class Login:
    """One pgpass line: where (host, port; ``*`` for any) and who."""

    host: str
    port: str
    user: str
    password: str = field(repr=False)


def _pgpass_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def write_pgpass(path: str | os.PathLike[str], logins: Iterable[Login]) -> None:
    """Write a libpq password file (0600): specific hosts first, ``*`` lines last."""
    lines, seen = [], set()
    ordered = sorted(logins, key=lambda login: login.host == "*")
    for login in ordered:
        line = ":".join(
            [
                _pgpass_field(login.host),
                _pgpass_field(login.port),
                "*",
                _pgpass_field(login.user),
                _pgpass_field(login.password),
            ]
        )
        key = (login.host, login.port, login.user)
        if key not in seen:
            seen.add(key)
            lines.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in lines), mode=0o600)


def _split_pgpass(line: str) -> list[str]:
    parts, current, escaped = [], [], False
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def read_pgpass(path: str | os.PathLike[str]) -> list[Login]:
    """The logins of a pgpass file written by :func:`write_pgpass`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return []
    logins = []
    for line in text.splitlines():
        parts = _split_pgpass(line)
        if len(parts) == 5:
            logins.append(Login(parts[0], parts[1], parts[3], parts[4]))
    return logins
