"""Every SQL text verification sends, composed with :mod:`psycopg.sql` and chosen
by the LOWER of the two servers' versions, so both sides compute the same
expression. PostgreSQL 11+ only; nothing here needs an extension.

The algorithm modules (:mod:`.catalog`, :mod:`.compare`, :mod:`.stats`) hold no
SQL: they ask a :class:`Dialect` for a :class:`Query` and run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from snapmigrate.db.catalog_sql import PG12, CatalogQueries, Query

#: Hash functions of a type, where hashing the value is exact enough and
#: stable across versions (hash partitioning depends on that stability).
#: Everything else is hashed from its text form, which is exact.
#: Deliberately absent: numeric (hash ignores display scale: 1.0 = 1.00),
#: interval ('1 day' = '24:00:00'), arrays (hash ignores dimensions), date
#: (no SQL-callable hash), enums (hash by OID, which differs between
#: databases built separately).
TYPE_HASH: dict[str, str] = {
    "int2": "hashint2extended",
    "int4": "hashint4extended",
    "int8": "hashint8extended",
    "oid": "hashoidextended",
    "float4": "hashfloat4extended",
    "float8": "hashfloat8extended",
    "text": "hashtextextended",
    "varchar": "hashtextextended",
    "bpchar": "hashbpcharextended",
    "uuid": "uuid_hash_extended",
    "jsonb": "jsonb_hash_extended",
    "timestamp": "timestamp_hash_extended",
    "time": "time_hash_extended",
    "timetz": "timetz_hash_extended",
    "char": "hashcharextended",
    "bool": "hashint4extended",  # via ::int4
    "timestamptz": "timestamp_hash_extended",  # via ::timestamp at TimeZone UTC
}
COLLATABLE = {"text", "varchar", "bpchar"}
INTEGER_TYPES = {"int2", "int4", "int8"}
_MASK64 = (1 << 64) - 1


def _signed64(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def null_marker(seed: int) -> int:
    """The 64-bit stand-in hashed for NULL in column ``seed`` (distinct from any text, ''
    included)."""
    return _signed64((seed * 0x9E3779B97F4A7C15) ^ 0x5BD1E9955BD1E995)


@dataclass(frozen=True)
class HashColumn:
    """A column as both sides hash it: its name, the type to hash it as, and whether it may be
    NULL."""

    name: str
    base_type: str | None  # pg_catalog type name after domains; None = hash its text
    nullable: bool = True

    def expression(self, seed: int) -> sql.Composable:
        """A bigint hash of this column's value, ``seed`` making each column position distinct."""
        col = sql.Identifier(self.name)
        fn = TYPE_HASH.get(self.base_type or "")
        s = sql.Literal(seed)
        if fn is None:
            expr = sql.SQL('hashtextextended({}::text COLLATE "C", {})').format(col, s)
        elif self.base_type in COLLATABLE:
            expr = sql.SQL('{}({} COLLATE "C", {})').format(sql.Identifier(fn), col, s)
        elif self.base_type == "bool":
            expr = sql.SQL("hashint4extended({}::int4, {})").format(col, s)
        elif self.base_type == "timestamptz":
            expr = sql.SQL("timestamp_hash_extended({}::timestamp, {})").format(col, s)
        elif self.base_type == "int8":
            # hashint8 folds the high and low halves together (so int8 hashes
            # like int4): mix the value back in so 0 and 2^32+1 differ.
            expr = sql.SQL("(hashint8extended({}, {}) # {})").format(col, s, col)
        else:
            expr = sql.SQL("{}({}, {})").format(sql.Identifier(fn), col, s)
        if self.nullable:
            expr = sql.SQL("coalesce({}, {})").format(expr, sql.Literal(null_marker(seed)))
        return expr


def row_hash(columns: Sequence[HashColumn]) -> sql.Composable:
    """One bigint per row: the xor of its columns' hashes (seeded by position)."""
    if not columns:
        return sql.SQL("0::int8")
    return sql.SQL(" # ").join(c.expression(i) for i, c in enumerate(columns, 1))


@dataclass(frozen=True)
class Table:
    """A table as queries name it."""

    schema: str
    name: str

    @property
    def ident(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.name)


Bound = tuple[Any, ...]


@dataclass(frozen=True)
class KeyRange:
    """Rows whose key (a prefix of it, for bounds shorter than the key) is in [lo, hi)."""

    lo: Bound | None = None
    hi: Bound | None = None


def _key_expr(key: Sequence[str], width: int) -> sql.Composable:
    cols = [sql.Identifier(k) for k in key[:width]]
    return cols[0] if width == 1 else sql.SQL("ROW({})").format(sql.SQL(", ").join(cols))


def _bound_expr(width: int) -> sql.Composable:
    marks = [sql.Placeholder()] * width
    return marks[0] if width == 1 else sql.SQL("ROW({})").format(sql.SQL(", ").join(marks))


def range_predicate(key: Sequence[str], rng: KeyRange) -> tuple[sql.Composable, tuple[Any, ...]]:
    """``WHERE`` text and parameters selecting the rows of ``rng`` (row comparisons use the key's
    index)."""
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if rng.lo is not None:
        parts.append(
            sql.SQL("{} >= {}").format(_key_expr(key, len(rng.lo)), _bound_expr(len(rng.lo)))
        )
        params += rng.lo
    if rng.hi is not None:
        parts.append(
            sql.SQL("{} < {}").format(_key_expr(key, len(rng.hi)), _bound_expr(len(rng.hi)))
        )
        params += rng.hi
    if not parts:
        return sql.SQL("true"), ()
    return sql.SQL(" AND ").join(parts), tuple(params)


@dataclass(frozen=True)
class Dialect(CatalogQueries):
    """The SQL for one pair of servers: ``version`` is the lower ``server_version_num``.

    Sessions and data here; the catalog's queries come from :class:`CatalogQueries`."""

    version: int
    settings: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def for_versions(cls, source: int, target: int) -> Dialect:
        low = min(source, target)
        # Floats inside text forms (composites, geometry) print differently
        # from 12 on unless extra_float_digits <= 0, where every version uses
        # the old %.15g style: straddling 12, use that on both sides.
        float_digits = "0" if low < PG12 <= max(source, target) else "1"
        settings = (
            ("DateStyle", "ISO, YMD"),
            ("IntervalStyle", "postgres"),
            ("TimeZone", "UTC"),
            ("extra_float_digits", float_digits),
            ("bytea_output", "hex"),
            ("lc_monetary", "C"),
            ("search_path", "pg_catalog, pg_temp"),
            ("default_transaction_read_only", "on"),
            ("statement_timeout", "0"),
            ("lock_timeout", "60s"),
            ("idle_in_transaction_session_timeout", "0"),
        )
        return cls(version=low, settings=settings)

    # -- sessions -------------------------------------------------------------

    def session_setup(self) -> Query:
        """Pin every setting that changes a value's text form, and make the session read-only."""
        return Query(
            sql.SQL("; ").join(
                sql.SQL("SET {} = {}").format(sql.Identifier(k), sql.Literal(v))
                for k, v in self.settings
            )
        )

    @staticmethod
    def server_version() -> Query:
        return Query(sql.SQL("SELECT current_setting('server_version_num')::int"))

    @staticmethod
    def begin_snapshot() -> Query:
        return Query(sql.SQL("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))

    @staticmethod
    def export_snapshot() -> Query:
        return Query(sql.SQL("SELECT pg_export_snapshot()"))

    @staticmethod
    def set_snapshot(snapshot_id: str) -> Query:
        return Query(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))

    @staticmethod
    def rollback() -> Query:
        return Query(sql.SQL("ROLLBACK"))

    @staticmethod
    def savepoint() -> Query:
        return Query(sql.SQL("SAVEPOINT snapmigrate_table"))

    @staticmethod
    def release_savepoint() -> Query:
        return Query(sql.SQL("RELEASE SAVEPOINT snapmigrate_table"))

    @staticmethod
    def rollback_to_savepoint() -> Query:
        return Query(sql.SQL("ROLLBACK TO SAVEPOINT snapmigrate_table"))

    @staticmethod
    def set_enable_sort(on: bool) -> Query:
        return Query(sql.SQL("SET enable_sort = {}").format(sql.Literal("on" if on else "off")))

    # -- data ---------------------------------------------------------------------

    @staticmethod
    def count(table: Table) -> Query:
        return Query(sql.SQL("SELECT count(*) FROM ONLY {}").format(table.ident))

    @staticmethod
    def checksum(
        table: Table,
        columns: Sequence[HashColumn],
        key: Sequence[str] = (),
        rng: KeyRange | None = None,
    ) -> Query:
        """Rows and the sum of row hashes (order-free, exact: ``sum(bigint)`` is numeric)."""
        where, params = range_predicate(key, rng or KeyRange())
        return Query(
            sql.SQL("SELECT count(*), sum({}) FROM ONLY {} WHERE {}").format(
                row_hash(columns), table.ident, where
            ),
            params,
        )

    @staticmethod
    def key_bounds(table: Table, column: str) -> Query:
        """Lowest and highest key (two index probes)."""
        col = sql.Identifier(column)
        return Query(sql.SQL("SELECT min({}), max({}) FROM ONLY {}").format(col, col, table.ident))

    @staticmethod
    def buckets(
        table: Table,
        columns: Sequence[HashColumn],
        column: str,
        lo: int,
        width: int,
        hi: int,
        *,
        whole_table: bool = False,
    ) -> Query:
        """Rows and row-hash sums per integer key bucket ``(k - lo) / width`` over
        ``lo <= k <= hi``, in one scan.

        ``whole_table``: lo and hi are the key's min and max, so no filter is needed."""
        col = sql.Identifier(column)
        if hi - lo < (1 << 31) - 1:  # k - lo fits the key's own type: no cast
            bucket = sql.SQL("({} - {}) / {}").format(col, sql.Literal(lo), sql.Literal(width))
        elif hi - lo < (1 << 62):
            bucket = sql.SQL("({}::int8 - {}) / {}").format(
                col, sql.Literal(lo), sql.Literal(width)
            )
        else:
            bucket = sql.SQL("div({}::numeric - {}, {})::int8").format(
                col, sql.Literal(lo), sql.Literal(width)
            )
        where = (
            sql.SQL("true")
            if whole_table
            else sql.SQL("{} BETWEEN {} AND {}").format(col, sql.Literal(lo), sql.Literal(hi))
        )
        return Query(
            sql.SQL("SELECT {} AS b, count(*), sum({}) FROM ONLY {} WHERE {} GROUP BY 1").format(
                bucket, row_hash(columns), table.ident, where
            )
        )

    @staticmethod
    def segments(
        table: Table, columns: Sequence[HashColumn], key: Sequence[str], ranges: Sequence[KeyRange]
    ) -> Query:
        """Rows and row-hash sums for each range, in one round trip."""
        parts: list[sql.Composable] = []
        params: list[Any] = []
        rh = row_hash(columns)
        for i, rng in enumerate(ranges):
            where, p = range_predicate(key, rng)
            parts.append(
                sql.SQL("SELECT {}::int AS i, count(*), sum({}) FROM ONLY {} WHERE {}").format(
                    sql.Literal(i), rh, table.ident, where
                )
            )
            params += p
        return Query(sql.SQL(" UNION ALL ").join(parts), tuple(params))

    @staticmethod
    def quantiles(table: Table, key: Sequence[str], rng: KeyRange, step: int, limit: int) -> Query:
        """Every ``step``-th key of the range in key order, computed server-side (no OFFSET
        paging)."""
        where, params = range_predicate(key, rng)
        cols = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        return Query(
            sql.SQL(
                "SELECT {cols} FROM (SELECT {cols}, row_number() OVER (ORDER BY {cols}) AS rn"
                " FROM ONLY {t} WHERE {where}) s WHERE mod(rn, {step}) = 0 ORDER BY {cols} LIMIT "
                "{limit}"
            ).format(
                cols=cols,
                t=table.ident,
                where=where,
                step=sql.Literal(step),
                limit=sql.Literal(limit),
            ),
            params,
        )

    @staticmethod
    def row_hashes(
        table: Table, columns: Sequence[HashColumn], key: Sequence[str], rng: KeyRange
    ) -> Query:
        """Each row's key and hash in a range (the leaves of the bisection)."""
        where, params = range_predicate(key, rng)
        cols = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        return Query(
            sql.SQL("SELECT {}, {} FROM ONLY {} WHERE {}").format(
                cols, row_hash(columns), table.ident, where
            ),
            params,
        )

    @staticmethod
    def first_keys(table: Table, key: Sequence[str], rng: KeyRange, limit: int) -> Query:
        """The lowest keys of a range (rows only one side has)."""
        where, params = range_predicate(key, rng)
        cols = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        return Query(
            sql.SQL("SELECT {} FROM ONLY {} WHERE {} ORDER BY {} LIMIT {}").format(
                cols, table.ident, where, cols, sql.Literal(limit)
            ),
            params,
        )

    @staticmethod
    def rows(
        table: Table,
        columns: Sequence[HashColumn],
        key: Sequence[str],
        keys: Sequence[Bound],
        preview: int,
    ) -> Query:
        """Per column: its hash and the start of its text, for the rows with these keys."""
        key_cols = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        per_col: list[sql.Composable] = []
        for i, c in enumerate(columns, 1):
            per_col.append(c.expression(i))
            per_col.append(
                sql.SQL("left({}::text, {})").format(sql.Identifier(c.name), sql.Literal(preview))
            )
        tuple_marks = sql.SQL(", ").join(_bound_expr(len(key)) for _ in keys)
        params = tuple(v for k in keys for v in k)
        return Query(
            sql.SQL("SELECT {}, {} FROM ONLY {} WHERE {} IN ({})").format(
                key_cols,
                sql.SQL(", ").join(per_col) if per_col else sql.SQL("NULL"),
                table.ident,
                _key_expr(key, len(key)),
                tuple_marks,
            ),
            params,
        )
