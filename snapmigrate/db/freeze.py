"""The write freeze: make every user database of the source read-only, end the
other sessions, confirm no write transaction is left -- and undo it exactly.

``ALTER DATABASE ... SET default_transaction_read_only = on`` applies to new
sessions, so existing ones are terminated (not ours, not ``rdsadmin``'s).
A client that explicitly asks for a read-write transaction can still write:
the freeze stops applications, not a determined superuser. The record of what
was there before lets :func:`unfreeze` put back exactly that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.errors import OperationFailed

log = logging.getLogger(__name__)

SETTING = "default_transaction_read_only"
#: Sessions never terminated: Aurora's own management user.
PROTECTED_USERS = ("rdsadmin",)

LIST_DATABASES = sql.SQL(
    "SELECT datname FROM pg_database "
    "WHERE NOT datistemplate AND datallowconn AND datname <> ALL(%s) ORDER BY datname"
)
DATABASE_SETTING = sql.SQL(
    "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
    "WHERE s.setrole = 0 AND d.datname = %s"
)
TERMINATE = sql.SQL(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
    "AND usename <> ALL(%s)"
)
OPEN_WRITERS = sql.SQL(
    "SELECT pid, datname, usename, state, now() - xact_start FROM pg_stat_activity "
    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
)
LONG_TRANSACTIONS = sql.SQL(
    "SELECT pid, datname, usename, extract(epoch FROM now() - xact_start)::float8 "
    "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL "
    "AND backend_type = 'client backend' AND now() - xact_start > make_interval(secs => %s) "
    "ORDER BY xact_start"
)
EXCLUDED_DATABASES = ["rdsadmin"]


@dataclass(frozen=True)
class DatabaseFreeze:
    """One database: the value of the setting before the freeze (None: not set)."""

    name: str
    previous: str | None


@dataclass(frozen=True)
class FreezeRecord:
    """What the freeze changed, so that :func:`unfreeze` restores exactly that."""

    databases: tuple[DatabaseFreeze, ...]
    terminated: int
    frozen_at: str
    confirmed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "databases": [{"name": d.name, "previous": d.previous} for d in self.databases],
            "terminated": self.terminated,
            "frozen_at": self.frozen_at,
            "confirmed_at": self.confirmed_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FreezeRecord:
        return cls(
            databases=tuple(
                DatabaseFreeze(d["name"], d.get("previous")) for d in data["databases"]
            ),
            terminated=int(data.get("terminated", 0)),
            frozen_at=data["frozen_at"],
            confirmed_at=data.get("confirmed_at"),
        )


@dataclass(frozen=True)
class LongTransaction:
    pid: int
    database: str
    user: str
    seconds: float


@dataclass
class FreezeOptions:
    """How long to wait for write transactions to end after terminating sessions."""

    confirm_timeout_s: float = 30.0
    poll_s: float = 0.2
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)


def user_databases(endpoint: Endpoint, connect_map: ConnectMap | None = None) -> list[str]:
    """Every database a client can use (no templates, no ``rdsadmin``)."""
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        return [r[0] for r in conn.execute(LIST_DATABASES, (EXCLUDED_DATABASES,)).fetchall()]


def _admin_session(endpoint: Endpoint, connect_map: ConnectMap | None) -> Any:
    """Our own session: read-write even when its database is frozen."""
    conn = connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map)
    conn.execute("SET default_transaction_read_only = off")
    return conn


def _current_setting(conn: Any, database: str) -> str | None:
    row = conn.execute(DATABASE_SETTING, (database,)).fetchone()
    for item in (row[0] if row else None) or []:
        key, _, value = item.partition("=")
        if key == SETTING:
            return str(value)
    return None


def long_transactions(
    endpoint: Endpoint, threshold_s: float, connect_map: ConnectMap | None = None
) -> list[LongTransaction]:
    """Transactions open longer than ``threshold_s`` (a cutover guardrail)."""
    with connect(endpoint, endpoint.dbname or "postgres", connect_map=connect_map) as conn:
        rows = conn.execute(LONG_TRANSACTIONS, (threshold_s,)).fetchall()
    return [LongTransaction(int(r[0]), r[1] or "", r[2] or "", float(r[3])) for r in rows]


def prepare(
    endpoint: Endpoint, databases: list[str] | None = None, *, connect_map: ConnectMap | None = None
) -> FreezeRecord:
    """What a freeze would change, read before changing it (journal this first:
    a crash between the change and the journal must not lose the old values)."""
    names = databases if databases is not None else user_databases(endpoint, connect_map)
    with _admin_session(endpoint, connect_map) as conn:
        frozen = tuple(DatabaseFreeze(name, _current_setting(conn, name)) for name in names)
    return FreezeRecord(frozen, 0, _now())


def apply(
    endpoint: Endpoint,
    record: FreezeRecord,
    *,
    connect_map: ConnectMap | None = None,
    options: FreezeOptions | None = None,
) -> FreezeRecord:
    """Make the record's databases read-only for new sessions, end the other
    sessions, and wait until no write transaction is open. Idempotent."""
    opts = options or FreezeOptions()
    names = [d.name for d in record.databases]
    with _admin_session(endpoint, connect_map) as conn:
        for name in names:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                    sql.Identifier(name)
                )
            )
        frozen_at = _now()
        terminated = int(conn.execute(TERMINATE, (names, list(PROTECTED_USERS))).fetchone()[0])
        log.info("froze %d database(s), ended %d session(s)", len(names), terminated)
        done = FreezeRecord(record.databases, record.terminated + terminated, frozen_at)
        deadline = opts.clock() + opts.confirm_timeout_s
        while True:
            writers = conn.execute(OPEN_WRITERS, (names,)).fetchall()
            if not writers:
                break
            if opts.clock() >= deadline:
                pids = ", ".join(f"{r[0]} ({r[2]}@{r[1]})" for r in writers)
                raise FreezeNotConfirmed(
                    f"write transactions still open {opts.confirm_timeout_s:.0f} s after the "
                    f"freeze: {pids}",
                    record=done,
                )
            conn.execute(TERMINATE, (names, list(PROTECTED_USERS)))
            opts.sleep(opts.poll_s)
    return FreezeRecord(done.databases, done.terminated, done.frozen_at, _now())


def freeze(
    endpoint: Endpoint,
    databases: list[str] | None = None,
    *,
    connect_map: ConnectMap | None = None,
    options: FreezeOptions | None = None,
) -> FreezeRecord:
    """Make ``databases`` (default: all user databases) read-only for new sessions,
    end the other sessions, and wait until no write transaction is open."""
    return apply(
        endpoint,
        prepare(endpoint, databases, connect_map=connect_map),
        connect_map=connect_map,
        options=options,
    )


def unfreeze(
    endpoint: Endpoint, record: FreezeRecord, *, connect_map: ConnectMap | None = None
) -> None:
    """Put every frozen database's setting back to what it was. Idempotent."""
    with _admin_session(endpoint, connect_map) as conn:
        existing = {r[0] for r in conn.execute(LIST_DATABASES, (EXCLUDED_DATABASES,)).fetchall()}
        for db in record.databases:
            if db.name not in existing:
                log.warning("database %s is gone; nothing to unfreeze there", db.name)
                continue
            name = sql.Identifier(db.name)
            if db.previous is None:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(name)
                )
            else:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = {}").format(
                        name, sql.Literal(db.previous)
                    )
                )
    log.info("unfroze %d database(s)", len(record.databases))


def read_only_databases(
    endpoint: Endpoint, names: list[str], *, connect_map: ConnectMap | None = None
) -> list[str]:
    """Which of ``names`` are set read-only for new sessions now."""
    with _admin_session(endpoint, connect_map) as conn:
        return [name for name in names if _current_setting(conn, name) in ("on", "true", "1")]


def is_frozen(endpoint: Endpoint, database: str, *, connect_map: ConnectMap | None = None) -> bool:
    """Whether a new session on ``database`` starts read-only."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        row = conn.execute("SHOW default_transaction_read_only").fetchone()
    return row is not None and row[0] == "on"


class FreezeNotConfirmed(OperationFailed):
    """The freeze is in place but a write transaction would not end."""

    def __init__(self, message: str, *, record: FreezeRecord) -> None:
        super().__init__(message, hint="the databases stay read-only; unfreeze or retry")
        self.record = record


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
