"""The connect map: where to really connect for an endpoint ``host:port``.

Aurora endpoints are often private; users reach them through an SSH or SSM
tunnel, and the lab serves every cluster from a local PostgreSQL server. The
map is a JSON object whose keys are ``host:port`` (or a bare ``host`` for any
port) and whose values are ``host:port`` to dial instead::

    {"db1.cluster-abc.us-east-1.rds.amazonaws.com:5432": "127.0.0.1:15432"}

It is named by ``--connect-map PATH`` or ``SNAPMIGRATE_CONNECT_MAP``, and read
again on every resolve, so a tunnel (or the lab, after a rename) can change it
while a long command runs. TLS host checks still use the original host name.

An optional ``"servers"`` object, beside ``"routes"``, says the same for the
connections a *database server* makes to an endpoint (the catch-up's
subscription dials the source from the copy): where the endpoint's name does
not reach the source from there (the lab's servers, a proxy in between)::

    {"routes": {...}, "servers": {"db1.cluster-abc...:5432": "10.0.3.7:5432"}}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from snapmigrate.errors import BadInput
from snapmigrate.files import atomic_write_json, read_json

ENV_VAR = "SNAPMIGRATE_CONNECT_MAP"


def split_address(address: str, default_port: int = 5432) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, default_port
    try:
        return host, int(port)
    except ValueError:
        raise BadInput(f"bad address {address!r} in the connect map: expected host:port") from None


@dataclass(frozen=True)
class ConnectMap:
    """Routes from endpoint addresses to the addresses to dial."""

    routes: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None
    servers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ConnectMap:
        """The map at ``path``, else at ``$SNAPMIGRATE_CONNECT_MAP``, else an empty map."""
        where = path or os.environ.get(ENV_VAR)
        if not where:
            return cls()
        p = Path(where)
        data = read_json(p, "connect map", missing_hint=f"fix --connect-map or ${ENV_VAR}")
        routes = data.get("routes", data) if isinstance(data, dict) else None
        servers = data.get("servers", {}) if isinstance(data, dict) and "routes" in data else {}
        for section in (routes, servers):
            if not isinstance(section, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in section.items()
            ):
                raise BadInput(f'connect map {p} must be a JSON object of "host:port": "host:port"')
        assert isinstance(routes, dict) and isinstance(servers, dict)
        return cls(routes=dict(routes), path=p, servers=dict(servers))

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        """Where to dial for ``host:port`` (itself when the map has no route)."""
        target = self.routes.get(f"{host}:{port}") or self.routes.get(host)
        if target is None:
            return host, port
        return split_address(target, default_port=port)

    def server_route(self, host: str, port: int) -> tuple[str, int] | None:
        """Where a database server dials for ``host:port``: None when by its name."""
        target = self.servers.get(f"{host}:{port}") or self.servers.get(host)
        return None if target is None else split_address(target, default_port=port)

    def reload(self) -> ConnectMap:
        return ConnectMap.load(self.path) if self.path else self


def write(
    path: str | os.PathLike[str],
    routes: Mapping[str, str],
    servers: Mapping[str, str] | None = None,
) -> None:
    """Replace the map at ``path`` atomically (the lab keeps its map current this way)."""
    data: dict[str, dict[str, str]] = {"routes": dict(sorted(routes.items()))}
    if servers:
        data["servers"] = dict(sorted(servers.items()))
    atomic_write_json(path, data)
