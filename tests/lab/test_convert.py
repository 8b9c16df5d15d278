"""The lab converts a Serverless v1 cluster to provisioned as AWS does: refused
without AllowEngineModeChange, for a cluster that is not v1, or with other changes;
otherwise a pre-modify-engine-mode snapshot, ``modifying``, a provisioned writer of
the given class promoted from a replica (a real, short write outage), the data kept:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.modifying.html#aurora-serverless.modifying.convert
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from snapmigrate_lab import load as labload
from snapmigrate_lab.convert import V1_WRITER
from tests.inplace.test_lab import load
from tests.lab.conftest import create_cluster, wait_cluster, wait_snapshot
from tests.lab.test_lab_majors import wait_available
from tests.lab.test_lab_rules import refused
from tests.lab.test_replicas import sql
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow


def v1_cluster(rds: Any, max_capacity: int = 8) -> str:
    cluster_id = unique_id("v1c")
    create_cluster(
        rds,
        cluster_id,
        EngineVersion="13.12",
        EngineMode="serverless",
        DatabaseName="app",
        ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": max_capacity},
    )
    return cluster_id


def test_a_conversion_is_refused_as_aws_refuses_it(lab, rds):
    v1 = v1_cluster(rds)
    base = {"DBClusterIdentifier": v1, "EngineMode": "provisioned"}
    assert refused(rds.modify_db_cluster, **base)[0] == "InvalidParameterCombination"
    code, message, _ = refused(
        rds.modify_db_cluster, **base, AllowEngineModeChange=True, EngineVersion="13.20"
    )
    assert code == "InvalidParameterCombination" and "EngineVersion" in message
    provisioned = unique_id("prov")
    create_cluster(rds, provisioned)
    code, message, _ = refused(
        rds.modify_db_cluster,
        DBClusterIdentifier=provisioned,
        EngineMode="provisioned",
        AllowEngineModeChange=True,
    )
    assert "Serverless v1 DB clusters only" in message
    code, message, _ = refused(
        rds.modify_db_cluster, DBClusterIdentifier=provisioned, EngineMode="serverless"
    )
    assert "only from serverless to provisioned" in message
    # nothing changed
    found = wait_cluster(rds, v1)
    assert found["EngineMode"] == "serverless" and found["DBClusterMembers"] == []
    assert wait_cluster(rds, provisioned)["EngineMode"] == "provisioned"


def test_a_v1_cluster_converts_in_place_under_load_losing_no_write(lab, rds, tmp_path):
    cluster_id = v1_cluster(rds, max_capacity=16)
    cluster = wait_cluster(rds, cluster_id)
    server = lab.server_for(cluster_id)
    sql(server, "CREATE TABLE kept (n int)")
    sql(server, "INSERT INTO kept SELECT generate_series(1, 100)")
    ids = tmp_path / "ids.txt"
    with load(lab, cluster["Endpoint"], ids) as reports:
        answer = rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id,
            EngineMode="provisioned",
            AllowEngineModeChange=True,
            DBClusterInstanceClass="db.r5.large",
        )["DBCluster"]
        converted, seen = wait_available(rds, cluster_id)
        time.sleep(0.5)  # writes go on through the endpoint, now at the new writer
    (report,) = reports
    assert answer["Status"] == "modifying" and "modifying" in seen
    assert converted["EngineMode"] == "provisioned"
    assert "ScalingConfigurationInfo" not in converted
    assert converted["Endpoint"] == cluster["Endpoint"]
    (member,) = converted["DBClusterMembers"]
    assert member["IsClusterWriter"]
    instance = rds.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])[
        "DBInstances"
    ][0]
    assert instance["DBInstanceClass"] == "db.r5.large"
    assert instance["DBInstanceStatus"] == "available"

    snaps = rds.describe_db_cluster_snapshots(DBClusterIdentifier=cluster_id)["DBClusterSnapshots"]
    (pre,) = [
        s for s in snaps if s["DBClusterSnapshotIdentifier"].startswith(
            f"pre-modify-engine-mode-{cluster_id}-"
        )
    ]  # fmt: skip
    wait_snapshot(rds, pre["DBClusterSnapshotIdentifier"])

    new = lab.server_for(cluster_id)
    assert new.port != server.port and not server.is_running()
    assert sql(new, "SELECT count(*) FROM kept") == [(100,)]
    target = labload.target(lab, name=cluster["Endpoint"], user="master", database="app")
    found = labload.check(target, ids)
    assert found.check.lost == 0 and found.check.present == len(report.result.committed) > 0
    (conversion,) = [
        f for f in lab.state.notes["postgres"]["failovers"] if f["cluster_id"] == cluster_id
    ]
    assert conversion["old_writer"] == V1_WRITER and conversion["error"] == ""
    assert conversion["writes_blocked_s"] > 0
    print(
        f"\nconversion: writes refused {conversion['writes_blocked_s']:.3f} s (the lab's "
        f"measure), longest gap between commits {report.result.longest_unavailability_s:.3f} s"
    )


def test_a_converted_cluster_without_a_class_gets_awss_recommendation(lab, rds):
    cluster_id = v1_cluster(rds, max_capacity=4)
    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id, EngineMode="provisioned", AllowEngineModeChange=True
    )
    converted, _ = wait_available(rds, cluster_id)
    (member,) = converted["DBClusterMembers"]
    instance = rds.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])[
        "DBInstances"
    ][0]
    assert instance["DBInstanceClass"] == "db.t3.large"
    assert sql(lab.server_for(cluster_id), "SELECT 1") == [(1,)]


def test_db_serverless_is_orderable_only_for_versions_with_serverless_v2(lab, rds):
    def offered(version: str) -> list[dict]:
        return rds.describe_orderable_db_instance_options(
            Engine="aurora-postgresql", EngineVersion=version, DBInstanceClass="db.serverless"
        )["OrderableDBInstanceOptions"]

    (option,) = offered("15.4")
    assert option["DBInstanceClass"] == "db.serverless"
    assert [z["Name"] for z in option["AvailabilityZones"]] == [
        "us-east-1a", "us-east-1b", "us-east-1c",
    ]  # fmt: skip
    assert offered("11.21") == []  # no Serverless v2 before 13.6
