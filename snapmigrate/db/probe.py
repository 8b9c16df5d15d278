"""Which server answers a name, and whether it takes writes.

The cutover proves itself with these: through the name clients use it must
reach the *target*'s server (same address, port and start time as seen
through the target's own endpoint) and a write must be accepted there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.errors import SnapmigrateError

IDENTITY = (
    "SELECT coalesce(host(inet_server_addr()), 'local'), inet_server_port(), "
    "pg_postmaster_start_time()::text, pg_is_in_recovery()"
)
#: Any CREATE fails in a read-only transaction, a temporary table included, and
#: a temporary table needs no schema privilege; it is rolled back at once.
WRITE_PROBE = "CREATE TEMPORARY TABLE snapmigrate_write_probe (x int)"


@dataclass(frozen=True)
class ServerIdentity:
    """A server as it answers: address, port, start time (per instance on Aurora)."""

    address: str
    port: int
    started: str
    in_recovery: bool = False

    def same_server(self, other: ServerIdentity) -> bool:
        return (self.address, self.port, self.started) == (other.address, other.port, other.started)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "port": self.port,
            "started": self.started,
            "in_recovery": self.in_recovery,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerIdentity:
        return cls(
            str(data["address"]),
            int(data["port"]),
            str(data["started"]),
            bool(data.get("in_recovery")),
        )

    def __str__(self) -> str:
        return f"{self.address}:{self.port} (up since {self.started})"


def identity(
    endpoint: Endpoint,
    *,
    dbname: str = "postgres",
    connect_map: ConnectMap | None = None,
    timeout: int = 10,
) -> ServerIdentity:
    """Who answers at ``endpoint`` (through the connect map)."""
    with connect(endpoint, dbname, connect_map=connect_map, timeout=timeout) as conn:
        row = conn.execute(IDENTITY).fetchone()
    assert row is not None
    return ServerIdentity(str(row[0]), int(row[1] or 0), str(row[2]), bool(row[3]))


def write_refusal(
    endpoint: Endpoint,
    *,
    dbname: str = "postgres",
    connect_map: ConnectMap | None = None,
    timeout: int = 10,
) -> str | None:
    """None when a write is accepted at ``endpoint`` (then rolled back), else why not."""
    try:
        with connect(
            endpoint, dbname, connect_map=connect_map, autocommit=False, timeout=timeout
        ) as conn:
            try:
                conn.execute(WRITE_PROBE)
            except Exception as e:
                return " ".join(str(e).split()) or type(e).__name__
            finally:
                conn.rollback()
    except SnapmigrateError as e:
        return str(e)
    return None
