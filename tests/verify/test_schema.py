"""Schema inventory differences, each planted on the target and named by object."""

from __future__ import annotations

import pytest

from tests.verify.conftest import DbPair

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def differences(db: DbPair, **options):
    result = db.verify(**options)
    assert not result.equal and result.exit_code == 3
    return result, [(d.kind, d.object, d.difference) for d in result.schema_differences]


def test_missing_table(db: DbPair):
    db.on_target("DROP TABLE app.empty")
    result, diffs = differences(db)
    assert diffs == [("table", "app.empty", "missing_on_target")]
    t = next(t for t in result.tables if t.name == "empty")
    assert (t.source_rows, t.target_rows, t.equal) == (0, None, False)


def test_extra_column_keeps_comparing_the_shared_columns(db: DbPair):
    db.on_target("ALTER TABLE app.accounts ADD COLUMN x int")
    result, diffs = differences(db)
    assert diffs == [("column", "app.accounts.x", "extra_on_target")]
    assert all(t.equal for t in result.tables)


def test_changed_column_type_compares_values_by_text(db: DbPair):
    db.on_target("ALTER TABLE app.composite ALTER COLUMN qty TYPE bigint")
    result, diffs = differences(db)
    assert diffs == [("column", "app.composite.qty", "changed")]
    d = result.schema_differences[0]
    assert (d.source, d.target) == ("type integer", "type bigint")
    assert all(t.equal for t in result.tables)
    # and a value change in that column is still found
    db.on_target("UPDATE app.composite SET qty = 0 WHERE tenant = 1 AND code = 'c-00001'")
    result, _ = differences(db)
    (t,) = result.differing_tables
    assert t.name == "composite" and t.samples[0].columns == ("qty",)


def test_missing_index(db: DbPair):
    db.on_target("DROP INDEX app.accounts_name_idx")
    _, diffs = differences(db)
    assert diffs == [("index", "app.accounts_name_idx", "missing_on_target")]


def test_sequence_behind_but_not_ahead(db: DbPair):
    db.on_target("SELECT setval('app.counter', 600)")
    assert db.verify().equal  # a copy may be ahead: sequences pre-log values
    db.on_target("SELECT setval('app.counter', 100)")
    result, diffs = differences(db)
    assert diffs == [("sequence", "app.counter", "behind")]
    assert "100 < last value 500" in result.schema_differences[0].message


def test_missing_extension(db: DbPair):
    db.on_target("DROP EXTENSION hstore CASCADE")  # takes the hstore column with it
    _, diffs = differences(db)
    assert ("extension", "hstore", "missing_on_target") in diffs
    assert ("column", "app.accounts.flags", "missing_on_target") in diffs


def test_view_function_and_constraint_changes(db: DbPair):
    db.on_target(
        "CREATE OR REPLACE VIEW app.active_accounts AS SELECT id, name FROM app.accounts WHERE NOT "
        "active;"
        "CREATE OR REPLACE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql AS 'select a - "
        "b';"
        "ALTER TABLE app.parent ADD CONSTRAINT v_not_empty CHECK (v <> '')"
    )
    _, diffs = differences(db)
    # View text changes between majors: the tool compares it between servers of one major.
    same_major = db.source.major == db.target.major
    assert (("view", "app.active_accounts", "changed") in diffs) == same_major
    assert ("function", "app.add(a integer, b integer)", "changed") in diffs
    assert ("constraint", "v_not_empty on app.parent", "extra_on_target") in diffs


def test_unicode_schema_missing(db: DbPair):
    db.on_target('DROP SCHEMA "Ünïcode Schema" CASCADE')
    _, diffs = differences(db)
    assert ("schema", '"Ünïcode Schema"', "missing_on_target") in diffs
    assert ("table", '"Ünïcode Schema"."Mixed Case ""Quoted"" Täble"', "missing_on_target") in diffs


@pytest.mark.parametrize("mode", ["counts", "checksum"])
def test_schema_filter_limits_the_inventory(db: DbPair, mode: str):
    db.on_target('DROP SCHEMA "Ünïcode Schema" CASCADE')
    assert db.verify(mode=mode, schemas=("app",)).equal
