"""Pure pieces: dialect choices, hash expressions, counters arithmetic, options."""

from __future__ import annotations

import pytest

from snapmigrate.db.dialect import Dialect, HashColumn, null_marker
from snapmigrate.db.stats import (
    Baseline,
    Counts,
    TableKey,
    WriteCounters,
    changed_since,
    reset_since,
)
from snapmigrate.db.verify import TableRef, VerifyOptions
from snapmigrate.errors import BadInput


def test_dialect_takes_the_lower_version_and_pins_float_text_across_12():
    assert Dialect.for_versions(160004, 110021).version == 110021
    assert dict(Dialect.for_versions(110021, 160004).settings)["extra_float_digits"] == "0"
    assert dict(Dialect.for_versions(130012, 160004).settings)["extra_float_digits"] == "1"
    settings = dict(Dialect.for_versions(130012, 170000).settings)
    assert settings["default_transaction_read_only"] == "on" and settings["TimeZone"] == "UTC"


def test_hash_expressions(tmp_path):
    from psycopg import sql

    def text(col: HashColumn, seed: int = 1) -> str:
        return col.expression(seed).as_string(None)  # type: ignore[arg-type]

    assert 'COLLATE "C"' in text(HashColumn("t", "text"))
    assert "hashint4extended" in text(
        HashColumn("n", "int4", nullable=False)
    ) and "coalesce" not in text(HashColumn("n", "int4", nullable=False))
    assert "::text" in text(HashColumn("n", "numeric"))  # exact: 1.0 and 1.00 differ
    assert "::text" in text(HashColumn("x", None))
    assert "# " in text(HashColumn("big", "int8"))  # the value is mixed back in
    assert null_marker(1) != null_marker(2)
    assert isinstance(HashColumn("a b", "int4").expression(1), sql.Composable)


def counters(
    db: str = "d", reset: str | None = None, **tables: tuple[int, int, int]
) -> WriteCounters:
    return WriteCounters(
        "t", "s", {TableKey(db, "public", k): Counts(*v) for k, v in tables.items()}, {db: reset}
    )


def test_changed_since_and_resets():
    before = counters(a=(1, 0, 0), b=(5, 5, 5), c=(0, 0, 0))
    after = counters(a=(1, 0, 0), b=(5, 6, 5), c=(0, 0, 0), new=(1, 0, 0))
    assert changed_since(before, after) == [
        TableKey("d", "public", "b"),
        TableKey("d", "public", "new"),
    ]
    went_down = counters(a=(0, 0, 0), b=(5, 6, 5), c=(0, 0, 0), reset="later")
    assert reset_since(after, went_down) == [TableKey("d", "public", "a")]
    changed, reset = Baseline(after=after, before=before).drifted(went_down)
    assert TableKey("d", "public", "a") in reset and TableKey("d", "public", "a") not in changed
    assert TableKey("d", "public", "b") in changed  # moved between before and after
    # a statistics entry made after the first capture (no stats_reset, then one) is no reset:
    # a write in between is drift, as it would be in any other database
    fresh = counters(a=(0, 0, 0))
    written = counters(a=(0, 1, 0), reset="2026-11-27T13:33:21+00:00")
    assert reset_since(fresh, written) == []
    assert Baseline(after=fresh).drifted(written) == ([TableKey("d", "public", "a")], [])
    # from none to a time with the counters down is still a reset
    assert reset_since(counters(a=(3, 0, 0)), counters(a=(0, 0, 0), reset="t")) == [
        TableKey("d", "public", "a")
    ]


def test_baseline_shapes():
    one = counters(a=(1, 2, 3))
    assert Baseline.from_dict(one.to_dict()) == Baseline(after=one)
    both = Baseline(after=one, before=counters(a=(1, 1, 1)))
    assert Baseline.from_dict(both.to_dict()) == both
    with pytest.raises(BadInput, match="expected shape"):
        Baseline.from_dict({"after": {"tables": [{"database": "x"}]}})


def test_table_refs_and_options():
    assert TableRef.parse("app.t") == TableRef("app", "t")
    assert TableRef.parse("t") == TableRef("public", "t")
    assert TableRef.parse('"My Schema"."a.b ""c"""') == TableRef("My Schema", 'a.b "c"')
    with pytest.raises(BadInput):
        TableRef.parse("a.b.c")
    with pytest.raises(BadInput, match="--mode"):
        VerifyOptions(mode="fast")
    with pytest.raises(BadInput, match="--jobs"):
        VerifyOptions(jobs=0)
    opts = VerifyOptions(
        baseline=counters(a=(1, 1, 1)), tables=("app.t",), exclude=("tmp_*", "audit.*")
    )
    assert isinstance(opts.baseline, Baseline) and opts.tables == (TableRef("app", "t"),)
    assert (
        not opts.keeps("d", "app", "tmp_x")
        and not opts.keeps("d", "audit", "t")
        and opts.keeps("d", "app", "t")
    )
    assert not opts.keeps("d", "app", "other")
