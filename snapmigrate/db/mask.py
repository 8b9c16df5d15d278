"""Masking in the databases: the source's catalog facts the rules are checked
against (read-only), the checks only a server can make (a constant's cast, a
``sql`` expression, integer keys' sign), and the masking run on a clone.

A run, per database, in one session with triggers and foreign-key checks off
(``session_replication_role = replica``: an audit trigger must not copy the old
values elsewhere; hashed keys are consistent again once every table is done):
stash each masked table's keys and keyed digests (a temporary table, gone with
the session), UPDATE in batches by key, empty the tables to empty, VACUUM FULL
the masked tables, then count -- in the database, nothing pulled but counts --
the rows that kept a masked value at their key, the rows whose other columns
changed, and the rows left in the emptied tables.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from snapmigrate.db import mask_sql as q
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.errors import OperationFailed

if TYPE_CHECKING:
    from snapmigrate.connectmap import ConnectMap


@dataclass(frozen=True)
class RuleColumn:
    """A masked column, as a database run needs it (built from the rules and the facts)."""

    column: str
    strategy: str
    value: str | None = None
    expression: str | None = None


@dataclass(frozen=True)
class TablePlan:
    """What to do to one table of one database: mask columns, or empty it."""

    schema: str
    name: str
    key: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # every column, in order
    types: Mapping[str, tuple[str, str, int | None]] = field(default_factory=dict)
    rules: tuple[RuleColumn, ...] = ()
    empty: bool = False
    #: For an emptied table: its partitions and children (``schema.name``), emptied with it.
    descendants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnProof:
    column: str
    strategy: str
    checked_rows: int
    kept_values: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TableProof:
    """What the counts say about one table after masking."""

    database: str
    schema: str
    name: str
    rows: int
    found_at_key: int | None = None
    columns: tuple[ColumnProof, ...] = ()
    rest_changed: int | None = None
    emptied: bool = False
    batches: int = 0
    elapsed_s: float = 0.0

    @property
    def leaked(self) -> int:
        return sum(c.kept_values for c in self.columns)

    @property
    def clean(self) -> bool:
        """No masked value kept, every row found at its key, nothing else changed."""
        if self.emptied:
            return self.rows == 0
        return self.leaked == 0 and not self.rest_changed and self.found_at_key == self.rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "schema": self.schema,
            "table": self.name,
            "emptied": self.emptied,
            "rows": self.rows,
            "found_at_key": self.found_at_key,
            "columns": [c.to_dict() for c in self.columns],
            "rest_changed": self.rest_changed,
            "batches": self.batches,
            "clean": self.clean,
            "elapsed_s": round(self.elapsed_s, 2),
        }


class Keys:
    """The per-clone secrets: one keys the fakes and hashes, one the proof's digests.
    They live in this object only: never in a record, a log, a journal or an error."""

    def __init__(self) -> None:
        self._mask = secrets.token_hex(16)
        self._proof = secrets.token_hex(16)
        rng = secrets.SystemRandom()
        self._mix = {
            bits: {
                "a": rng.randrange(1, 2**bits, 2),
                "b": rng.randrange(0, 2**bits),
                "c": rng.randrange(1, 2**bits, 2),
                "d": rng.randrange(0, 2**bits),
            }
            for bits in q.INT_BITS.values()
        }

    def __repr__(self) -> str:
        return "Keys(<secret>)"

    def params(self) -> dict[str, Any]:
        found: dict[str, Any] = {"k": self._mask, "p": self._proof}
        for bits, constants in self._mix.items():
            found.update({f"{name}{bits}": value for name, value in constants.items()})
        return found


def _run(conn: psycopg.Connection[Any], what: str, text: q.Sql, params: Any = None) -> Any:
    try:
        return conn.execute(text, params or None)
    except psycopg.Error as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise OperationFailed(f"masking: {what}: {first}") from None


def targets(plan: TablePlan) -> tuple[q.Target, ...]:
    """The statements' view of a table's rules (constants as parameters ``v0``...)."""
    found = []
    for n, rule in enumerate(plan.rules):
        type_, base, length = plan.types[rule.column]
        found.append(
            q.Target(
                rule.column,
                rule.strategy,
                base,
                type_,
                length,
                value_param=f"v{n}" if rule.strategy == "constant" else None,
                expression=rule.expression,
            )
        )
    return tuple(found)


def params_for(plan: TablePlan, keys: Keys) -> dict[str, Any]:
    params = keys.params()
    for n, rule in enumerate(plan.rules):
        if rule.strategy == "constant":
            params[f"v{n}"] = rule.value
    return params


# -- on the clone ----------------------------------------------------------------------

#: ``progress(table, rows_done, rows_total)`` after each batch.
Report = Callable[[str, int, int], None]


@dataclass
class MaskRun:
    """Mask one database of a clone: :meth:`run` returns each table's proof."""

    endpoint: Endpoint
    database: str
    plans: Sequence[TablePlan]
    keys: Keys
    connect_map: ConnectMap | None = None
    batch_rows: int = 10000
    report: Report = lambda table, done, total: None

    def run(self) -> list[TableProof]:
        with self._session() as conn:
            masked = [p for p in self.plans if not p.empty]
            tables = [self._table(p, n) for n, p in enumerate(masked)]
            started = {t.stash: time.monotonic() for t in tables}
            sizes = {t.stash: self._stash(conn, t, p) for t, p in zip(tables, masked, strict=True)}
            batches = {
                t.stash: self._mask(conn, t, p, sizes[t.stash])
                for t, p in zip(tables, masked, strict=True)
            }
            emptied = [p for p in self.plans if p.empty]
            if emptied:
                idents = [sql.Identifier(p.schema, p.name) for p in emptied]
                _run(conn, "empty tables", q.truncate(idents))
            for t in tables:
                _run(conn, f"vacuum {t.schema}.{t.name}", q.vacuum(t.ident))
            proofs = [
                self._prove(conn, t, p, sizes[t.stash], batches[t.stash], started[t.stash])
                for t, p in zip(tables, masked, strict=True)
            ]
            for p in emptied:
                (rows,) = _run(
                    conn, "count", q.count(sql.Identifier(p.schema, p.name), only=False)
                ).fetchone()
                proofs.append(TableProof(self.database, p.schema, p.name, int(rows), emptied=True))
            return proofs

    @contextlib.contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        conn = connect(self.endpoint, self.database, connect_map=self.connect_map)
        try:
            _run(conn, "turn triggers off", sql.SQL("SET session_replication_role = replica"))
            _run(conn, "settings", sql.SQL("SET synchronous_commit = off"))
            yield conn
        finally:
            conn.close()  # the stash, a temporary table, goes with the session

    def _table(self, plan: TablePlan, n: int) -> q.MaskedTable:
        touched = {r.column for r in plan.rules}
        return q.MaskedTable(
            plan.schema,
            plan.name,
            plan.key,
            targets(plan),
            tuple(c for c in plan.columns if c not in touched),
            stash=f"{q.STASH_PREFIX}mask_{n}",
        )

    def _stash(self, conn: psycopg.Connection[Any], t: q.MaskedTable, plan: TablePlan) -> int:
        what = f"stash {t.schema}.{t.name}"
        _run(conn, what, q.stash(t), params_for(plan, self.keys))
        _run(conn, what, q.stash_index(t))
        _run(conn, what, sql.SQL("ANALYZE {}").format(sql.Identifier(t.stash)))
        (rows,) = _run(conn, what, q.count(sql.Identifier(t.stash))).fetchone()
        return int(rows)

    def _mask(
        self, conn: psycopg.Connection[Any], t: q.MaskedTable, plan: TablePlan, rows: int
    ) -> int:
        label = f"{t.schema}.{t.name}"
        statement = q.update_batch(t)
        params = params_for(plan, self.keys)
        done = batches = 0
        self.report(label, 0, rows)
        while done < rows:
            hi = min(rows, done + self.batch_rows)
            _run(conn, f"mask {label}", statement, {**params, "lo": done, "hi": hi})
            done, batches = hi, batches + 1
            self.report(label, done, rows)
        return batches

    def _prove(
        self,
        conn: psycopg.Connection[Any],
        t: q.MaskedTable,
        plan: TablePlan,
        stashed: int,
        batches: int,
        started: float,
    ) -> TableProof:
        what = f"prove {t.schema}.{t.name}"
        row = _run(conn, what, q.proof(t), params_for(plan, self.keys)).fetchone()
        (rows,) = _run(conn, what, q.count(t.ident)).fetchone()
        found, *kept = (int(v) for v in row)
        rest = kept.pop() if t.rest else None
        columns = tuple(
            ColumnProof(target.column, target.strategy, stashed, n)
            for target, n in zip(t.targets, kept, strict=True)
        )
        if int(rows) != stashed:
            rest = (rest or 0) + abs(int(rows) - stashed)  # rows appeared or vanished
        return TableProof(
            self.database,
            t.schema,
            t.name,
            stashed,
            found_at_key=found,
            columns=columns,
            rest_changed=rest,
            batches=batches,
            elapsed_s=time.monotonic() - started,
        )
