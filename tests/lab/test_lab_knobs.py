"""The realism knobs against a running lab: transitional states with rising
progress, throttling and 5xx that botocore retries, calls that fail once."""

from __future__ import annotations

import time

import botocore.exceptions
import pytest

from tests.lab.conftest import create_cluster, wait_cluster
from tests.lab_fixtures import unique_id
from tests.waits import wait_until

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def statuses(describe, key: str, n: int) -> list[str]:
    return [describe()[key] for _ in range(n)]


def test_resources_pass_through_transitional_states_for_n_polls(lab_knobs):
    lab = lab_knobs
    lab.set_knobs(delay_polls=2)
    rds = lab.client("rds")
    cluster_id, snap = unique_id("slow"), unique_id("snap")
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword="pw-12345678",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
    )

    def cluster():
        return rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]

    assert statuses(cluster, "Status", 3) == ["creating", "creating", "available"]

    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
    assert err.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    seen = [
        rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snap)["DBClusterSnapshots"][0]
        for _ in range(3)
    ]
    assert [(s["Status"], s["PercentProgress"]) for s in seen] == [
        ("creating", 0),
        ("creating", 50),
        ("available", 100),
    ]
    assert statuses(cluster, "Status", 3) == ["backing-up", "backing-up", "available"]

    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id,
        NewDBClusterIdentifier=f"{cluster_id}-b",
        ApplyImmediately=True,
    )
    cluster_id = f"{cluster_id}-b"
    assert statuses(cluster, "Status", 3) == ["renaming", "renaming", "available"]

    rds.create_db_instance(
        DBInstanceIdentifier=f"{cluster_id}-1",
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )

    def instance():
        return rds.describe_db_instances(DBInstanceIdentifier=f"{cluster_id}-1")["DBInstances"][0]

    assert statuses(instance, "DBInstanceStatus", 3) == ["creating", "creating", "available"]
    rds.delete_db_instance(DBInstanceIdentifier=f"{cluster_id}-1", SkipFinalSnapshot=True)
    members = rds.describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}]
    )["DBInstances"]
    assert [(i["DBInstanceIdentifier"], i["DBInstanceStatus"]) for i in members] == [
        (f"{cluster_id}-1", "deleting")
    ]
    assert statuses(instance, "DBInstanceStatus", 1) == ["deleting"]
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        instance()

    rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)
    assert lab.state.server(cluster_id) is None  # the data goes at once; the record lingers
    listed = [
        c["Status"]
        for c in rds.describe_db_clusters()["DBClusters"]
        if c["DBClusterIdentifier"] == cluster_id
    ]
    assert listed == ["deleting"]
    assert cluster()["Status"] == "deleting"
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        cluster()


def test_transitions_can_last_a_time_instead(lab_knobs):
    lab = lab_knobs
    lab.set_knobs(delay_polls=0, delay_seconds=2.0)
    rds = lab.client("rds")
    cluster_id = unique_id("timed")
    started = time.monotonic()
    rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-mysql",
        MasterUsername="m",
        MasterUserPassword="pw-12345678",
    )
    seen: list[tuple[float, str]] = []  # (seconds since the request when the answer came, status)

    def available() -> bool:
        status = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["Status"]
        seen.append((time.monotonic() - started, status))
        return status == "available"

    wait_until("the cluster to become available", available, timeout_s=20, poll_s=0.1)
    # available only once the time has passed, however many polls it took (a busy machine may
    # answer the first describe late); every answer before that says creating
    assert seen[-1][1] == "available" and seen[-1][0] >= 2.0, seen
    assert {status for _, status in seen[:-1]} <= {"creating"}, seen


def test_throttling_is_retried_by_botocore_then_surfaces(lab_knobs):
    lab = lab_knobs
    lab.set_knobs(throttle_rate=1.0, seed=1)
    rds = lab.client("rds", max_attempts=2)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.describe_db_clusters()
    assert err.value.response["Error"]["Code"] == "Throttling"
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 1  # botocore retried it
    r53 = lab.client("route53", max_attempts=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        r53.list_hosted_zones()
    assert err.value.response["Error"]["Code"] == "Throttling"
    sm = lab.client("secretsmanager", max_attempts=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.list_secrets()
    assert err.value.response["Error"]["Code"] == "ThrottlingException"

    # a realistic rate: every call still succeeds, some only after retries
    lab.set_knobs(throttle_rate=0.3, seed=7)
    rds = lab.client("rds", max_attempts=10)
    retries = [rds.describe_db_clusters()["ResponseMetadata"]["RetryAttempts"] for _ in range(12)]
    assert any(retries) and not all(retries)


def test_server_errors_are_retried_by_botocore(lab_knobs):
    lab = lab_knobs
    lab.set_knobs(error_rate=1.0, seed=3)
    rds = lab.client("rds", max_attempts=2)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.describe_db_clusters()
    response = err.value.response
    assert response["Error"]["Code"] in {"InternalFailure", "ServiceUnavailable"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] in {500, 503}
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_a_call_fails_once_before_it_acts(lab_knobs):
    lab = lab_knobs
    rds = lab.client("rds", max_attempts=1)
    cluster_id = unique_id("once")
    create_cluster(rds, cluster_id)
    snap = unique_id("snap")
    lab.fail_once("CreateDBClusterSnapshot", "SnapshotQuotaExceeded")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap
        )
    assert err.value.response["Error"]["Code"] == "SnapshotQuotaExceeded"
    assert (
        rds.describe_db_cluster_snapshots(DBClusterIdentifier=cluster_id, SnapshotType="manual")[
            "DBClusterSnapshots"
        ]
        == []
    )
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap
    )  # only once
    assert lab.knobs().fail == ()

    # a retryable one is absorbed by botocore
    lab.fail_once("DescribeDBClusters", "InternalFailure")
    answer = lab.client("rds", max_attempts=3).describe_db_clusters(DBClusterIdentifier=cluster_id)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1


def test_a_call_can_act_and_lose_its_answer(lab_knobs):
    lab = lab_knobs
    rds = lab.client("rds", max_attempts=1)
    cluster_id = unique_id("lost")
    create_cluster(rds, cluster_id)
    snap = unique_id("snap")
    lab.fail_once("CreateDBClusterSnapshot", after=True)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap
        )
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # ...yet the snapshot (and its data) exists: a blind retry meets its own work
    assert f"us-east-1/{snap}" in lab.state.snapshots
    wait_cluster(rds, cluster_id)
    with pytest.raises(rds.exceptions.DBClusterSnapshotAlreadyExistsFault):
        rds.create_db_cluster_snapshot(
            DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap
        )


def test_knobs_reject_bad_values_without_changing(lab_knobs):
    from snapmigrate.errors import BadInput

    before = lab_knobs.knobs()
    with pytest.raises(BadInput, match="between 0 and 1"):
        lab_knobs.set_knobs(throttle_rate=2)
    with pytest.raises(BadInput, match="unknown knob"):
        lab_knobs.set_knobs(speed=11)
    assert lab_knobs.knobs() == before
