"""What a verification found: per row (:class:`RowDifference`), per table
(:class:`TableResult`), per database, and in all (:class:`VerifyResult`, with
its exit code). JSON renders from ``to_dict()`` here, and only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from snapmigrate.db.catalog import qualname
from snapmigrate.db.schema_diff import SchemaDifference
from snapmigrate.db.stats import TableKey
from snapmigrate.errors import EXIT_DIFFERENCES, EXIT_FAILED, EXIT_OK

Kind = Literal["missing_on_target", "extra_on_target", "changed"]


@dataclass(frozen=True)
class RowDifference:
    """A row missing on the target, extra on it, or changed (with the columns that differ)."""

    database: str
    schema: str
    table: str
    key: tuple[tuple[str, Any], ...]
    kind: Kind
    columns: tuple[str, ...] = ()
    source: tuple[tuple[str, str | None], ...] | None = None
    target: tuple[tuple[str, str | None], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "schema": self.schema,
            "table": self.table,
            "key": {k: _jsonable(v) for k, v in self.key},
            "kind": self.kind,
            "columns": list(self.columns),
            "source": dict(self.source) if self.source is not None else None,
            "target": dict(self.target) if self.target is not None else None,
        }


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


@dataclass(frozen=True)
class TableResult:
    """The comparison of one table (``None`` rows: the table is missing on that side)."""

    database: str
    schema: str
    name: str
    kind: str = "table"
    source_rows: int | None = None
    target_rows: int | None = None
    checksum_equal: bool | None = None
    method: str = "count"
    key: tuple[str, ...] | None = None
    differing_rows: int = 0
    differing_rows_exact: bool = True
    samples: tuple[RowDifference, ...] = ()
    elapsed_s: float = 0.0
    note: str | None = None
    error: str | None = None
    drift: bool = False

    @property
    def rows_equal(self) -> bool:
        return self.source_rows is not None and self.source_rows == self.target_rows

    @property
    def equal(self) -> bool:
        return self.error is None and self.rows_equal and self.checksum_equal is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "schema": self.schema,
            "name": self.name,
            "kind": self.kind,
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "equal": self.equal,
            "rows_equal": self.rows_equal,
            "checksum_equal": self.checksum_equal,
            "method": self.method,
            "key": list(self.key) if self.key else None,
            "differing_rows": self.differing_rows,
            "differing_rows_exact": self.differing_rows_exact,
            "drift": self.drift,
            "elapsed_s": round(self.elapsed_s, 3),
            "note": self.note,
            "error": self.error,
        }


@dataclass(frozen=True)
class DatabaseResult:
    """A database pair and how it was read."""

    name: str
    target_name: str
    source_version: int | None = None
    target_version: int | None = None
    on_target: bool = True
    snapshot: str = "shared"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target_name": self.target_name,
            "source_version": self.source_version,
            "target_version": self.target_version,
            "on_target": self.on_target,
            "snapshot": self.snapshot,
        }


@dataclass(frozen=True)
class DriftInfo:
    """What the source's write counters say changed since the snapshot."""

    baseline_captured_at: str
    captured_at: str
    tables: tuple[TableKey, ...] = ()
    counters_reset: tuple[TableKey, ...] = ()
    sequences: tuple[TableKey, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        as_dicts = lambda keys: [k._asdict() for k in keys]  # noqa: E731
        return {
            "baseline_captured_at": self.baseline_captured_at,
            "captured_at": self.captured_at,
            "tables": as_dicts(self.tables),
            "counters_reset": as_dicts(self.counters_reset),
            "sequences": as_dicts(self.sequences),
        }


@dataclass(frozen=True)
class VerifyResult:
    """The outcome: ``equal`` when nothing differs; ``exit_code`` 0 equal, 3 differences, 1 could
    not compare."""

    source: str
    target: str
    mode: str
    databases: tuple[DatabaseResult, ...] = ()
    tables: tuple[TableResult, ...] = ()
    schema_differences: tuple[SchemaDifference, ...] = ()
    drift: DriftInfo | None = None
    elapsed_s: float = 0.0
    jobs: int = 1
    allow_drift: bool = False

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(
            f"{t.database} {qualname(t.schema, t.name)}: {t.error}" for t in self.tables if t.error
        )

    @property
    def differing_tables(self) -> tuple[TableResult, ...]:
        return tuple(t for t in self.tables if not t.equal and not t.error)

    @property
    def differing_rows(self) -> tuple[RowDifference, ...]:
        return tuple(s for t in self.tables for s in t.samples)

    @property
    def unexplained(self) -> int:
        """Differences not explained by writes after the snapshot."""
        return sum(not t.drift for t in self.differing_tables) + sum(
            not d.drift for d in self.schema_differences
        )

    @property
    def equal(self) -> bool:
        return not self.schema_differences and not self.errors and all(t.equal for t in self.tables)

    @property
    def exit_code(self) -> int:
        if self.equal:
            return EXIT_OK
        if self.differing_tables or self.schema_differences:
            if self.allow_drift and self.unexplained == 0 and not self.errors:
                return EXIT_OK
            return EXIT_DIFFERENCES
        return EXIT_FAILED

    def to_dict(self) -> dict[str, Any]:
        differing = self.differing_tables
        return {
            "equal": self.equal,
            "mode": self.mode,
            "source": self.source,
            "target": self.target,
            "databases": [d.to_dict() for d in self.databases],
            "tables": [t.to_dict() for t in self.tables],
            "schema_differences": [d.to_dict() for d in self.schema_differences],
            "differing_rows": [r.to_dict() for r in self.differing_rows],
            "drift": self.drift.to_dict() if self.drift else None,
            "errors": list(self.errors),
            "summary": {
                "tables": len(self.tables),
                "tables_differing": len(differing),
                "schema_differences": len(self.schema_differences),
                "differing_rows": sum(t.differing_rows for t in differing),
                "unexplained_differences": self.unexplained,
                "drift_differences": sum(t.drift for t in differing)
                + sum(d.drift for d in self.schema_differences),
                "rows_compared": sum(t.source_rows or 0 for t in self.tables),
            },
            "jobs": self.jobs,
            "elapsed_s": round(self.elapsed_s, 3),
        }
