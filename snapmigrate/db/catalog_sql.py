"""The catalog's SQL: the schema inventory (schemas, relations, columns,
constraints, indexes, sequences, extensions, functions), the databases, and
the write counters -- composed with :mod:`psycopg.sql`, for PostgreSQL 11+.
:class:`~snapmigrate.db.dialect.Dialect` inherits these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

PG12 = 120000


@dataclass(frozen=True)
class Query:
    """A statement and its parameters."""

    text: sql.SQL | sql.Composed
    params: tuple[Any, ...] = ()


class CatalogQueries:
    """The queries that read what a database holds (not its rows)."""

    #: The lower ``server_version_num`` of the two servers compared.
    version: int

    @staticmethod
    def list_databases() -> Query:
        return Query(
            sql.SQL(
                "SELECT datname FROM pg_database"
                " WHERE datallowconn AND NOT datistemplate AND datname <> 'rdsadmin' ORDER BY 1"
            )
        )

    @staticmethod
    def schemas() -> Query:
        return Query(sql.SQL(_USER_NSP_CTE + "SELECT nspname FROM nsp ORDER BY 1"))

    @staticmethod
    def relations() -> Query:
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT nsp.nspname, c.relname, c.relkind::text, c.relpersistence::text, c.relispartition,
       c.reltuples::float8,
       pg_get_expr(c.relpartbound, c.oid),
       ARRAY(SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
               FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
               JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              WHERE i.inhrelid = c.oid ORDER BY 1),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
       c.relispopulated
  FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
 ORDER BY 1, 2"""
            )
        )

    def columns(self) -> Query:
        generated = "a.attgenerated::text" if self.version >= PG12 else "''"
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT nsp.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, """
                + generated
                + """,
       CASE WHEN bn.nspname = 'pg_catalog' AND bt.typelem = 0 THEN bt.typname::text END
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN nsp ON nsp.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  JOIN pg_namespace bn ON bn.oid = bt.typnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
 ORDER BY 1, 2, 3"""
            )
        )

    @staticmethod
    def constraints() -> Query:
        # 'n' (NOT NULL, catalogued from 18) is compared through the columns.
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT nsp.nspname, c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid, true)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
  JOIN nsp ON nsp.oid = c.relnamespace
 WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
 ORDER BY 1, 2, 3"""
            )
        )

    @staticmethod
    def indexes() -> Query:
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT nsp.nspname, c.relname, ic.relname, pg_get_indexdef(i.indexrelid),
       i.indisprimary, i.indisunique, i.indisvalid,
       i.indpred IS NOT NULL OR i.indexprs IS NOT NULL,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              ORDER BY k.ord),
       coalesce((SELECT bool_and(a.attnotnull) FROM unnest(i.indkey::int2[]) k(attnum)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), false)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN nsp ON nsp.oid = c.relnamespace
 ORDER BY 1, 2, 3"""
            )
        )

    @staticmethod
    def sequences() -> Query:
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT s.schemaname::text, s.sequencename::text, s.data_type::text, s.increment_by, s.last_value,
       (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.relname)
          FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = t.relnamespace
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)
  FROM pg_sequences s
  JOIN nsp ON nsp.nspname = s.schemaname
  JOIN pg_class c ON c.relnamespace = nsp.oid AND c.relname = s.sequencename
 ORDER BY 1, 2"""
            )
        )

    @staticmethod
    def extensions() -> Query:
        return Query(sql.SQL("SELECT extname::text, extversion FROM pg_extension ORDER BY 1"))

    @staticmethod
    def functions() -> Query:
        return Query(
            sql.SQL(
                _USER_NSP_CTE
                + """
SELECT nsp.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
       pg_get_function_result(p.oid), l.lanname::text, p.prokind::text,
       hashtextextended(coalesce(p.prosrc, ''), 0)
  FROM pg_proc p JOIN nsp ON nsp.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 ORDER BY 1, 2, 3"""
            )
        )

    # -- write counters -----------------------------------------------------------

    @staticmethod
    def write_counters() -> Query:
        return Query(
            sql.SQL(
                "SELECT schemaname::text, relname::text, n_tup_ins, n_tup_upd, n_tup_del,"
                " (SELECT stats_reset::text FROM pg_stat_database WHERE datname = "
                "current_database()),"
                " now()::text"
                " FROM pg_stat_user_tables ORDER BY 1, 2"
            )
        )

    @staticmethod
    def sequence_values() -> Query:
        return Query(
            sql.SQL(
                "SELECT schemaname::text, sequencename::text, last_value FROM pg_sequences"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
            )
        )


_USER_NSP_CTE = """WITH nsp AS (
  SELECT oid, nspname::text AS nspname FROM pg_namespace
   WHERE nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast')
     AND nspname !~ '^pg_(toast_)?temp_')
"""
