"""Continuous WAL archiving and point-in-time restores, as Aurora's continuous backup:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.lab.conftest import create_cluster
from tests.lab.test_lab_majors import wait_available
from tests.lab.test_replicas import eventually, sql
from tests.lab_fixtures import need_majors, unique_id

pytestmark = pytest.mark.slow


def window(rds: Any, cluster_id: str) -> tuple[datetime, datetime]:
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    return cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"]


def restorable(rds: Any, cluster_id: str, when: datetime) -> datetime:
    """The cluster's latest restorable time once it is past ``when``."""
    return eventually(
        lambda: (latest := window(rds, cluster_id)[1]) > when and latest,
        f"{cluster_id}'s latest restorable time passing {when}",
    )


def refused(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**params)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.mark.parametrize("version", ["15.4", "11.21", "13.12"])
def test_a_restore_to_a_time_between_two_writes_holds_the_first_and_not_the_second(
    lab, rds, version
):
    if not version.startswith("15"):
        need_majors(int(version.split(".")[0]))
    source = unique_id("pitr-src")
    create_cluster(rds, source, EngineVersion=version, DatabaseName="app")
    server = lab.server_for(source)
    sql(server, "CREATE TABLE t (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
    sql(server, "INSERT INTO t (id) VALUES (1)")
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    sql(server, "INSERT INTO t (id) VALUES (2)")
    [(second,)] = sql(server, "SELECT at FROM t WHERE id = 2")
    assert restorable(rds, source, second) > second

    copy, latest = unique_id("pitr"), unique_id("pitr-latest")
    rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=copy, SourceDBClusterIdentifier=source, RestoreToTime=between
    )
    rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=latest, SourceDBClusterIdentifier=source, UseLatestRestorableTime=True
    )
    for cluster_id in (copy, latest):
        _, seen = wait_available(rds, cluster_id)
        assert "creating" in seen
    assert sql(lab.server_for(copy), "SELECT id FROM t ORDER BY id") == [(1,)]
    assert sql(lab.server_for(latest), "SELECT id FROM t ORDER BY id") == [(1,), (2,)]
    # The restored cluster is writable, keeps its own archive and is restorable itself.
    sql(lab.server_for(copy), "INSERT INTO t (id) VALUES (3)")
    earliest, _ = window(rds, copy)
    assert earliest > second


def test_the_latest_restorable_time_advances_as_the_cluster_is_written(lab, rds):
    source = unique_id("lrt")
    create_cluster(rds, source, DatabaseName="app")
    earliest, first = window(rds, source)
    assert earliest <= first
    server = lab.server_for(source)
    sql(server, "CREATE TABLE t (id int)")
    for n in range(3):
        sql(server, "INSERT INTO t VALUES (%s)", (n,))
        [(written,)] = sql(server, "SELECT now()")
        latest = restorable(rds, source, written)
        assert latest > first and window(rds, source)[0] == earliest
        first = latest


def test_a_time_outside_the_restorable_window_is_refused_and_nothing_is_made(lab, rds):
    source = unique_id("win")
    create_cluster(rds, source, DatabaseName="app")
    earliest, latest = window(rds, source)
    target = unique_id("never")
    for when in (earliest - timedelta(minutes=5), datetime.now(UTC) + timedelta(hours=1)):
        code, message = refused(
            rds.restore_db_cluster_to_point_in_time,
            DBClusterIdentifier=target,
            SourceDBClusterIdentifier=source,
            RestoreToTime=when,
        )
        assert code == "InvalidRestoreFault" and "not within the restorable time window" in message
    wrong = (
        {"RestoreToTime": latest, "UseLatestRestorableTime": True},
        {},
        {"RestoreToTime": latest, "RestoreType": "copy-on-write"},
    )
    for params in wrong:
        code, _ = refused(
            rds.restore_db_cluster_to_point_in_time,
            DBClusterIdentifier=target,
            SourceDBClusterIdentifier=source,
            **params,
        )
        assert code == "InvalidParameterCombination"
    assert not [
        c for c in rds.describe_db_clusters()["DBClusters"] if c["DBClusterIdentifier"] == target
    ]


def test_deleting_a_cluster_removes_its_automated_backups_so_the_name_can_be_used_again(lab, rds):
    cluster_id = unique_id("again")
    create_cluster(rds, cluster_id, DatabaseName="app")
    automated = rds.describe_db_cluster_snapshots(
        DBClusterIdentifier=cluster_id, SnapshotType="automated"
    )["DBClusterSnapshots"]
    assert automated
    wal = Path(lab.server_for(cluster_id).datadir).parent.parent / "archives"
    archives = {p.name for p in wal.iterdir() if p.name.endswith(f"-{cluster_id}")}
    assert archives
    rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
    eventually(
        lambda: (
            not any(
                c["DBClusterIdentifier"] == cluster_id
                for c in rds.describe_db_clusters()["DBClusters"]
            )
        ),
        "the deletion",
    )
    left = rds.describe_db_cluster_snapshots(SnapshotType="automated")["DBClusterSnapshots"]
    assert not [s for s in left if s["DBClusterIdentifier"] == cluster_id]
    assert not {f"us-east-1/{s['DBClusterSnapshotIdentifier']}" for s in automated} & set(
        lab.state.snapshots
    )
    assert not [name for name in archives if (wal / name).exists()]
    create_cluster(rds, cluster_id, DatabaseName="app")  # the clone issue's reset
    assert lab.server_for(cluster_id).psql("SELECT 1").strip() == "1"
