"""The differences between two schema inventories, listed by object. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from snapmigrate.db.catalog import Column, Inventory, qualname, quote


@dataclass(frozen=True)
class SchemaDifference:
    """One object that differs: ``difference`` is missing_on_target, extra_on_target, changed or
    behind."""

    database: str
    kind: str
    object: str
    difference: str
    source: str | None = None
    target: str | None = None
    table: tuple[str, str] | None = None
    drift: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "kind": self.kind,
            "object": self.object,
            "difference": self.difference,
            "source": self.source,
            "target": self.target,
            "drift": self.drift,
        }

    @property
    def message(self) -> str:
        if self.difference == "missing_on_target":
            return f"{self.kind} {self.object} is missing on the target"
        if self.difference == "extra_on_target":
            return f"{self.kind} {self.object} exists only on the target"
        if self.difference == "behind":
            return (
                f"{self.kind} {self.object} is behind on the target: {self.target} < {self.source}"
            )
        return f"{self.kind} {self.object} differs: source {self.source!s}, target {self.target!s}"


def _presence(
    db: str, kind: str, src: Iterable[Any], tgt: Iterable[Any], name: Callable[[Any], str]
) -> list[SchemaDifference]:
    s, t = set(src), set(tgt)
    out = [SchemaDifference(db, kind, name(k), "missing_on_target") for k in sorted(s - t, key=str)]
    out += [SchemaDifference(db, kind, name(k), "extra_on_target") for k in sorted(t - s, key=str)]
    return out


def _changed(
    db: str, kind: str, obj: str, what: str, a: Any, b: Any, table: tuple[str, str] | None = None
) -> list[SchemaDifference]:
    if a == b:
        return []
    return [SchemaDifference(db, kind, obj, "changed", f"{what} {a}", f"{what} {b}", table)]


def diff_inventories(database: str, src: Inventory, tgt: Inventory) -> list[SchemaDifference]:
    """Every object that differs, by kind. View definitions are compared only
    between servers of the same major version (their text form changes between majors)."""
    same_major = src.version // 10000 == tgt.version // 10000
    out = _presence(database, "schema", src.schemas, tgt.schemas, quote)

    rel_s, rel_t = src.relations, tgt.relations
    for key in sorted(rel_s.keys() - rel_t.keys()):
        out.append(
            SchemaDifference(
                database, rel_s[key].kind_name, qualname(*key), "missing_on_target", table=key
            )
        )
    for key in sorted(rel_t.keys() - rel_s.keys()):
        out.append(
            SchemaDifference(
                database, rel_t[key].kind_name, qualname(*key), "extra_on_target", table=key
            )
        )
    common = sorted(rel_s.keys() & rel_t.keys())
    for key in common:
        a, b = rel_s[key], rel_t[key]
        name = qualname(*key)
        out += _changed(database, a.kind_name, name, "kind", a.kind_name, b.kind_name, key)
        out += _changed(
            database,
            a.kind_name,
            name,
            "persistence",
            _persistence(a.persistence),
            _persistence(b.persistence),
            key,
        )
        out += _changed(
            database,
            a.kind_name,
            name,
            "partition bound",
            a.partition_bound,
            b.partition_bound,
            key,
        )
        out += _changed(
            database, a.kind_name, name, "inherits", list(a.parents), list(b.parents), key
        )
        if a.kind == "m":
            out += _changed(database, a.kind_name, name, "populated", a.populated, b.populated, key)
        if same_major and a.kind in ("v", "m"):
            out += _changed(
                database, a.kind_name, name, "definition", a.definition, b.definition, key
            )
        out += _diff_columns(
            database, name, key, src.columns.get(key, ()), tgt.columns.get(key, ())
        )

    both_tables = set(common)
    con_s = {k: v for k, v in src.constraints.items() if (k[0], k[1]) in both_tables}
    con_t = {k: v for k, v in tgt.constraints.items() if (k[0], k[1]) in both_tables}
    out += _presence(
        database, "constraint", con_s, con_t, lambda k: f"{k[2]} on {qualname(k[0], k[1])}"
    )
    for ckey in sorted(con_s.keys() & con_t.keys()):
        out += _changed(
            database,
            "constraint",
            f"{ckey[2]} on {qualname(ckey[0], ckey[1])}",
            "",
            con_s[ckey].definition,
            con_t[ckey].definition,
        )

    idx_s = {k: v for k, v in src.indexes.items() if (v.schema, v.table) in both_tables}
    idx_t = {k: v for k, v in tgt.indexes.items() if (v.schema, v.table) in both_tables}
    out += _presence(database, "index", idx_s, idx_t, lambda k: qualname(*k))
    for key in sorted(idx_s.keys() & idx_t.keys()):
        a_i, b_i = idx_s[key], idx_t[key]
        out += _changed(database, "index", qualname(*key), "", a_i.definition, b_i.definition)
        out += _changed(database, "index", qualname(*key), "valid", a_i.valid, b_i.valid)

    out += _diff_sequences(database, src, tgt)
    out += _presence(database, "extension", src.extensions, tgt.extensions, quote)
    for ext in sorted(src.extensions.keys() & tgt.extensions.keys()):
        out += _changed(
            database, "extension", quote(ext), "version", src.extensions[ext], tgt.extensions[ext]
        )

    fn_name = lambda k: f"{qualname(k[0], k[1])}({k[2]})"  # noqa: E731
    out += _presence(database, "function", src.functions, tgt.functions, fn_name)
    for fkey in sorted(src.functions.keys() & tgt.functions.keys()):
        a_f, b_f = src.functions[fkey], tgt.functions[fkey]
        out += _changed(database, "function", fn_name(fkey), "returns", a_f.result, b_f.result)
        out += _changed(database, "function", fn_name(fkey), "language", a_f.language, b_f.language)
        if a_f.body_hash != b_f.body_hash:
            out.append(
                SchemaDifference(
                    database, "function", fn_name(fkey), "changed", "body", "a different body"
                )
            )
    return out


def _persistence(code: str) -> str:
    return {"p": "logged", "u": "unlogged", "t": "temporary"}.get(code, code)


def _diff_columns(
    db: str, table_name: str, table: tuple[str, str], src: Sequence[Column], tgt: Sequence[Column]
) -> list[SchemaDifference]:
    s = {c.name: c for c in src}
    t = {c.name: c for c in tgt}
    out = [
        SchemaDifference(db, "column", f"{table_name}.{quote(n)}", "missing_on_target", table=table)
        for n in s
        if n not in t
    ]
    out += [
        SchemaDifference(db, "column", f"{table_name}.{quote(n)}", "extra_on_target", table=table)
        for n in t
        if n not in s
    ]
    for n in (n for n in s if n in t):
        a, b = s[n], t[n]
        obj = f"{table_name}.{quote(n)}"
        out += _changed(db, "column", obj, "type", a.type, b.type, table)
        out += _changed(db, "column", obj, "not null", a.not_null, b.not_null, table)
        out += _changed(db, "column", obj, "default", a.default, b.default, table)
        out += _changed(
            db, "column", obj, "identity", a.identity or "no", b.identity or "no", table
        )
        out += _changed(
            db, "column", obj, "generated", a.generated or "no", b.generated or "no", table
        )
    return out


def _diff_sequences(db: str, src: Inventory, tgt: Inventory) -> list[SchemaDifference]:
    out = _presence(db, "sequence", src.sequences, tgt.sequences, lambda k: qualname(*k))
    for key in sorted(src.sequences.keys() & tgt.sequences.keys()):
        a, b = src.sequences[key], tgt.sequences[key]
        name = qualname(*key)
        owner = _split_owner(a.owned_by)
        out += _changed(db, "sequence", name, "type", a.data_type, b.data_type)
        out += _changed(db, "sequence", name, "increment", a.increment, b.increment)
        if a.last_value is None or a.increment != b.increment:
            continue
        # A physical copy may be ahead (sequences pre-log values); behind means
        # new rows on the target would reuse values the source handed out.
        behind = b.last_value is None or (
            b.last_value < a.last_value if a.increment > 0 else b.last_value > a.last_value
        )
        if behind:
            out.append(
                SchemaDifference(
                    db,
                    "sequence",
                    name,
                    "behind",
                    f"last value {a.last_value}",
                    f"last value {b.last_value}" if b.last_value is not None else "never used",
                    owner,
                )
            )
    return out


def _split_owner(owner: str | None) -> tuple[str, str] | None:
    """``schema.table`` as printed by quote_ident back into its parts."""
    if not owner:
        return None
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."]+)', owner)
    names = [q.replace('""', '"') if q else p for q, p in parts]
    return (names[0], names[1]) if len(names) == 2 else None
