"""Schema inventory: what a database holds, read from its catalogs
(:class:`~snapmigrate.db.dialect.Dialect` queries), and which columns and key
both sides compare. The differences between two inventories: :mod:`.schema_diff`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.db.dialect import INTEGER_TYPES, Dialect, HashColumn, Query

Run = Callable[[Query], list[tuple[Any, ...]]]

KIND_NAMES = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote(name: str) -> str:
    """An identifier as PostgreSQL would print it (quoted only when it must be)."""
    return name if _PLAIN.match(name) else '"' + name.replace('"', '""') + '"'


def qualname(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


@dataclass(frozen=True)
class Relation:
    """A table, partition, view, materialized view or foreign table."""

    schema: str
    name: str
    kind: str
    persistence: str = "p"
    is_partition: bool = False
    estimated_rows: float = -1
    partition_bound: str | None = None
    parents: tuple[str, ...] = ()
    definition: str | None = None
    populated: bool = True

    @property
    def kind_name(self) -> str:
        return "partition" if self.is_partition else KIND_NAMES.get(self.kind, self.kind)


@dataclass(frozen=True)
class Column:
    """A column with its declared type and the pg_catalog type it is hashed as."""

    schema: str
    table: str
    position: int
    name: str
    type: str
    not_null: bool
    default: str | None = None
    identity: str = ""
    generated: str = ""
    base_type: str | None = None


@dataclass(frozen=True)
class Index:
    """An index, and what it says about a usable row key."""

    schema: str
    table: str
    name: str
    definition: str
    primary: bool = False
    unique: bool = False
    valid: bool = True
    partial_or_expression: bool = False
    columns: tuple[str, ...] = ()
    columns_not_null: bool = False


@dataclass(frozen=True)
class Constraint:
    schema: str
    table: str
    name: str
    type: str
    definition: str


@dataclass(frozen=True)
class Sequence_:
    """A sequence and its last value (None: never used, or not readable)."""

    schema: str
    name: str
    data_type: str
    increment: int
    last_value: int | None
    owned_by: str | None = None


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    arguments: str
    result: str | None
    language: str
    kind: str
    body_hash: int


@dataclass(frozen=True)
class Inventory:
    """Everything compared about one database's schema."""

    version: int
    schemas: tuple[str, ...] = ()
    relations: Mapping[tuple[str, str], Relation] = field(default_factory=dict)
    columns: Mapping[tuple[str, str], tuple[Column, ...]] = field(default_factory=dict)
    indexes: Mapping[tuple[str, str], Index] = field(default_factory=dict)
    constraints: Mapping[tuple[str, str, str], Constraint] = field(default_factory=dict)
    sequences: Mapping[tuple[str, str], Sequence_] = field(default_factory=dict)
    extensions: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[tuple[str, str, str], Function] = field(default_factory=dict)

    def key_of(self, schema: str, table: str) -> tuple[str, ...] | None:
        """The row key: the primary key, else the narrowest valid unique index on NOT NULL
        columns."""
        candidates = [
            i
            for i in self.indexes.values()
            if i.schema == schema
            and i.table == table
            and i.valid
            and (i.primary or (i.unique and i.columns_not_null))
            and not i.partial_or_expression
            and i.columns
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda i: (not i.primary, len(i.columns), i.name))
        return best.columns

    def filtered(
        self, keep: Callable[[str, str], bool], keep_schema: Callable[[str], bool]
    ) -> Inventory:
        """Only the objects in the chosen schemas and tables (extensions are database-wide:
        kept)."""
        return Inventory(
            version=self.version,
            schemas=tuple(s for s in self.schemas if keep_schema(s)),
            relations={k: v for k, v in self.relations.items() if keep(*k)},
            columns={k: v for k, v in self.columns.items() if keep(*k)},
            indexes={k: v for k, v in self.indexes.items() if keep(v.schema, v.table)},
            constraints={k: v for k, v in self.constraints.items() if keep(k[0], k[1])},
            sequences={k: v for k, v in self.sequences.items() if keep_schema(k[0])},
            extensions=dict(self.extensions),
            functions={k: v for k, v in self.functions.items() if keep_schema(k[0])},
        )


def read_inventory(run: Run, dialect: Dialect, version: int) -> Inventory:
    """Read one database's inventory through ``run`` (one connection, one snapshot)."""
    relations = {
        (r[0], r[1]): Relation(
            r[0],
            r[1],
            r[2],
            r[3],
            bool(r[4]),
            float(r[5]),
            r[6],
            tuple(r[7] or ()),
            r[8],
            bool(r[9]),
        )
        for r in run(dialect.relations())
    }
    columns: dict[tuple[str, str], list[Column]] = {}
    for r in run(dialect.columns()):
        columns.setdefault((r[0], r[1]), []).append(
            Column(
                r[0], r[1], int(r[2]), r[3], r[4], bool(r[5]), r[6], r[7] or "", r[8] or "", r[9]
            )
        )
    indexes = {
        (r[0], r[2]): Index(
            r[0],
            r[1],
            r[2],
            r[3],
            bool(r[4]),
            bool(r[5]),
            bool(r[6]),
            bool(r[7]),
            tuple(r[8] or ()),
            bool(r[9]),
        )
        for r in run(dialect.indexes())
    }
    constraints = {(r[0], r[1], r[2]): Constraint(*r) for r in run(dialect.constraints())}
    sequences = {
        (r[0], r[1]): Sequence_(
            r[0], r[1], r[2], int(r[3]), None if r[4] is None else int(r[4]), r[5]
        )
        for r in run(dialect.sequences())
    }
    extensions = {r[0]: r[1] for r in run(dialect.extensions())}
    functions = {
        (r[0], r[1], r[2]): Function(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]))
        for r in run(dialect.functions())
    }
    return Inventory(
        version=version,
        schemas=tuple(r[0] for r in run(dialect.schemas())),
        relations=relations,
        columns={k: tuple(v) for k, v in columns.items()},
        indexes=indexes,
        constraints=constraints,
        sequences=sequences,
        extensions=extensions,
        functions=functions,
    )


def hash_columns(src: Sequence[Column], tgt: Sequence[Column]) -> tuple[HashColumn, ...]:
    """The columns both sides have, in the source's order, hashed the same way on
    both; a column whose type differs is hashed from its text on both sides."""
    t = {c.name: c for c in tgt}
    out = []
    for c in src:
        other = t.get(c.name)
        if other is None:
            continue
        same_type = c.type == other.type and c.base_type == other.base_type
        out.append(
            HashColumn(
                c.name,
                c.base_type if same_type else None,
                nullable=not (c.not_null and other.not_null),
            )
        )
    return tuple(out)


def is_integer_key(columns: Sequence[Column], key: Sequence[str] | None) -> bool:
    """True when the key's leading column is an integer (bucketed by arithmetic)."""
    if not key:
        return False
    first = next((c for c in columns if c.name == key[0]), None)
    return first is not None and first.base_type in INTEGER_TYPES
