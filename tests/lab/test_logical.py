"""Logical replication in the lab as on Aurora: rds.logical_replication in a
cluster parameter group takes effect at the writer's reboot, and a restored
copy is caught up from aurora_volume_logical_start_lsn() by a subscription,
in the order AWS documents:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from tests.lab.conftest import add_writer, create_cluster, wait_cluster, wait_instance
from tests.lab.test_lab_majors import snapshot_and_restore, wait_available
from tests.lab_fixtures import need_majors, unique_id

pytestmark = pytest.mark.slow


def logical_group(rds: Any, family: str = "aurora-postgresql13") -> str:
    name = unique_id("logical")
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=name,
        DBParameterGroupFamily=family,
        Description="logical replication",
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName=name,
        Parameters=[
            {
                "ParameterName": "rds.logical_replication",
                "ParameterValue": "1",
                "ApplyMethod": "pending-reboot",
            }
        ],
    )
    return name


def member_status(rds: Any, cluster_id: str) -> str:
    members = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0][
        "DBClusterMembers"
    ]
    return str(members[0]["DBClusterParameterGroupStatus"])


def run(
    lab: Any, cluster_id: str, sql: str, params: Any = None, database: str = "app"
) -> list[tuple[Any, ...]]:
    with psycopg.connect(lab.server_for(cluster_id).dsn(database), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def provisioned_source(lab: Any, rds: Any, **overrides: Any) -> str:
    source = unique_id("pub")
    create_cluster(rds, source, EngineVersion="13.12", DatabaseName="app", **overrides)
    wait_instance(rds, add_writer(rds, source))
    wait_cluster(rds, source)
    return source


def test_rds_logical_replication_takes_effect_at_the_writers_reboot(lab, rds):
    need_majors(13)
    source = provisioned_source(lab, rds)
    assert run(lab, source, "SHOW wal_level") == [("replica",)]
    rds.modify_db_cluster(
        DBClusterIdentifier=source,
        DBClusterParameterGroupName=logical_group(rds),
        ApplyImmediately=True,
    )
    wait_available(rds, source)

    assert member_status(rds, source) == "pending-reboot"
    assert run(lab, source, "SHOW wal_level") == [("replica",)]
    rds.reboot_db_instance(DBInstanceIdentifier=f"{source}-1")
    wait_instance(rds, f"{source}-1")
    wait_available(rds, source)

    assert member_status(rds, source) == "in-sync"
    assert run(lab, source, "SHOW wal_level") == [("logical",)]
    assert run(lab, source, "SHOW rds.logical_replication") == [("on",)]
    assert int(run(lab, source, "SHOW max_replication_slots")[0][0]) >= 10


def test_a_restored_copy_catches_up_from_aurora_volume_logical_start_lsn(lab, rds):
    need_majors(13)
    source = provisioned_source(lab, rds, DBClusterParameterGroupName=logical_group(rds))
    run(lab, source, "CREATE TABLE orders (id int PRIMARY KEY, what text)")
    run(lab, source, "INSERT INTO orders VALUES (1, 'before the publication')")
    run(lab, source, "CREATE PUBLICATION catchup FOR ALL TABLES")
    run(lab, source, "SELECT pg_create_logical_replication_slot('catchup_slot', 'pgoutput')")
    run(lab, source, "INSERT INTO orders VALUES (2, 'before the snapshot')")

    copy = snapshot_and_restore(rds, source, EngineMode="provisioned")
    run(lab, source, "INSERT INTO orders VALUES (3, 'after the snapshot')")

    [(lsn,)] = run(lab, copy, "SELECT aurora_volume_logical_start_lsn()")
    assert run(lab, copy, "SELECT aurora_volume_logical_start_lsn()", database="postgres") == [
        (lsn,)
    ]
    assert run(lab, copy, "SELECT slot_name FROM pg_replication_slots") == [("catchup_slot",)]
    run(lab, copy, "SELECT pg_drop_replication_slot('catchup_slot')")  # AWS: drop the copied slot
    assert [r[0] for r in run(lab, copy, "SELECT id FROM orders ORDER BY id")] == [1, 2]

    publisher = lab.server_for(source)
    run(
        lab,
        copy,
        f"""CREATE SUBSCRIPTION catchup CONNECTION '{publisher.dsn("app")}' PUBLICATION catchup
        WITH (copy_data = false, create_slot = false, enabled = false, connect = true,
              slot_name = 'catchup_slot')""",
    )
    [(origin,)] = run(lab, copy, "SELECT roname FROM pg_replication_origin")
    run(lab, copy, "SELECT pg_replication_origin_advance(%s, %s::pg_lsn)", (origin, str(lsn)))
    run(lab, copy, "ALTER SUBSCRIPTION catchup ENABLE")

    deadline = time.monotonic() + 60
    while run(lab, copy, "SELECT count(*) FROM orders WHERE id = 3") != [(1,)]:
        assert time.monotonic() < deadline, "the write after the snapshot never reached the copy"
        time.sleep(0.1)
    # Nothing from before the anchor came twice (a duplicate key would have stopped the worker).
    assert run(lab, copy, "SELECT id, what FROM orders ORDER BY id") == [
        (1, "before the publication"),
        (2, "before the snapshot"),
        (3, "after the snapshot"),
    ]
    run(lab, copy, "DROP SUBSCRIPTION catchup")  # drops the slot on the source too
    assert run(lab, source, "SELECT count(*) FROM pg_replication_slots") == [(0,)]


def test_a_clone_has_the_start_lsn_and_a_fresh_cluster_does_not(lab, rds):
    need_majors(13)
    source = provisioned_source(lab, rds)
    clone = unique_id("clone")
    rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=clone,
        SourceDBClusterIdentifier=source,
        RestoreType="copy-on-write",
        UseLatestRestorableTime=True,
    )
    wait_available(rds, clone)
    [(lsn,)] = run(lab, clone, "SELECT aurora_volume_logical_start_lsn()")
    [(now,)] = run(lab, source, "SELECT pg_current_wal_lsn()")
    assert run(lab, source, "SELECT %s::pg_lsn <= %s::pg_lsn", (str(lsn), str(now))) == [(True,)]
    with pytest.raises(psycopg.errors.UndefinedFunction):
        run(lab, source, "SELECT aurora_volume_logical_start_lsn()")


def test_restores_of_minors_before_the_function_have_none(lab, rds):
    need_majors(13)
    source = unique_id("old13")
    create_cluster(rds, source, EngineVersion="13.5", DatabaseName="app")
    copy = snapshot_and_restore(rds, source)
    with pytest.raises(psycopg.errors.UndefinedFunction):
        run(lab, copy, "SELECT aurora_volume_logical_start_lsn()")
