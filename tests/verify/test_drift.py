"""Snapshot awareness: write counters, their lag, and differences labelled as drift."""

from __future__ import annotations

import psycopg
import pytest

from snapmigrate.db.stats import Baseline, TableKey, WriteCounters, write_counters
from tests.verify.conftest import DbPair, flush_counters
from tests.waits import wait_until

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def accounts_counter(db: DbPair) -> int:
    return db.on_source("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'accounts'")[0][
        0
    ]


def test_a_forced_flush_or_a_closed_session_publishes_at_once(db: DbPair):
    if db.source.major < 15:
        pytest.skip("pg_stat_force_next_flush() is PostgreSQL 15's")
    start_value = accounts_counter(db)
    with psycopg.connect(db.source.dsn(db.name), autocommit=True) as writer:
        writer.execute(
            "UPDATE app.accounts SET name = name WHERE id <= 2; SELECT pg_stat_force_next_flush()"
        )
        assert accounts_counter(db) == start_value + 2
    db.on_source("UPDATE app.accounts SET name = name WHERE id = 1")  # the session ends
    wait_until(
        "the closed session's counters",
        lambda: accounts_counter(db) == start_value + 3,
        timeout_s=1,
    )


def test_write_counters_round_trip_and_see_changes(db: DbPair):
    src, _ = db.endpoints()
    before = write_counters(src, databases=[db.name])
    assert TableKey(db.name, "app", "accounts") in before.tables
    assert WriteCounters.from_dict(before.to_dict()) == before
    db.on_source("DELETE FROM app.nokey WHERE a = 1" + flush_counters(db.source))
    from snapmigrate.db.stats import changed_since

    changed = wait_until(
        "the delete's counters",  # up to 14 the statistics collector lags about 0.5 s
        lambda: changed_since(before, write_counters(src, databases=[db.name])),
        timeout_s=5,
    )
    assert changed == [TableKey(db.name, "app", "nokey")]


def test_differences_in_tables_written_after_the_snapshot_are_drift(db: DbPair):
    src, _ = db.endpoints()
    before = write_counters(src, databases=[db.name])
    after = write_counters(src, databases=[db.name])  # the snapshot is requested between the two
    # the source moves on after the snapshot ...
    updated = accounts_counter(db) + 1
    db.on_source(
        "UPDATE app.accounts SET name = 'later' WHERE id = 7;"
        "SELECT nextval('app.counter')" + flush_counters(db.source)
    )
    wait_until("the update's counters", lambda: accounts_counter(db) == updated, timeout_s=5)
    # ... and, separately, the copy really lost a row
    db.on_target("DELETE FROM app.parent WHERE id = 1")
    result = db.verify(baseline=Baseline(after=after, before=before))
    by_name = {t.name: t for t in result.tables}
    assert not by_name["accounts"].equal and by_name["accounts"].drift
    assert not by_name["parent"].equal and not by_name["parent"].drift
    assert result.drift is not None and TableKey(db.name, "app", "accounts") in result.drift.tables
    assert result.unexplained == 1 and result.exit_code == 3
    data = result.to_dict()
    assert {t["name"]: t["drift"] for t in data["tables"]}["accounts"] is True
    (seq,) = result.schema_differences  # app.counter moved on the source: drift too
    assert (seq.object, seq.difference, seq.drift) == ("app.counter", "behind", True)
    assert data["summary"]["drift_differences"] == 2
    assert data["drift"]["sequences"] == [
        {"database": db.name, "schema": "app", "table": "counter"}
    ]
    # with the real loss undone, only drift is left: --allow-drift passes the gate
    db.on_target("INSERT INTO app.parent VALUES (1, 'p1')")
    db.on_target("SELECT nextval('app.counter')")
    result = db.verify(baseline=Baseline(after=after), allow_drift=True)
    assert not result.equal and result.unexplained == 0 and result.exit_code == 0
    assert db.verify(baseline=Baseline(after=after)).exit_code == 3
