"""A copy taken while the source commits is consistent at exactly its start LSN:
a subscriber from aurora_volume_logical_start_lsn() applies every commit after
it once, and none before. (pg_basebackup streams WAL past its end point -- the
segment after the switch that ends a backup -- and recovery would replay it:
the lab's snapshot ends the WAL at the end point, as Aurora's copy is
consistent at the LSN it reports. Without that, about one copy in four taken
under this load held commits the subscriber then applied again.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from tests.lab.conftest import add_writer, create_cluster, wait_cluster, wait_instance
from tests.lab.test_lab_majors import snapshot_and_restore
from tests.lab.test_logical import logical_group, run
from tests.lab_fixtures import need_majors, unique_id

pytestmark = pytest.mark.slow

ROUNDS = 3


def test_copies_taken_under_commits_catch_up_without_applying_any_twice(lab: Any, rds: Any):
    need_majors(15)
    source = unique_id("ticks")
    group = logical_group(rds, "aurora-postgresql15")
    create_cluster(rds, source, DatabaseName="app", DBClusterParameterGroupName=group)
    wait_instance(rds, add_writer(rds, source))
    wait_cluster(rds, source)
    run(lab, source, "CREATE TABLE ticks (id bigserial PRIMARY KEY, pad text)")
    run(lab, source, "CREATE PUBLICATION p FOR TABLE ticks")
    dsn = lab.server_for(source).dsn("app")
    stop = threading.Event()

    def write() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO ticks (pad) VALUES (repeat(md5(random()::text), 60))")

    for n in range(ROUNDS):
        slot = f"s{n}"
        run(lab, source, f"SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')")
        stop.clear()
        writers = [threading.Thread(target=write) for _ in range(4)]
        for w in writers:
            w.start()
        try:
            time.sleep(0.3)
            copy = snapshot_and_restore(rds, source, EngineMode="provisioned")
            time.sleep(0.3)
        finally:
            stop.set()
            for w in writers:
                w.join()
        [(written,)] = run(lab, source, "SELECT count(*) FROM ticks")
        [(in_copy,)] = run(lab, copy, "SELECT count(*) FROM ticks")
        assert 0 < in_copy < written  # taken while rows were being written
        [(lsn,)] = run(lab, copy, "SELECT aurora_volume_logical_start_lsn()::text")
        run(lab, copy, f"SELECT pg_drop_replication_slot('{slot}')")
        run(
            lab,
            copy,
            f"CREATE SUBSCRIPTION {slot} CONNECTION '{dsn}' PUBLICATION p WITH (copy_data = "
            f"false, create_slot = false, enabled = false, slot_name = '{slot}')",
        )
        [(origin,)] = run(
            lab, copy, f"SELECT 'pg_' || oid FROM pg_subscription WHERE subname = '{slot}'"
        )
        run(lab, copy, "SELECT pg_replication_origin_advance(%s, %s::pg_lsn)", (origin, lsn))
        run(lab, copy, f"ALTER SUBSCRIPTION {slot} ENABLE")
        deadline = time.monotonic() + 30
        while run(lab, copy, "SELECT count(*) FROM ticks") != [(written,)]:
            assert time.monotonic() < deadline, (
                f"round {n}: the copy never caught up: a commit applied twice stops the "
                "subscriber (duplicate key), one skipped leaves it short"
            )
            time.sleep(0.2)
        assert run(lab, copy, "SELECT count(DISTINCT id) FROM ticks") == [(written,)]
        run(lab, copy, f"DROP SUBSCRIPTION {slot}")  # drops the slot on the source too
