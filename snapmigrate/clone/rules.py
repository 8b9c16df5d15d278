"""Masking rules: the TOML file ``clone create --mask`` reads, and the checks
made against the source's catalog before anything is created. Pure: text and
catalog records in, rules or a one-line error (exit 2) out.

The layout (a contract, documented in docs/clone.md)::

    [[mask]]
    table = "public.people"        # schema.table; "people" means public.people
    column = "email"
    strategy = "email"             # null, constant, hash, email, phone, name, sql
    # value = "redacted"           # constant only
    # expression = "upper(note)"   # sql only: any expression over the row
    # database = "app"             # optional: else every database holding the table

    [[empty]]
    table = "public.audit_log"
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.db.mask import RuleColumn, TablePlan
from snapmigrate.db.mask_catalog import TableFacts
from snapmigrate.db.scope import TableRef
from snapmigrate.errors import BadInput

STRATEGIES = ("null", "constant", "hash", "email", "phone", "name", "sql")
#: Base types each strategy can write (``None``: any type).
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "citext", "name"})
INTEGER_TYPES = frozenset({"int2", "int4", "int8"})
FITS: dict[str, frozenset[str] | None] = {
    "null": None,
    "constant": None,
    "sql": None,
    "hash": TEXT_TYPES | INTEGER_TYPES | {"uuid"},
    "email": TEXT_TYPES,
    "phone": TEXT_TYPES,
    "name": TEXT_TYPES,
}
#: The shortest text a fake needs (``user_0123456789@example.com`` is 27 characters).
MIN_LENGTH = {"email": 27, "name": 12, "hash": 16}


@dataclass(frozen=True)
class MaskRule:
    """One column and how its values are replaced."""

    table: TableRef
    column: str
    strategy: str
    value: str | None = None
    expression: str | None = None

    @property
    def where(self) -> str:
        return f"{self.table.schema}.{self.table.name}.{self.column}"


@dataclass(frozen=True)
class MaskRules:
    """A rules file, parsed: columns to mask, tables to empty, and its digest."""

    masks: tuple[MaskRule, ...] = ()
    empty: tuple[TableRef, ...] = ()
    digest: str = ""
    text: str = field(default="", repr=False)

    @property
    def tables(self) -> tuple[TableRef, ...]:
        """Every table the rules name, once, masked ones first."""
        seen: dict[tuple[str | None, str, str], TableRef] = {}
        for ref in (*(r.table for r in self.masks), *self.empty):
            seen.setdefault((ref.database, ref.schema, ref.name), ref)
        return tuple(seen.values())

    def summary(self) -> str:
        tables = {(r.table.schema, r.table.name) for r in self.masks}
        return (
            f"mask {len(self.masks)} column(s) in {len(tables)} table(s), "
            f"empty {len(self.empty)} table(s) (rules {self.digest})"
        )


def digest(text: str) -> str:
    """The first 16 hex digits of the rules' SHA-256: the clone's ``snapmigrate:mask`` tag."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse(text: str, where: str = "the rules") -> MaskRules:
    """A rules file's text -> :class:`MaskRules`; bad input is one line naming the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{where} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - {"mask", "empty"})
    if unknown:
        raise BadInput(f"{where}: unknown section {unknown[0]!r}: use [[mask]] and [[empty]]")
    masks = tuple(_mask(entry, n, where) for n, entry in enumerate(_list(data, "mask", where), 1))
    empty = tuple(
        _table(e, f"{where}: [[empty]] #{n}") for n, e in enumerate(_list(data, "empty", where), 1)
    )
    if not masks and not empty:
        raise BadInput(f"{where} names nothing to mask: add [[mask]] or [[empty]] entries")
    seen: set[tuple[str | None, str, str, str]] = set()
    for rule in masks:
        key = (rule.table.database, rule.table.schema, rule.table.name, rule.column)
        if key in seen:
            raise BadInput(f"{where}: column {rule.where} has two rules: keep one")
        seen.add(key)
    emptied = {(t.database, t.schema, t.name) for t in empty}
    both = [r for r in masks if (r.table.database, r.table.schema, r.table.name) in emptied]
    if both:
        raise BadInput(
            f"{where}: {both[0].table.schema}.{both[0].table.name} is both masked and emptied: "
            "an emptied table needs no mask"
        )
    return MaskRules(masks, empty, digest(text), text)


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadInput(f"{where}: {key} must be an array of tables ([[{key}]] entries)")
    return entries


def _text(entry: Mapping[str, Any], key: str, what: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what}: {key} must be a non-empty string")
    return value


def _table(entry: Mapping[str, Any], what: str, extra: Sequence[str] = ()) -> TableRef:
    allowed = {"table", "database", *extra}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise BadInput(
            f"{what}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
    ref = TableRef.parse(str(_text(entry, "table", what)))
    database = _text(entry, "database", what, required=False)
    return TableRef(ref.schema, ref.name, database)


def _mask(entry: Mapping[str, Any], n: int, where: str) -> MaskRule:
    what = f"{where}: [[mask]] #{n}"
    table = _table(entry, what, ("column", "strategy", "value", "expression"))
    column = str(_text(entry, "column", what))
    strategy = str(_text(entry, "strategy", what))
    what = f"{what} ({table.schema}.{table.name}.{column})"
    if strategy not in STRATEGIES:
        raise BadInput(f"{what}: unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    value = entry.get("value")
    expression = entry.get("expression")
    if strategy == "constant":
        if value is None:
            raise BadInput(f"{what}: strategy constant needs a value")
        value = str(value).lower() if isinstance(value, bool) else str(value)
    elif value is not None:
        raise BadInput(f"{what}: only strategy constant takes a value")
    if strategy == "sql":
        expression = _text(entry, "expression", what)
    elif expression is not None:
        raise BadInput(f"{what}: only strategy sql takes an expression")
    return MaskRule(table, column, strategy, value, expression)


def check(rules: MaskRules, found: Sequence[TableFacts], databases: Sequence[str]) -> None:
    """Every rule against the source's catalog: the first problem is bad input (exit 2).

    ``found`` holds every table the rules name, in each database that has it;
    ``databases`` are the source's user databases.
    """
    for ref in rules.tables:
        if ref.database is not None and ref.database not in databases:
            raise BadInput(
                f"mask rules: database {ref.database!r} is not on the source "
                f"(it has {', '.join(databases) or 'none'})"
            )
        if not _facts(found, ref):
            where = f"database {ref.database}" if ref.database else "any database of the source"
            raise BadInput(f"mask rules: table {ref.schema}.{ref.name} is not in {where}")
    hashed = {
        (t.database, t.qualified, rule.column)
        for rule in rules.masks
        if rule.strategy == "hash"
        for t in _facts(found, rule.table)
    }
    for rule in rules.masks:
        for table in _facts(found, rule.table):
            _check_rule(rule, table)
            _check_references(rule, table, hashed)
    emptied = {(t.database, t.qualified) for r in rules.empty for t in _facts(found, r)}
    for ref in rules.empty:
        for table in _facts(found, ref):
            kept = [
                fk.table for fk in table.referenced_by if (table.database, fk.table) not in emptied
            ]
            if kept:
                raise BadInput(
                    f"mask rules: {table.label} cannot be emptied: {kept[0]} refers to it by a "
                    "foreign key; empty that table too"
                )


def _facts(found: Sequence[TableFacts], ref: TableRef) -> list[TableFacts]:
    return [
        t
        for t in found
        if t.schema == ref.schema
        and t.name == ref.name
        and (ref.database is None or ref.database == t.database)
    ]


def _check_rule(rule: MaskRule, table: TableFacts) -> None:
    what = f"mask rules: {table.qualified}.{rule.column} (database {table.database})"
    column = table.columns.get(rule.column)
    if column is None:
        raise BadInput(
            f"mask rules: column {rule.column!r} is not in {table.label}: it has "
            f"{', '.join(sorted(table.columns)) or 'no columns'}"
        )
    if table.partitioned or table.descendants:
        shown = ", ".join(table.descendants[:3]) or "its partitions"
        raise BadInput(
            f"{what}: the table has partitions or child tables ({shown}): mask each of them "
            "by name instead"
        )
    if not table.primary_key:
        raise BadInput(
            f"{what}: the table has no primary key; masking goes by key, to prove at every "
            "row that no value survives"
        )
    fits = FITS[rule.strategy]
    if fits is not None and column.base_type not in fits:
        writes = "text, integers or uuid" if rule.strategy == "hash" else "text"
        raise BadInput(
            f"{what}: strategy {rule.strategy} does not fit type {column.type} (it writes {writes})"
        )
    needed = MIN_LENGTH.get(rule.strategy)
    short = needed is not None and column.max_length is not None and column.max_length < needed
    if short and (rule.strategy != "hash" or rule.column in table.keys):
        raise BadInput(
            f"{what}: {column.type} is too short for strategy {rule.strategy} "
            f"(it needs {needed} characters)"
        )
    if rule.column in table.keys and rule.strategy != "hash":
        kind = "primary" if rule.column in table.primary_key else "foreign"
        raise BadInput(
            f"{what}: a {kind} key column is masked only with strategy hash, which keeps "
            "joins and references matching"
        )
    if rule.strategy == "null" and column.not_null:
        raise BadInput(f"{what}: the column is NOT NULL and cannot be set to null")
    if column.generated or column.identity_always:
        kind = "generated" if column.generated else "an identity column GENERATED ALWAYS"
        raise BadInput(f"{what}: the column is {kind} and cannot be updated")


def _check_references(rule: MaskRule, table: TableFacts, hashed: set[tuple[str, str, str]]) -> None:
    """A hashed key column and the columns it is tied to by foreign keys are all hashed,
    or the references break (the same value hashes the same everywhere)."""
    if rule.strategy != "hash":
        return
    ties = [
        (fk.ref_table, ref)
        for fk in table.foreign_keys
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False)
        if col == rule.column
    ]
    ties += [
        (fk.table, col)
        for fk in table.referenced_by
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False)
        if ref == rule.column
    ]
    for other, column in ties:
        if (table.database, other, column) not in hashed:
            raise BadInput(
                f"mask rules: {table.qualified}.{rule.column} (database {table.database}) is "
                f"hashed but {other}.{column} is tied to it by a foreign key: hash it too, "
                "or the references break"
            )


def plans(rules: MaskRules, found: Sequence[TableFacts]) -> dict[str, list[TablePlan]]:
    """Per database, what to do to each table the (checked) rules name."""
    out: dict[str, list[TablePlan]] = {}
    for table in sorted(found, key=lambda t: (t.database, t.schema, t.name)):
        ref = (table.schema, table.name)
        masks = [
            RuleColumn(r.column, r.strategy, r.value, r.expression)
            for r in rules.masks
            if (r.table.schema, r.table.name) == ref and r.table.database in (None, table.database)
        ]
        empty = any(
            (e.schema, e.name) == ref and e.database in (None, table.database) for e in rules.empty
        )
        if not masks and not empty:
            continue
        out.setdefault(table.database, []).append(
            TablePlan(
                table.schema,
                table.name,
                key=table.primary_key,
                columns=tuple(table.columns),
                types={c.name: (c.type, c.base_type, c.max_length) for c in table.columns.values()},
                rules=tuple(masks),
                empty=empty,
                descendants=table.descendants,
            )
        )
    return out
