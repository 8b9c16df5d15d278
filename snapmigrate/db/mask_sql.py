"""The SQL of masking, composed with :mod:`psycopg.sql` (identifiers only through
``sql.Identifier``): what each strategy writes, the source's catalog facts the
rules are checked against, and the statements of a masking run -- the stash
of what the rows held, the batched UPDATE, and the proof's counts.

Every value derived from a row is keyed by a secret passed as a parameter
(``%(k)s`` for the fakes, ``%(p)s`` for the proof), never written into the
text, so no statement, log or error shows it. PostgreSQL 11+, no extension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

#: What the builders return: a statement or a fragment, ready for ``execute``.
Sql = sql.SQL | sql.Composed

#: Integer hashes are a keyed bijection onto the NEGATIVE numbers: masked keys can
#: never collide with an original (non-negative) key still waiting for its batch.
INT_BITS = {"int2": 15, "int4": 31, "int8": 63}
STASH_PREFIX = "_snapmigrate_"
FIRST_NAMES = (
    "Alex", "Sam", "Robin", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery",
    "Quinn", "Charlie", "Dana", "Eli", "Frankie", "Harper", "Jesse", "Kai", "Lee", "Noa",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Muller", "Rossi", "Silva", "Kowalski", "Novak", "Jensen", "Dubois",
    "Tanaka", "Kim", "Nguyen", "Okafor", "Haddad", "Larsen", "Ivanova", "Costa", "Moreau",
)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    """A statement and its named parameters."""

    text: sql.Composable
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A column a rule masks, with what the expressions need to know about it."""

    column: str
    strategy: str
    base_type: str
    type: str  # format_type(): a type name as the server prints it
    max_length: int | None = None
    value_param: str | None = None  # the parameter holding a constant
    expression: str | None = None  # a sql strategy's expression


def _text(value: sql.Composable) -> Sql:
    return sql.SQL("({})::text").format(value)


def _keyed_md5(label: str, value: sql.Composable) -> Sql:
    """md5 of the secret, a label and the value: a different stream per label."""
    return sql.SQL("md5(%(k)s || {} || {})").format(sql.Literal(label), _text(value))


def _fit(expr: Sql, target: Target) -> Sql:
    if target.max_length is not None:
        return sql.SQL("left({}, {})").format(expr, sql.Literal(target.max_length))
    return expr


def _type(target: Target) -> Sql:
    # format_type() output is a type name the server itself quotes as needed.
    return sql.SQL(target.type)


def _hash_int(value: sql.Composable, base_type: str) -> Sql:
    """A keyed bijection of x >= 0 onto the negative numbers: xor-shift, multiply by an
    odd key mod 2^bits, plus a key, twice (each step a bijection), then ``-(1 + y)``.
    Keyed and deterministic, so references still match; not a cipher."""
    bits = INT_BITS[base_type]

    def xorshift(x: sql.Composable, shift: int) -> Sql:
        return sql.SQL("({x} # ({x} >> {s}))").format(x=x, s=sql.Literal(shift))

    def affine(x: sql.Composable, a: str, b: str) -> Sql:
        return sql.SQL("(({}::numeric * %({})s + %({})s) %% {})::int8").format(
            x,
            sql.SQL(f"{a}{bits}"),
            sql.SQL(f"{b}{bits}"),
            sql.Literal(2**bits),
        )

    x = sql.SQL("({})::int8").format(value)
    mixed = affine(xorshift(affine(xorshift(x, bits // 2), "a", "b"), bits // 2 - 3), "c", "d")
    return sql.SQL("(-(1 + {}))::{}").format(mixed, sql.SQL(base_type))


def _phone(value: sql.Composable) -> Sql:
    """Each digit replaced by a keyed pseudo-random digit; everything else kept."""
    digits = sql.SQL("translate({} || {}, 'abcdef', '012345')").format(
        _keyed_md5("phone1", value), _keyed_md5("phone2", value)
    )
    return sql.SQL(
        "CASE WHEN {v} IS NULL THEN NULL ELSE coalesce((SELECT string_agg("
        "CASE WHEN p.ch BETWEEN '0' AND '9' THEN substr(d.digits, p.i::int, 1) ELSE p.ch END, "
        "'' ORDER BY p.i) FROM regexp_split_to_table({t}, '') WITH ORDINALITY AS p(ch, i), "
        "(SELECT {digits} AS digits) AS d), '') END"
    ).format(v=value, t=_text(value), digits=digits)


def _pick(names: Sequence[str], label: str, value: sql.Composable) -> Sql:
    array = sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(sql.Literal(n) for n in names))
    index = sql.SQL("(('x' || substr({}, 1, 8))::bit(32)::bigint %% {})").format(
        _keyed_md5(label, value), sql.Literal(len(names))
    )
    return sql.SQL("({})[1 + {}]").format(array, index)


def masked(target: Target, value: sql.Composable) -> Sql:
    """What ``target``'s strategy writes in place of ``value`` (NULL stays NULL)."""
    strategy, base = target.strategy, target.base_type
    if strategy == "null":
        return sql.SQL("NULL")
    if strategy == "constant":
        return sql.SQL("CAST(%({})s AS {})").format(
            sql.SQL(target.value_param or "v"),
            _type(target),
        )
    if strategy == "sql":
        return sql.SQL("CAST(({}) AS {})").format(
            sql.SQL(target.expression or "NULL"),  # the user's own SQL
            _type(target),
        )
    if strategy == "hash":
        if base in INT_BITS:
            return _hash_int(value, base)
        if base == "uuid":
            return sql.SQL("{}::uuid").format(_keyed_md5("hash", value))
        return _fit(_keyed_md5("hash", value), target)
    if strategy == "email":
        local = sql.SQL("left({}, 10)").format(_keyed_md5("email", value))
        return _fit(sql.SQL("'user_' || {} || '@example.com'").format(local), target)
    if strategy == "phone":
        return _phone(value)
    if strategy == "name":
        first = _pick(FIRST_NAMES, "first", value)
        last = _pick(LAST_NAMES, "last", value)
        name = sql.SQL("CASE WHEN {} IS NULL THEN NULL ELSE {} || ' ' || {} END").format(
            value, first, last
        )
        return _fit(name, target)
    raise ValueError(f"unknown strategy {strategy!r}")


# -- the source's catalog -------------------------------------------------------------

TABLE = sql.SQL(
    "SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relkind IN ('r', 'p')"
)
COLUMNS = sql.SQL(
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(b.typname, t.typname),"
    " a.attnotnull, CASE WHEN coalesce(b.typname, t.typname) IN ('varchar', 'bpchar')"
    "  AND coalesce(nullif(t.typtypmod, -1), a.atttypmod) > 4"
    "  THEN coalesce(nullif(t.typtypmod, -1), a.atttypmod) - 4 END,"
    " {generated}, a.attidentity = 'a'"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype"
    " WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)
PRIMARY_KEY = sql.SQL(
    "SELECT a.attname FROM pg_index i"
    " JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos) ON true"
    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
    " WHERE i.indrelid = %(oid)s AND i.indisprimary ORDER BY k.pos"
)
#: Foreign keys out of the table (``direction`` conrelid) or into it (confrelid):
#: (referencing table, its columns, referenced table, their columns), names unquoted.
FOREIGN_KEYS = sql.SQL(
    "SELECT fn.nspname || '.' || fc.relname,"
    " ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY AS k(n, pos)"
    "  JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.pos),"
    " tn.nspname || '.' || tc.relname,"
    " ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY AS k(n, pos)"
    "  JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.pos)"
    " FROM pg_constraint co"
    " JOIN pg_class fc ON fc.oid = co.conrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace"
    " JOIN pg_class tc ON tc.oid = co.confrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace"
    " WHERE co.contype = 'f' AND co.{direction} = %(oid)s ORDER BY co.conname"
)
DESCENDANTS = sql.SQL(
    "WITH RECURSIVE d(oid) AS (SELECT inhrelid FROM pg_inherits WHERE inhparent = %(oid)s"
    " UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.oid)"
    " SELECT n.nspname, c.relname FROM d JOIN pg_class c ON c.oid = d.oid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2"
)


def columns_query(version: int) -> Sql:
    generated = "a.attgenerated <> ''" if version >= 120000 else "false"
    return COLUMNS.format(generated=sql.SQL(generated))


def foreign_keys_query(outgoing: bool) -> Sql:
    return FOREIGN_KEYS.format(direction=sql.SQL("conrelid" if outgoing else "confrelid"))


def probe_value(schema: str, table: str, target: Target) -> Sql:
    """Evaluates a constant or an expression for no row: bad SQL or a bad cast fails."""
    return sql.SQL("SELECT {} FROM ONLY {} AS x LIMIT 0").format(
        masked(target, sql.Identifier("x", target.column)), sql.Identifier(schema, table)
    )


def lowest(schema: str, table: str, column: str) -> Sql:
    return sql.SQL("SELECT min({}) FROM ONLY {}").format(
        sql.Identifier(column), sql.Identifier(schema, table)
    )


# -- a masking run ------------------------------------------------------------------


def _col(name: str) -> sql.Identifier:
    return sql.Identifier(STASH_PREFIX + name)


def _row(alias: str, columns: Sequence[str]) -> Sql:
    return sql.SQL("row({})").format(sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns))


@dataclass(frozen=True)
class MaskedTable:
    """One table's rules, as the statements of a masking run need them."""

    schema: str
    name: str
    key: tuple[str, ...]
    targets: tuple[Target, ...]
    #: The columns no rule touches (the proof checks they are unchanged).
    rest: tuple[str, ...]
    stash: str

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def by_column(self) -> dict[str, Target]:
        return {t.column: t for t in self.targets}


def stash(t: MaskedTable) -> Sql:
    """A temporary table (this session's only) numbering the rows, with their key and the
    keyed digest of each masked value and of the rest of the row: what the proof compares."""
    parts: list[sql.Composable] = [sql.SQL("row_number() OVER () AS {}").format(_col("n"))]
    parts += [
        sql.SQL("{} AS {}").format(sql.Identifier("x", k), _col(f"k{i}"))
        for i, k in enumerate(t.key)
    ]
    parts += [
        sql.SQL("md5(%(p)s || ({})::text) AS {}").format(
            sql.Identifier("x", target.column), _col(f"h{i}")
        )
        for i, target in enumerate(t.targets)
    ]
    if t.rest:
        parts.append(
            sql.SQL("md5(%(p)s || ({})::text) AS {}").format(_row("x", t.rest), _col("rest"))
        )
    return sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM ONLY {} AS x").format(
        sql.Identifier(t.stash), sql.SQL(", ").join(parts), t.ident
    )


def stash_index(t: MaskedTable) -> Sql:
    return sql.SQL("CREATE INDEX ON {} ({})").format(sql.Identifier(t.stash), _col("n"))


def count(table: sql.Composable, only: bool = True) -> Sql:
    return sql.SQL("SELECT count(*) FROM {}{}").format(sql.SQL("ONLY " if only else ""), table)


def _key_match(t: MaskedTable, key_of: Mapping[str, sql.Composable]) -> Sql:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier("x", k), key_of[k]) for k in t.key
    )


def update_batch(t: MaskedTable) -> Sql:
    """Mask the rows numbered (%(lo)s, %(hi)s] in the stash, found by their key."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(
            sql.Identifier(target.column), masked(target, sql.Identifier("x", target.column))
        )
        for target in t.targets
    )
    stashed = {k: sql.Identifier("s", STASH_PREFIX + f"k{i}") for i, k in enumerate(t.key)}
    return sql.SQL(
        "UPDATE ONLY {} AS x SET {} FROM {} AS s WHERE s.{} > %(lo)s AND s.{} <= %(hi)s AND {}"
    ).format(t.ident, sets, sql.Identifier(t.stash), _col("n"), _col("n"), _key_match(t, stashed))


def proof(t: MaskedTable) -> Sql:
    """Per stashed row found at its key (masked as the rules mask it): how many keep a
    masked value, and how many had the rest of the row changed. Counts only."""
    masked_keys = t.by_column()
    key_of: dict[str, sql.Composable] = {}
    for i, k in enumerate(t.key):
        stashed = sql.Identifier("s", STASH_PREFIX + f"k{i}")
        key_of[k] = masked(masked_keys[k], stashed) if k in masked_keys else stashed
    counts: list[sql.Composable] = [sql.SQL("count(*)")]
    counts += [
        sql.SQL(
            "count(*) FILTER (WHERE s.{h} IS NOT NULL AND s.{h} = md5(%(p)s || ({v})::text))"
        ).format(h=_col(f"h{i}"), v=sql.Identifier("x", target.column))
        for i, target in enumerate(t.targets)
    ]
    if t.rest:
        counts.append(
            sql.SQL(
                "count(*) FILTER (WHERE s.{} IS DISTINCT FROM md5(%(p)s || ({})::text))"
            ).format(_col("rest"), _row("x", t.rest))
        )
    return sql.SQL("SELECT {} FROM {} AS s JOIN ONLY {} AS x ON {}").format(
        sql.SQL(", ").join(counts), sql.Identifier(t.stash), t.ident, _key_match(t, key_of)
    )


def vacuum(table: sql.Composable) -> Sql:
    """FULL: new files, so no old value is left in a dead tuple or a page's free space."""
    return sql.SQL("VACUUM (FULL, ANALYZE) {}").format(table)


def truncate(tables: Sequence[sql.Composable]) -> Sql:
    """Empty the tables and their partitions or children, in one statement (foreign keys)."""
    return sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(tables))
