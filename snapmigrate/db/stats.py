"""Write counters (``pg_stat_user_tables``) for snapshot awareness: which tables
changed after a snapshot, so their differences read as drift, not corruption.

``migrate`` captures the source's counters just before and just after it
requests the snapshot; ``verify`` and ``cutover`` capture them again and call
:func:`changed_since`.

Counters lag writes (measured on PostgreSQL 18, see docs/verify.md). From
15 on, a backend publishes its counters when it goes idle -- but at most once
a second: a write made within 1 s of its previous flush (a fresh connection
flushes while logging in) waits for the idle timer, 10 s
(``PGSTAT_IDLE_INTERVAL``), or for the session to end; a session that never
idles publishes at least every 60 s. Up to 14 the statistics collector lags
about 0.5 s. A writer can publish at once with ``pg_stat_force_next_flush()``
(15+). A capture that must see every earlier write therefore waits
:data:`FLUSH_DELAY_S` after that write: ``migrate`` waits that long after the
snapshot before its AFTER capture, and ``verify`` waits until that long after
its own snapshot before re-reading the counters. A late counter can only make
drift look like corruption (an alarm), or make a table read as "changed around
the snapshot"; counters that went DOWN mean statistics were reset (crash,
failover, ``pg_stat_reset``): those tables are reported by :func:`reset_since`,
never treated as unchanged.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg

from snapmigrate.db.connect import Endpoint, connect, list_databases
from snapmigrate.db.dialect import Dialect
from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate.files import read_json

if TYPE_CHECKING:
    from snapmigrate.connectmap import ConnectMap

#: How long after a write its counters surely show (PG 15+: the 10 s idle flush, plus margin).
FLUSH_DELAY_S = 11.0


class TableKey(NamedTuple):
    """A table, database-qualified."""

    database: str
    schema: str
    table: str


class Counts(NamedTuple):
    inserted: int
    updated: int
    deleted: int


@dataclass(frozen=True)
class WriteCounters:
    """Per-table write counters of one server at one moment."""

    captured_at: str
    server: str
    tables: Mapping[TableKey, Counts] = field(default_factory=dict)
    stats_reset: Mapping[str, str | None] = field(default_factory=dict)
    #: Sequences have no write counters: their last values stand in.
    sequences: Mapping[TableKey, int | None] = field(default_factory=dict)

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(sorted({*self.stats_reset, *(k.database for k in self.tables)}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "captured_at": self.captured_at,
            "server": self.server,
            "stats_reset": dict(self.stats_reset),
            "tables": [
                {
                    "database": k.database,
                    "schema": k.schema,
                    "table": k.table,
                    "n_tup_ins": c.inserted,
                    "n_tup_upd": c.updated,
                    "n_tup_del": c.deleted,
                }
                for k, c in sorted(self.tables.items())
            ],
            "sequences": [
                {"database": k.database, "schema": k.schema, "sequence": k.table, "last_value": v}
                for k, v in sorted(self.sequences.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WriteCounters:
        try:
            tables = {
                TableKey(t["database"], t["schema"], t["table"]): Counts(
                    int(t["n_tup_ins"]), int(t["n_tup_upd"]), int(t["n_tup_del"])
                )
                for t in data["tables"]
            }
            sequences = {
                TableKey(q["database"], q["schema"], q["sequence"]): None
                if q["last_value"] is None
                else int(q["last_value"])
                for q in data.get("sequences") or ()
            }
            return cls(
                str(data["captured_at"]),
                str(data.get("server", "")),
                tables,
                dict(data.get("stats_reset") or {}),
                sequences,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BadInput(f"write counters are not in the expected shape ({e!r})") from None


@dataclass(frozen=True)
class Baseline:
    """The source's counters around the snapshot: ``before`` (optional) and ``after`` it was
    requested."""

    after: WriteCounters
    before: WriteCounters | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        """Either ``{"before": ..., "after": ...}`` or one capture (taken as AFTER)."""
        if not isinstance(data, Mapping):
            raise BadInput("a baseline must be a JSON object")
        if "after" in data:
            before = data.get("before")
            return cls(
                WriteCounters.from_dict(data["after"]),
                WriteCounters.from_dict(before) if before else None,
            )
        return cls(WriteCounters.from_dict(data))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        return cls.from_dict(read_json(path, "baseline"))

    def drifted(self, now: WriteCounters) -> tuple[list[TableKey], list[TableKey]]:
        """(tables written since the snapshot, tables whose counters were reset)."""
        changed = set(changed_since(self.after, now))
        reset = set(reset_since(self.after, now))
        if self.before is not None:
            changed |= set(changed_since(self.before, self.after))
            reset |= set(reset_since(self.before, self.after))
        return sorted(changed - reset), sorted(reset)

    def moved_sequences(self, now: WriteCounters) -> list[TableKey]:
        """Sequences whose last value changed since the snapshot (or around it)."""
        moved = {
            k
            for k, v in now.sequences.items()
            if k in self.after.sequences and self.after.sequences[k] != v
        }
        if self.before is not None:
            moved |= {
                k
                for k, v in self.after.sequences.items()
                if k in self.before.sequences and self.before.sequences[k] != v
            }
        return sorted(moved)


def changed_since(before: WriteCounters, after: WriteCounters) -> list[TableKey]:
    """Tables with more inserts, updates or deletes in ``after`` (or new since ``before``),
    within the databases both captures cover."""
    common = set(before.databases) & set(after.databases)
    out = []
    for key, now in after.tables.items():
        if key.database not in common:
            continue
        then = before.tables.get(key)
        if then is None:
            if any(now):
                out.append(key)
        elif now != then and all(n >= t for n, t in zip(now, then, strict=True)):
            out.append(key)
    return sorted(out)


def reset_since(before: WriteCounters, after: WriteCounters) -> list[TableKey]:
    """Tables whose counters went down (statistics reset): drift cannot be judged there."""
    out = []
    for key, then in before.tables.items():
        now = after.tables.get(key)
        # A reset moves stats_reset from one time to another. From none to a time is the
        # database's statistics entry being created (up to 14 the collector makes it, with a
        # time, on first use: a database created just before the capture) -- or, from 15, a
        # first reset; either way the counters going down below still tells a reset.
        was = before.stats_reset.get(key.database)
        reset = was is not None and was != after.stats_reset.get(key.database)
        if now is not None and (
            any(n < t for n, t in zip(now, then, strict=True)) or (reset and now != then)
        ):
            out.append(key)
    return sorted(out)


def counters_from_rows(
    server: str,
    rows_by_db: Iterable[tuple[str, Sequence[tuple[Any, ...]], Sequence[tuple[Any, ...]]]],
) -> WriteCounters:
    """Build a capture from :meth:`Dialect.write_counters` and :meth:`Dialect.sequence_values` rows,
    per database."""
    tables: dict[TableKey, Counts] = {}
    resets: dict[str, str | None] = {}
    sequences: dict[TableKey, int | None] = {}
    captured = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    for db, rows, seq_rows in rows_by_db:
        resets[db] = None
        for schema, table, ins, upd, dele, reset, _now in rows:
            tables[TableKey(db, schema, table)] = Counts(int(ins), int(upd), int(dele))
            resets[db] = reset
        for schema, name, last in seq_rows:
            sequences[TableKey(db, schema, name)] = None if last is None else int(last)
    return WriteCounters(captured, server, tables, resets, sequences)


def write_counters(
    endpoint: Endpoint,
    *,
    databases: Sequence[str] | None = None,
    connect_map: ConnectMap | None = None,
) -> WriteCounters:
    """Capture ``pg_stat_user_tables`` write counters of every (or the named) user database."""
    names = list(databases) if databases else list_databases(endpoint, connect_map=connect_map)
    collected = []
    for db in names:
        with connect(endpoint, db, connect_map=connect_map) as conn:
            try:
                rows = conn.execute(Dialect.write_counters().text).fetchall()
                seq_rows = conn.execute(Dialect.sequence_values().text).fetchall()
            except psycopg.Error as e:
                raise OperationFailed(
                    f"cannot read write counters of the {endpoint.describe(db)}: {e}"
                ) from None
            collected.append((db, rows, seq_rows))
    return counters_from_rows(endpoint.describe(), collected)
