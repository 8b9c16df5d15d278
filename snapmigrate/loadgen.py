"""A write load that behaves like an application behind a connection pool: it
writes through the name clients use, and after any error it reconnects,
resolving that name again (through the connect map). It keeps the id of every
transaction whose COMMIT it saw succeed, so a rehearsal can prove afterwards
that none was lost, and it measures how long writes were unavailable.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.errors import BadInput

log = logging.getLogger(__name__)

TABLE = "snapmigrate_load"
#: Ids are (run << RUN_SHIFT) | (worker << WORKER_SHIFT) | n, with a random run
#: tag: unique across workers, clusters and successive runs on one table, no
#: sequence needed (a restored sequence would hand out ids again). 22 + 6 + 35 bits.
WORKER_SHIFT = 35
RUN_SHIFT = 41
RUN_BITS = 22
MAX_WORKERS = (1 << (RUN_SHIFT - WORKER_SHIFT)) - 1


@dataclass(frozen=True)
class LoadOptions:
    workers: int = 2
    rate_per_worker: float = 50.0
    duration_s: float | None = None
    table: str = TABLE
    connect_timeout: int = 2
    retry_pause_s: float = 0.05

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise BadInput(f"workers must be between 1 and {MAX_WORKERS}, not {self.workers}")
        if self.rate_per_worker < 0:
            raise BadInput(
                f"the rate must be 0 (as fast as possible) or more, not {self.rate_per_worker:g}"
            )
        if self.duration_s is not None and self.duration_s <= 0:
            raise BadInput(f"the duration must be positive, not {self.duration_s:g}")


@dataclass(frozen=True)
class Window:
    """A stretch of time during which no write committed, bounded by commits."""

    start: float
    end: float
    errors: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class LoadResult:
    """What the load saw: committed ids, errors, unavailability windows."""

    committed: list[int] = field(default_factory=list)
    in_doubt: list[int] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    elapsed_s: float = 0.0

    @property
    def longest_unavailability_s(self) -> float:
        return max((w.seconds for w in self.windows), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "committed": len(self.committed),
            "in_doubt": len(self.in_doubt),
            "errors": self.errors,
            "error_samples": self.error_samples,
            "longest_unavailability_s": round(self.longest_unavailability_s, 3),
            "windows": [{"seconds": round(w.seconds, 3), "errors": w.errors} for w in self.windows],
            "started": self.started,
            "finished": self.finished,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def ensure_table(
    endpoint: Endpoint, database: str, *, table: str = TABLE, connect_map: ConnectMap | None = None
) -> None:
    """Create the load's table if it is not there."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigint PRIMARY KEY, worker int NOT NULL, "
                "written_at timestamptz NOT NULL DEFAULT clock_timestamp(), served_by text)"
            ).format(sql.Identifier(table))
        )


class _Worker:
    def __init__(self, n: int, run: LoadRun) -> None:
        self.n = n
        self.run = run
        self.seq = 0

    def next_id(self) -> int:
        self.seq += 1
        return (self.run.run_tag << RUN_SHIFT) | (self.n << WORKER_SHIFT) | self.seq

    def loop(self) -> None:
        run, opts = self.run, self.run.options
        insert = sql.SQL("INSERT INTO {} (id, worker, served_by) VALUES (%s, %s, %s)").format(
            sql.Identifier(opts.table)
        )
        conn = None
        served_by = "?"
        period = 1.0 / opts.rate_per_worker if opts.rate_per_worker > 0 else 0.0
        while not run.stop.is_set():
            tick = run.clock()
            try:
                if conn is None:
                    conn = connect(
                        run.endpoint,
                        run.database,
                        connect_map=run.connect_map.reload() if run.connect_map else None,
                        autocommit=False,
                        timeout=opts.connect_timeout,
                        application_name="snapmigrate-load",
                    )
                    served_by = _server_identity(conn)
                    conn.commit()
                ident = self.next_id()
                conn.execute(insert, (ident, self.n, served_by))
                try:
                    conn.commit()
                except Exception:
                    run.note_in_doubt(ident)
                    raise
                run.note_commit(ident)
            except Exception as e:  # any failure: reconnect, re-resolve the name
                run.note_error(e)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
                run.stop.wait(opts.retry_pause_s)
                continue
            wait = period - (run.clock() - tick)
            if wait > 0:
                run.stop.wait(wait)
        if conn is not None:
            conn.close()


SERVER_IDENTITY = (
    "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port')"
)


def _server_identity(conn: Any) -> str:
    """``addr:port/system identifier`` of the server; without the identifier where
    ``pg_control_system()`` is not allowed (open to every role on the
    PostgreSQL the lab runs, but a managed service may refuse it), rather than failing
    every transaction."""
    try:
        row = conn.execute(
            SERVER_IDENTITY + " || '/' || (SELECT system_identifier::text FROM pg_control_system())"
        ).fetchone()
    except psycopg.Error:
        conn.rollback()
        row = conn.execute(SERVER_IDENTITY).fetchone()
    return str(row[0]) if row else "?"


class LoadRun:
    """A running load; :meth:`stop_and_collect` ends it and returns what it saw."""

    def __init__(
        self,
        endpoint: Endpoint,
        database: str,
        options: LoadOptions,
        *,
        connect_map: ConnectMap | None = None,
        clock: Callable[[], float] = time.monotonic,
        run_tag: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.run_tag = secrets.randbits(RUN_BITS) if run_tag is None else run_tag
        if not 0 <= self.run_tag < 1 << RUN_BITS:
            raise BadInput(f"run_tag must fit in {RUN_BITS} bits")
        self.database = database
        self.options = options
        self.connect_map = connect_map
        self.clock = clock
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.result = LoadResult()
        self._last_ok: float | None = None
        self._window_errors = 0
        self._threads: list[threading.Thread] = []
        self._t0 = 0.0

    def start(self) -> LoadRun:
        self._t0 = self.clock()
        self._last_ok = self._t0
        self.result.started = _now()
        self._threads = [
            threading.Thread(target=_Worker(n + 1, self).loop, name=f"load-{n + 1}", daemon=True)
            for n in range(self.options.workers)
        ]
        for t in self._threads:
            t.start()
        return self

    def note_commit(self, ident: int) -> None:
        now = self.clock()
        with self._lock:
            self.result.committed.append(ident)
            if self._window_errors and self._last_ok is not None:
                self.result.windows.append(Window(self._last_ok, now, self._window_errors))
            self._window_errors = 0
            self._last_ok = now

    def note_in_doubt(self, ident: int) -> None:
        with self._lock:
            self.result.in_doubt.append(ident)

    def note_error(self, exc: BaseException) -> None:
        with self._lock:
            self.result.errors += 1
            self._window_errors += 1
            text = " ".join(str(exc).split())[:160] or type(exc).__name__
            if len(self.result.error_samples) < 10 and text not in self.result.error_samples:
                self.result.error_samples.append(text)

    def stop_and_collect(self, join_timeout: float = 30.0) -> LoadResult:
        self.stop.set()
        for t in self._threads:
            t.join(join_timeout)
        now = self.clock()
        with self._lock:
            if self._window_errors and self._last_ok is not None:
                self.result.windows.append(Window(self._last_ok, now, self._window_errors))
            self.result.finished = _now()
            self.result.elapsed_s = now - self._t0
        return self.result

    def run_for(self, seconds: float) -> LoadResult:
        self.start()
        self.stop.wait(seconds)
        return self.stop_and_collect()


@dataclass(frozen=True)
class LossCheck:
    """Which committed ids are on the live cluster."""

    committed: int
    present: int
    missing: tuple[int, ...]

    @property
    def lost(self) -> int:
        return len(self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "present": self.present,
            "lost": self.lost,
            "missing_sample": list(self.missing[:20]),
        }


def check_committed(
    endpoint: Endpoint,
    database: str,
    ids: list[int],
    *,
    table: str = TABLE,
    connect_map: ConnectMap | None = None,
) -> LossCheck:
    """Count how many of ``ids`` the database at ``endpoint`` holds."""
    with connect(endpoint, database, connect_map=connect_map) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT x FROM unnest(%s::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM {} t "
                "WHERE t.id = x)"
            ).format(sql.Identifier(table)),
            (ids,),
        ).fetchall()
    missing = tuple(sorted(int(r[0]) for r in rows))
    return LossCheck(committed=len(ids), present=len(ids) - len(missing), missing=missing)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
