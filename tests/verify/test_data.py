"""Row data on real servers: identical copies, each planted difference found and named."""

from __future__ import annotations

import pytest

from snapmigrate.db.verify import VerifyResult
from tests.verify.conftest import DbPair

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server

UNICODE_SCHEMA = "Ünïcode Schema"
UNICODE_TABLE = 'Mixed Case "Quoted" Täble'


def table(result: VerifyResult, schema: str, name: str):
    return next(t for t in result.tables if (t.schema, t.name) == (schema, name))


def only_difference(result: VerifyResult, schema: str, name: str):
    """The one differing table, checked to be the only one."""
    assert not result.equal and result.exit_code == 3
    assert [(t.schema, t.name) for t in result.differing_tables] == [(schema, name)]
    assert result.schema_differences == ()
    return table(result, schema, name)


def test_identical_databases_are_equal_in_both_modes(db: DbPair):
    for mode in ("counts", "checksum"):
        result = db.verify(mode=mode)
        assert result.equal and result.exit_code == 0, result.to_dict()
        names = {(t.schema, t.name) for t in result.tables}
        assert {
            ("app", "accounts"),
            ("app", "events_2023"),
            ("app", "events_2024"),
            ("app", "parent"),
            ("app", "child"),
            (UNICODE_SCHEMA, UNICODE_TABLE),
            ("app", "empty"),
            ("app", "nokey"),
        } <= names
        # partitioned parents hold no rows of their own: their partitions are compared
        assert ("app", "events") not in names
        assert table(result, "app", "accounts").source_rows == 25000
        assert table(result, "app", "empty").source_rows == 0
        # ONLY semantics: the inheritance parent does not count its child's rows
        assert table(result, "app", "parent").source_rows == 100
        assert table(result, "app", "child").source_rows == 50
    data = result.to_dict()
    assert data["equal"] is True and data["schema_differences"] == [] and data["elapsed_s"] > 0
    assert table(result, "app", "accounts").method == "checksum (bucketed)"
    assert table(result, "app", "textkey").method == "checksum"
    assert all(d.snapshot == "shared" for d in result.databases)


def test_missing_row(db: DbPair):
    db.on_target("DELETE FROM app.accounts WHERE id = 12345")
    t = only_difference(db.verify(), "app", "accounts")
    assert (t.source_rows, t.target_rows, t.differing_rows) == (25000, 24999, 1)
    (row,) = t.samples
    assert row.kind == "missing_on_target" and row.key == (("id", 12345),)
    assert dict(row.source or ())["name"] == "name 12345" and row.target is None


def test_extra_row_in_a_text_keyed_table(db: DbPair):
    db.on_target("INSERT INTO app.textkey VALUES ('zz-extra', -1)")
    t = only_difference(db.verify(), "app", "textkey")
    assert t.method == "checksum + bisection"  # 12,000 rows: split at server-side quantiles
    (row,) = t.samples
    assert (row.kind, row.key) == ("extra_on_target", (("code", "zz-extra"),))


def test_changed_value_in_a_composite_key(db: DbPair):
    db.on_target("UPDATE app.composite SET qty = qty + 1 WHERE tenant = 2 AND code = 'c-00042'")
    t = only_difference(db.verify(), "app", "composite")
    (row,) = t.samples
    assert row.kind == "changed" and row.key == (("tenant", 2), ("code", "c-00042"))
    assert row.columns == ("qty",)
    assert dict(row.source or ()) == {"qty": "84"} and dict(row.target or ()) == {"qty": "85"}


def test_null_versus_empty_string(db: DbPair):
    db.on_target("UPDATE app.accounts SET note = '' WHERE id = 20")  # was NULL
    t = only_difference(db.verify(), "app", "accounts")
    (row,) = t.samples
    assert (
        row.columns == ("note",)
        and dict(row.source or ())["note"] is None
        and dict(row.target or ())["note"] == ""
    )


def test_changed_value_in_a_large_toasted_column(db: DbPair):
    size = db.on_source("SELECT length(body), pg_column_size(body) FROM app.docs WHERE id = 3")[0]
    assert size[0] > 100_000 and size[1] > 2000  # stored out of line
    db.on_target(
        "UPDATE app.docs SET body = overlay(body placing 'X' from 64000 for 1) WHERE id = 3"
    )
    t = only_difference(db.verify(), "app", "docs")
    (row,) = t.samples
    assert row.key == (("id", 3),) and row.columns == ("body",)
    assert len(dict(row.source or ())["body"] or "") <= 80  # previews, not megabytes


def test_unicode_quoted_names_in_a_non_public_schema(db: DbPair):
    db.on_target(
        'UPDATE "Ünïcode Schema"."Mixed Case ""Quoted"" Täble" SET "Värde" = \'ändrad\' WHERE '
        "\"Värde\" = 'värde 7'"
    )
    t = only_difference(db.verify(), UNICODE_SCHEMA, UNICODE_TABLE)
    (row,) = t.samples
    assert (
        row.columns == ("Värde",)
        and str(row.key[0][1]) == db.on_source("SELECT md5('u7')::uuid::text")[0][0]
    )


def test_partition_difference_is_named_by_partition(db: DbPair):
    db.on_target("DELETE FROM app.events WHERE id = 1000")
    where = db.on_source("SELECT tableoid::regclass::text FROM app.events WHERE id = 1000")[0][0]
    t = only_difference(db.verify(), "app", where.split(".")[1])
    assert t.samples[0].kind == "missing_on_target"


def test_inheritance_child_difference_leaves_the_parent_equal(db: DbPair):
    db.on_target("INSERT INTO app.child VALUES (151, 'c151', 151)")
    result = db.verify()
    t = only_difference(result, "app", "child")
    assert t.target_rows == 51 and table(result, "app", "parent").equal


def test_table_without_a_key_gets_a_whole_table_checksum(db: DbPair):
    db.on_target(
        "UPDATE app.nokey SET b = 'changed' WHERE ctid = (SELECT min(ctid) FROM app.nokey)"
    )
    t = only_difference(db.verify(), "app", "nokey")
    assert t.key is None and t.method == "whole-table checksum"
    assert t.rows_equal and t.checksum_equal is False and "no primary key" in (t.note or "")


def test_emptied_table_counts_every_row_without_fetching_them(db: DbPair):
    db.on_target("DELETE FROM app.composite")
    t = only_difference(db.verify(max_differing_rows=3), "app", "composite")
    assert t.differing_rows == 6000 and len(t.samples) == 3
    assert all(s.kind == "missing_on_target" for s in t.samples)


def test_many_differences_stop_at_the_limit(db: DbPair):
    db.on_target("UPDATE app.accounts SET score = score + 1 WHERE id % 100 = 0")
    t = only_difference(db.verify(max_differing_rows=5), "app", "accounts")
    assert len(t.samples) == 5 and t.differing_rows >= 5 and not t.differing_rows_exact
    assert [s.key for s in t.samples] == [(("id", i),) for i in (100, 200, 300, 400, 500)]
    assert all(s.columns == ("score",) for s in t.samples)


def test_ten_differences_in_a_bucketed_table_are_all_located(db: DbPair):
    ids = [3, 2999, 5001, 7777, 10000, 12001, 15000, 19999, 24000, 25000]
    db.on_target("UPDATE app.accounts SET balance = balance + 0.01 WHERE id = ANY(%s)", (ids,))
    t = only_difference(db.verify(), "app", "accounts")
    assert t.method == "checksum (bucketed) + bisection" and t.differing_rows_exact
    assert sorted(s.key[0][1] for s in t.samples) == ids
    assert {s.columns for s in t.samples} == {("balance",)}


def test_counts_mode_sees_only_counts(db: DbPair):
    db.on_target("UPDATE app.accounts SET name = 'x' WHERE id = 1")
    assert db.verify(mode="counts").equal
    db.on_target("DELETE FROM app.accounts WHERE id = 2")
    t = only_difference(db.verify(mode="counts"), "app", "accounts")
    assert t.checksum_equal is None and t.differing_rows == 1


def test_same_rows_in_another_physical_order_are_equal(empty_db: DbPair):
    ddl = "CREATE TABLE t (id int PRIMARY KEY, v text, f float8); CREATE TABLE nk (v text)"
    empty_db.on_source(ddl)
    empty_db.on_target(ddl)
    empty_db.on_source(
        "INSERT INTO t SELECT i, 'v' || i, i / 7.0 FROM generate_series(1, 30000) i ORDER BY i;"
        "INSERT INTO nk SELECT 'x' || (i % 10) FROM generate_series(1, 100) i ORDER BY i"
    )
    empty_db.on_target(
        "INSERT INTO t SELECT i, 'v' || i, i / 7.0 FROM generate_series(1, 30000) i ORDER BY i "
        "DESC;"
        "INSERT INTO nk SELECT 'x' || (i % 10) FROM generate_series(1, 100) i ORDER BY i DESC"
    )
    assert empty_db.on_source("SELECT id FROM t LIMIT 1") != empty_db.on_target(
        "SELECT id FROM t LIMIT 1"
    )
    result = empty_db.verify()
    assert result.equal, result.to_dict()


def test_jobs_and_filters(db: DbPair):
    db.on_target("DELETE FROM app.nokey")
    result = db.verify(jobs=4, schemas=("app",), exclude=("nokey", "app.text*"))
    names = {(t.schema, t.name) for t in result.tables}
    assert ("app", "nokey") not in names and ("app", "textkey") not in names
    assert all(s == "app" for s, _ in names) and result.equal
    only = db.verify(tables=("app.parent", '"Ünïcode Schema"."Mixed Case ""Quoted"" Täble"'))
    assert {(t.schema, t.name) for t in only.tables} == {
        ("app", "parent"),
        (UNICODE_SCHEMA, UNICODE_TABLE),
    }


def test_a_table_that_cannot_be_read_is_an_error_not_a_silent_pass(db: DbPair):
    db.on_source(
        "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT USAGE ON SCHEMA app TO reader;"
        "GRANT SELECT ON app.parent TO reader"
    )
    db.on_target("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'") if not db.on_target(
        "SELECT 1 FROM pg_roles WHERE rolname = 'reader'"
    ) else None
    db.on_target(
        "GRANT USAGE ON SCHEMA app TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA app TO reader"
    )
    from snapmigrate.db.connect import resolve
    from snapmigrate.db.verify import VerifyOptions, verify

    src = resolve(f"postgresql://reader:reader-pw@127.0.0.1:{db.source.port}/{db.name}", "source")
    tgt = resolve(f"postgresql://reader:reader-pw@127.0.0.1:{db.target.port}/{db.name}", "target")
    result = verify(src, tgt, VerifyOptions(schemas=("app",)))
    assert table(result, "app", "parent").equal
    accounts = table(result, "app", "accounts")
    assert accounts.error and "source: permission denied" in accounts.error
    assert not result.equal and result.exit_code == 1


@pytest.mark.parametrize("mode", ["counts", "checksum"])
def test_a_database_missing_on_the_target_is_a_difference(db: DbPair, mode: str):
    from snapmigrate.db.connect import resolve
    from snapmigrate.db.verify import VerifyOptions, verify

    src = resolve(
        f"postgresql://postgres:{db.source.password}@127.0.0.1:{db.source.port}", "source"
    )
    tgt = resolve(
        f"postgresql://postgres:{db.target.password}@127.0.0.1:{db.target.port}", "target"
    )
    db.on_target("SELECT 1")
    from tests.verify.conftest import execute

    execute(db.source, "postgres", f'CREATE DATABASE "{db.name}_only"')
    try:
        result = verify(src, tgt, VerifyOptions(mode=mode, databases=(db.name, f"{db.name}_only")))
    finally:
        execute(db.source, "postgres", f'DROP DATABASE "{db.name}_only"')
    assert result.exit_code == 3
    (diff,) = result.schema_differences
    assert (diff.kind, diff.object, diff.difference) == (
        "database",
        f"{db.name}_only",
        "missing_on_target",
    )
    assert all(t.equal for t in result.tables) and {t.database for t in result.tables} == {db.name}


def test_an_emptied_unlogged_table_says_why(empty_db: DbPair):
    ddl = "CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v text)"
    empty_db.on_source(ddl + "; INSERT INTO u SELECT i, 'v' FROM generate_series(1, 10) i")
    empty_db.on_target(ddl)  # what a restore leaves of an unlogged table
    t = only_difference(empty_db.verify(), "public", "u")
    assert (t.source_rows, t.target_rows, t.differing_rows) == (10, 0, 10)
    assert "unlogged" in (t.note or "")
