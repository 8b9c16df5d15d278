"""What a verification compares and how hard it looks: tables to include
(:class:`TableRef`), the command's options (:class:`VerifyOptions`), and per
table the columns and key (:class:`TableSpec`) and effort (:class:`CompareSettings`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from snapmigrate.db.dialect import HashColumn, Table
from snapmigrate.db.stats import Baseline, WriteCounters
from snapmigrate.errors import BadInput


@dataclass(frozen=True)
class TableRef:
    """A table to compare: ``schema.name``, optionally in one database only."""

    schema: str
    name: str
    database: str | None = None

    @classmethod
    def parse(cls, text: str) -> TableRef:
        """``schema.table`` or ``table`` (schema public); double quotes keep dots and case."""
        parts = [
            q.replace('""', '"') if q else p
            for q, p in re.findall(r'"((?:[^"]|"")*)"|([^."]+)', text)
        ]
        if len(parts) == 1:
            return cls("public", parts[0])
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        raise BadInput(f"{text!r} is not schema.table (quote names that hold dots)")


@dataclass(frozen=True)
class VerifyOptions:
    """What to compare and how; checks itself."""

    mode: str = "checksum"
    databases: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    jobs: int = 2
    max_differing_rows: int = 20
    baseline: Baseline | WriteCounters | None = None
    tables: tuple[TableRef, ...] | None = None
    allow_drift: bool = False
    #: Per ``(database, schema, table)``: columns left out of the comparison (a masked
    #: clone's masked columns), or None to leave the table out (emptied by masking).
    leave_out: Mapping[tuple[str, str, str], tuple[str, ...] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in ("counts", "checksum"):
            raise BadInput(f"--mode must be counts or checksum, not {self.mode!r}")
        if not 1 <= self.jobs <= 64:
            raise BadInput(f"--jobs must be between 1 and 64, not {self.jobs}")
        if self.max_differing_rows < 0:
            raise BadInput("--max-differing-rows must be 0 or more")
        if isinstance(self.baseline, WriteCounters):
            object.__setattr__(self, "baseline", Baseline(after=self.baseline))
        if self.tables is not None:
            object.__setattr__(
                self,
                "tables",
                tuple(t if isinstance(t, TableRef) else TableRef.parse(t) for t in self.tables),
            )
        for name in ("databases", "schemas", "exclude"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def keeps_schema(self, schema: str) -> bool:
        return not self.schemas or schema in self.schemas

    def keeps(self, database: str, schema: str, name: str) -> bool:
        """Whether a table is in scope: --schema, --exclude (glob on schema.table or table),
        tables."""
        if not self.keeps_schema(schema):
            return False
        if self.leave_out.get((database, schema, name), ()) is None:
            return False
        for pattern in self.exclude:
            if fnmatch.fnmatchcase(f"{schema}.{name}" if "." in pattern else name, pattern):
                return False
        if self.tables is None:
            return True
        return any(
            t.schema == schema and t.name == name and t.database in (None, database)
            for t in self.tables
        )


@dataclass(frozen=True)
class CompareSettings:
    """How hard to look; checks itself."""

    mode: str = "checksum"
    leaf_rows: int = 5000
    fanout: int = 16
    max_buckets: int = 4096
    bucketed_min_rows: int = 20000
    max_differing_rows: int = 20
    preview_chars: int = 80

    def __post_init__(self) -> None:
        if self.mode not in ("counts", "checksum"):
            raise ValueError(f"mode must be counts or checksum, not {self.mode!r}")
        if self.leaf_rows < self.fanout or self.fanout < 2 or self.max_buckets < 2:
            raise ValueError("leaf_rows >= fanout >= 2 and max_buckets >= 2")


@dataclass(frozen=True)
class TableSpec:
    """What to compare for one table present on both sides."""

    database: str
    schema: str
    name: str
    kind: str
    columns: tuple[HashColumn, ...]
    key: tuple[str, ...] | None
    integer_key: bool
    estimated_rows: float = -1
    unlogged: bool = False

    @property
    def table(self) -> Table:
        return Table(self.schema, self.name)
