"""Readers as streaming replicas, reached by their own and the reader endpoint, and
failovers that lose no committed write, as on Aurora:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from snapmigrate.loadgen import LoadOptions
from snapmigrate_lab import load as labload
from tests.lab.conftest import (
    PASSWORD,
    add_writer,
    create_cluster,
    reached,
    wait_cluster,
    wait_instance,
)
from tests.lab.test_lab_majors import wait_available
from tests.lab_fixtures import need_majors, unique_id
from tests.waits import wait_until

pytestmark = pytest.mark.slow


def eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """``check()`` once it is truthy (a replica's lag is real: it takes a moment); a
    database error counts as not yet (the table is not there yet)."""

    def tolerant() -> Any:
        try:
            return check()
        except psycopg.Error:
            return None

    return wait_until(what, tolerant, timeout_s=timeout, poll_s=0.05)


def add_reader(rds: Any, cluster_id: str, suffix: str, tier: int = 1) -> str:
    instance_id = add_writer(rds, cluster_id, suffix, PromotionTier=tier)
    wait_instance(rds, instance_id)
    return instance_id


def cluster_with_readers(
    rds: Any, version: str = "15.4", tiers: tuple[int, ...] = (1,)
) -> tuple[str, str, list[str]]:
    """A cluster (database app, table t) with a writer and readers of these tiers."""
    cluster_id = unique_id("rep")
    create_cluster(rds, cluster_id, EngineVersion=version, DatabaseName="app")
    writer = add_writer(rds, cluster_id)
    wait_instance(rds, writer)
    readers = [add_reader(rds, cluster_id, f"r{n}", tier) for n, tier in enumerate(tiers, 1)]
    return cluster_id, writer, readers


def sql(server: Any, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(server.dsn("app"), autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def host_of(rds: Any, instance_id: str) -> str:
    found = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    return str(found["Endpoint"]["Address"])


def test_a_reader_is_a_read_only_replica_reached_by_the_reader_endpoint(lab, rds):
    cluster_id, writer_id, (reader_id,) = cluster_with_readers(rds)
    cluster = wait_cluster(rds, cluster_id)
    writer, reader = lab.server_for(cluster_id), lab.reader_for(reader_id)
    assert reader.port != writer.port
    sql(writer, "CREATE TABLE t (id int PRIMARY KEY)")
    sql(writer, "INSERT INTO t VALUES (1)")
    eventually(lambda: sql(reader, "SELECT count(*) FROM t") == [(1,)], "replication")

    # The reader endpoint reaches the replica, whose writes are refused; each instance
    # endpoint reaches its own server; the cluster endpoint the writer.
    assert reached(lab, cluster["ReaderEndpoint"], "app") == (reader.port, True)
    assert reached(lab, host_of(rds, reader_id)) == (reader.port, True)
    assert reached(lab, host_of(rds, writer_id)) == (writer.port, False)
    assert reached(lab, cluster["Endpoint"]) == (writer.port, False)
    with (
        psycopg.connect(reader.dsn("app"), autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("INSERT INTO t VALUES (2)")

    # The master password changes on the writer; the reader still follows it.
    new_password = PASSWORD + "-2"
    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id, MasterUserPassword=new_password, ApplyImmediately=True
    )
    wait_available(rds, cluster_id)
    writer.password = reader.password = new_password
    sql(writer, "INSERT INTO t VALUES (3)")
    eventually(lambda: sql(reader, "SELECT count(*) FROM t") == [(2,)], "replication")

    # Deleting the reader removes its server; the reader endpoint then reaches the writer.
    rds.delete_db_instance(DBInstanceIdentifier=reader_id, SkipFinalSnapshot=True)
    assert lab.state.reader(reader_id) is None
    assert not Path(reader.datadir).exists()
    port, replica = reached(lab, cluster["ReaderEndpoint"], user="master", password=new_password)
    assert (port, replica) == (writer.port, False)


@pytest.mark.parametrize("version", ["15.4", "11.21"])
def test_a_failover_under_load_loses_no_committed_write(lab, rds, tmp_path, version):
    if version.startswith("11"):
        need_majors(11)
    cluster_id, old_writer, (low, high) = cluster_with_readers(rds, version, tiers=(2, 0))
    endpoint = wait_cluster(rds, cluster_id)["Endpoint"]
    target = labload.target(lab, name=endpoint, user="master", database="app")
    ids = tmp_path / "ids.txt"
    stop = threading.Event()
    reports: list[labload.LoadReport] = []
    options = LoadOptions(workers=2, rate_per_worker=0, connect_timeout=2, retry_pause_s=0.02)
    loader = threading.Thread(
        target=lambda: reports.append(labload.run(target, options, ids_file=ids, stop=stop))
    )
    loader.start()
    try:
        eventually(lambda: ids.exists() and ids.stat().st_size > 0, "the first commit")
        time.sleep(0.5)
        rds.failover_db_cluster(DBClusterIdentifier=cluster_id)  # no target: by promotion tier
        cluster, seen = wait_available(rds, cluster_id)
        time.sleep(1.0)  # writes go on through the endpoint, now at the new writer
    finally:
        stop.set()
        loader.join(60)
    (report,) = reports
    assert "failing-over" in seen
    members = {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in cluster["DBClusterMembers"]}
    assert members == {old_writer: False, low: False, high: True}  # tier 0 before tier 2
    found = labload.check(target, ids)
    assert found.check.lost == 0 and found.check.present == len(report.result.committed) > 0
    (failover,) = [
        f for f in lab.state.notes["postgres"]["failovers"] if f["cluster_id"] == cluster_id
    ]
    assert failover["error"] == "" and failover["new_writer"] == high
    print(
        f"\nfailover of {version}: writes refused {failover['writes_blocked_s']:.3f} s "
        f"(the lab's measure), longest gap between commits "
        f"{report.result.longest_unavailability_s:.3f} s, "
        f"{len(report.result.committed)} commits, {report.result.errors} errors"
    )

    # The new writer is the old reader's server; the old writer follows it as a replica,
    # as does the other reader; the last commit reaches both.
    new = lab.server_for(cluster_id)
    last = max(report.result.committed)
    for instance_id in (old_writer, low):
        follower = lab.reader_for(instance_id)
        follower.password = new.password
        assert sql(follower, "SELECT pg_is_in_recovery()") == [(True,)]
        eventually(
            lambda f=follower: (
                sql(f, "SELECT count(*) FROM snapmigrate_load WHERE id = %s", (last,)) == [(1,)]
            ),
            f"{instance_id} following the new writer",
        )
    assert reached(lab, endpoint) == (new.port, False)


def test_deleting_the_writer_fails_over_to_a_reader(lab, rds):
    cluster_id, writer_id, (reader_id,) = cluster_with_readers(rds)
    old = lab.server_for(cluster_id)
    sql(old, "CREATE TABLE t (id int PRIMARY KEY)")
    sql(old, "INSERT INTO t SELECT generate_series(1, 100)")
    rds.delete_db_instance(DBInstanceIdentifier=writer_id, SkipFinalSnapshot=True)
    cluster, _ = wait_available(rds, cluster_id)
    assert [
        (m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in cluster["DBClusterMembers"]
    ] == [(reader_id, True)]
    new = lab.server_for(cluster_id)
    assert new.port != old.port and not Path(old.datadir).exists()
    assert sql(new, "SELECT count(*), pg_is_in_recovery() FROM t") == [(100, False)]
    assert lab.state.reader(reader_id) is None


def test_a_major_upgrade_copies_the_readers_afresh_and_starts_a_new_archive(lab, rds):
    need_majors(13, 16)
    cluster_id, _, (reader_id,) = cluster_with_readers(rds, "13.12")
    sql(lab.server_for(cluster_id), "CREATE TABLE t AS SELECT generate_series(1, 50) AS id")
    earliest = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0][
        "EarliestRestorableTime"
    ]
    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id,
        EngineVersion="16.4",
        AllowMajorVersionUpgrade=True,
        ApplyImmediately=True,
    )
    _, seen = wait_available(rds, cluster_id)
    assert "upgrading" in seen
    reader = lab.reader_for(reader_id)
    assert sql(reader, "SELECT current_setting('server_version_num')::int / 10000") == [(16,)]
    assert sql(reader, "SELECT count(*), pg_is_in_recovery() FROM t") == [(50, True)]
    # The data is a new system: the archive of the 13 cluster cannot restore into it; the
    # new one is restorable once its first base backup is taken, a moment later.
    restorable_from = eventually(
        lambda: rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0].get(
            "EarliestRestorableTime"
        ),
        "the upgraded cluster's first base backup",
    )
    assert restorable_from > earliest
