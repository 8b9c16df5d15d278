"""The lab refuses what AWS refuses, with AWS's error code and message shape
(boto3 against the session lab, ``delay_polls=1``): engine versions and
upgrade targets, Serverless v2, transitional states, failure states, KMS,
default parameter groups, the managed secret, a renamed cluster's DNS."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import pytest

from tests.lab.conftest import (
    PASSWORD,
    create_cluster,
    first,
    wait_cluster,
    wait_instance,
    wait_snapshot,
)
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow

SCALING = {"MinCapacity": 0.5, "MaxCapacity": 4}
MAJORS = [str(major) for major in range(11, 19)]


def refusal(err: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str, int]:
    response = err.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def refused(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**params)
    return refusal(err)


def snapshot_of(rds: Any, cluster_id: str) -> str:
    wait_cluster(rds, cluster_id)
    snap = unique_id("snap")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    wait_cluster(rds, cluster_id)
    return snap


def restore(rds: Any, snap: str, **params: Any) -> dict[str, Any]:
    """The snapshot restored (aurora-postgresql) under a new identifier, once available."""
    cluster_id = unique_id("r")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=cluster_id,
        SnapshotIdentifier=snap,
        Engine="aurora-postgresql",
        **params,
    )
    return wait_cluster(rds, cluster_id)


def modify(rds: Any, cluster_id: str, **params: Any) -> dict[str, Any]:
    rds.modify_db_cluster(DBClusterIdentifier=cluster_id, ApplyImmediately=True, **params)
    return wait_cluster(rds, cluster_id)


def instance(
    rds: Any, instance_id: str, cluster_id: str, instance_class: str = "db.serverless"
) -> dict[str, Any]:
    answer: dict[str, Any] = rds.create_db_instance(
        DBInstanceIdentifier=instance_id,
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        DBInstanceClass=instance_class,
    )["DBInstance"]
    return answer


# -- 1. engine versions ------------------------------------------------------------


def test_engine_versions_are_answered_from_the_lab_table(rds):
    v = rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="13.12")[
        "DBEngineVersions"
    ][0]
    assert (v["DBParameterGroupFamily"], v["SupportedEngineModes"]) == (
        "aurora-postgresql13",
        ["provisioned", "serverless"],
    )
    assert v["ServerlessV2FeaturesSupport"] == {"MinCapacity": 0.5, "MaxCapacity": 128.0}
    paused = rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="16.3")[
        "DBEngineVersions"
    ][0]
    assert paused["ServerlessV2FeaturesSupport"] == {"MinCapacity": 0.0, "MaxCapacity": 256.0}
    old = rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="11.17")[
        "DBEngineVersions"
    ][0]
    assert "ServerlessV2FeaturesSupport" not in old
    targets = {t["EngineVersion"]: t for t in old["ValidUpgradeTarget"]}
    assert "13.7" not in targets and targets["13.8"]["IsMajorVersionUpgrade"] is True
    earlier = rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="11.16")[
        "DBEngineVersions"
    ][0]
    assert "13.7" in {t["EngineVersion"] for t in earlier["ValidUpgradeTarget"]}
    # boto3's own paginator walks the lab's markers
    pages = rds.get_paginator("describe_db_engine_versions").paginate(
        Engine="aurora-postgresql", PaginationConfig={"PageSize": 20}
    )
    listed = [v["EngineVersion"] for page in pages for v in page["DBEngineVersions"]]
    assert len(listed) > 80 and len(set(listed)) == len(listed) and "18.4" in listed
    default = rds.describe_db_engine_versions(Engine="aurora-postgresql", DefaultOnly=True)[
        "DBEngineVersions"
    ]
    assert len(default) == 1
    code, message, status = refused(
        rds.describe_db_engine_versions, Engine="aurora-postgresql", MaxRecords=10
    )
    assert (code, status) == (
        "InvalidParameterValue",
        400,
    ) and "Must be between 20 and 100" in message
    majors = rds.describe_db_major_engine_versions(Engine="aurora-postgresql")
    assert [m["MajorEngineVersion"] for m in majors["DBMajorEngineVersions"]] == MAJORS


# -- 2. Serverless v2 instances ---------------------------------------------------------


def test_a_serverless_instance_needs_the_clusters_scaling_configuration(lab, rds):
    cluster_id = unique_id("noscale")
    create_cluster(rds, cluster_id)
    code, message, status = refused(
        instance, rds=rds, instance_id=f"{cluster_id}-1", cluster_id=cluster_id
    )
    assert (code, status) == ("InvalidDBClusterStateFault", 400)
    assert message == (
        "Set the Serverless v2 scaling configuration on the parent DB cluster "
        "before creating a Serverless v2 DB instance."
    )
    instance(rds, f"{cluster_id}-p", cluster_id, "db.r6g.large")  # a provisioned one is fine
    modify(rds, cluster_id, ServerlessV2ScalingConfiguration=SCALING)
    assert instance(rds, f"{cluster_id}-1", cluster_id)["DBInstanceClass"] == "db.serverless"


def test_the_first_instance_after_a_major_upgrade_by_restore_must_be_provisioned(lab, rds):
    old = unique_id("pg11")
    create_cluster(rds, old, EngineVersion="11.21")
    snap = snapshot_of(rds, old)

    # restore at the snapshot's major, then upgrade: the first instance must be provisioned
    upgraded = restore(rds, snap)["DBClusterIdentifier"]
    assert (
        modify(rds, upgraded, EngineVersion="13.20", AllowMajorVersionUpgrade=True)["EngineVersion"]
        == "13.20"
    )
    modify(rds, upgraded, ServerlessV2ScalingConfiguration=SCALING)
    code, message, _ = refused(instance, rds=rds, instance_id=f"{upgraded}-v2", cluster_id=upgraded)
    assert code == "InvalidDBClusterStateFault" and "must be a provisioned DB instance" in message
    instance(rds, f"{upgraded}-bridge", upgraded, "db.r6g.large")
    assert instance(rds, f"{upgraded}-v2", upgraded)["DBInstanceClass"] == "db.serverless"

    # a restore straight to a higher major is a major upgrade by snapshot restore too
    direct = restore(rds, snap, EngineVersion="13.20", ServerlessV2ScalingConfiguration=SCALING)[
        "DBClusterIdentifier"
    ]
    code, message, _ = refused(instance, rds=rds, instance_id=f"{direct}-v2", cluster_id=direct)
    assert code == "InvalidDBClusterStateFault" and "must be a provisioned DB instance" in message


def test_a_same_major_restore_of_a_v1_snapshot_takes_serverless_instances_at_once(lab, rds, lab_v1):
    snap = snapshot_of(rds, lab_v1.cluster_id)
    target = restore(rds, snap, EngineMode="provisioned", ServerlessV2ScalingConfiguration=SCALING)[
        "DBClusterIdentifier"
    ]
    assert instance(rds, f"{target}-w", target)["DBInstanceClass"] == "db.serverless"


# -- 3. versions of restores and upgrades ---------------------------------------------------


def test_restores_and_upgrades_keep_to_the_valid_upgrade_targets(lab, rds):
    source = unique_id("pg1117")
    create_cluster(rds, source, EngineVersion="11.17")
    snap = snapshot_of(rds, source)
    restore = rds.restore_db_cluster_from_snapshot

    def restore_refusal(**params: Any) -> tuple[str, str, int]:
        target = unique_id("r")
        found = refused(
            restore,
            DBClusterIdentifier=target,
            SnapshotIdentifier=snap,
            Engine="aurora-postgresql",
            **params,
        )
        assert target not in {
            c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]
        }
        return found

    assert restore_refusal(EngineVersion="11.16")[:2] == (
        "InvalidParameterCombination",
        f"Cannot restore DB cluster snapshot {snap} (aurora-postgresql 11.17) "
        "to the older engine version 11.16.",
    )
    assert restore_refusal(EngineVersion="13.7")[:2] == (
        "InvalidParameterCombination",
        "Cannot upgrade aurora-postgresql from 11.17 to 13.7",
    )
    assert restore_refusal(EngineVersion="13.99")[:2] == (
        "InvalidParameterCombination",
        "Cannot find version 13.99 for aurora-postgresql",
    )
    code, message, _ = restore_refusal(ServerlessV2ScalingConfiguration=SCALING)
    assert (
        code == "InvalidParameterCombination"
        and "Aurora Serverless v2 isn't available for aurora-postgresql 11.17" in message
    )

    modify = rds.modify_db_cluster
    assert refused(
        modify,
        DBClusterIdentifier=source,
        EngineVersion="13.7",
        AllowMajorVersionUpgrade=True,
        ApplyImmediately=True,
    )[:2] == (
        "InvalidParameterCombination",
        "Cannot upgrade aurora-postgresql from 11.17 to 13.7",
    )
    assert refused(modify, DBClusterIdentifier=source, EngineVersion="13.8", ApplyImmediately=True)[
        :2
    ] == (
        "InvalidParameterCombination",
        "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
    )
    code, message, _ = refused(
        modify,
        DBClusterIdentifier=source,
        ServerlessV2ScalingConfiguration=SCALING,
        ApplyImmediately=True,
    )
    assert code == "InvalidParameterCombination" and "11.17" in message
    assert wait_cluster(rds, source)["EngineVersion"] == "11.17"  # nothing changed

    answer = modify(
        DBClusterIdentifier=source,
        EngineVersion="13.8",
        AllowMajorVersionUpgrade=True,
        ApplyImmediately=True,
    )["DBCluster"]
    assert answer["Status"] == "upgrading"
    assert (
        rds.describe_db_clusters(DBClusterIdentifier=source)["DBClusters"][0]["Status"]
        == "upgrading"
    )
    assert wait_cluster(rds, source)["EngineVersion"] == "13.8"


def test_a_serverless_v1_cluster_upgrades_only_to_versions_with_serverless_v1(lab, rds):
    v1 = unique_id("v1")
    rds.create_db_cluster(
        DBClusterIdentifier=v1,
        Engine="aurora-postgresql",
        EngineVersion="11.18",
        EngineMode="serverless",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
        ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 4},
    )
    wait_cluster(rds, v1)
    modify(rds, v1, BackupRetentionPeriod=3)  # no version change: nothing to check
    assert refused(
        rds.modify_db_cluster,
        DBClusterIdentifier=v1,
        EngineVersion="13.20",
        AllowMajorVersionUpgrade=True,
        ApplyImmediately=True,
    )[:2] == (
        "InvalidParameterCombination",
        "Cannot upgrade aurora-postgresql from 11.18 to 13.20",
    )
    assert (
        modify(rds, v1, EngineVersion="13.12", AllowMajorVersionUpgrade=True)["EngineVersion"]
        == "13.12"
    )


@pytest.mark.parametrize(
    ("version", "scaling", "code", "words"),
    [
        (
            "12.22",
            SCALING,
            "InvalidParameterCombination",
            "isn't available for aurora-postgresql 12.22",
        ),
        ("13.12", {"MinCapacity": 0, "MaxCapacity": 4}, "InvalidParameterValue", "automatic pause"),
        (
            "13.12",
            {"MinCapacity": 1, "MaxCapacity": 256},
            "InvalidParameterValue",
            "at most 128 ACUs",
        ),
        (
            "10.21",
            None,
            "InvalidParameterCombination",
            "Cannot find version 10.21 for aurora-postgresql",
        ),
    ],
)
def test_versions_and_scaling_configurations_aws_refuses(rds, version, scaling, code, words):
    cluster_id = unique_id("c")
    params: dict[str, Any] = {"EngineVersion": version}
    if scaling:
        params["ServerlessV2ScalingConfiguration"] = scaling
    found = refused(
        rds.create_db_cluster,
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
        **params,
    )
    assert found[0] == code and words in found[1]
    assert cluster_id not in {
        c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]
    }


def test_a_version_that_can_pause_takes_a_zero_minimum(lab, rds):
    paused = create_cluster(
        rds,
        unique_id("paused"),
        EngineVersion="16.3",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 256},
    )
    assert paused["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0


# -- 4. one change at a time ---------------------------------------------------------------


def test_a_second_change_while_a_cluster_is_busy_is_refused(lab, rds):
    cluster_id = unique_id("busy")
    arn = create_cluster(rds, cluster_id, ServerlessV2ScalingConfiguration=SCALING)["DBClusterArn"]
    instance(rds, f"{cluster_id}-1", cluster_id)
    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id, BackupRetentionPeriod=3, ApplyImmediately=True
    )  # now "modifying"
    state = (
        "InvalidDBClusterStateFault",
        f"DbCluster {cluster_id} is in modifying state but expected it to be one of available.",
        400,
    )
    assert (
        refused(
            rds.modify_db_cluster,
            DBClusterIdentifier=cluster_id,
            BackupRetentionPeriod=4,
            ApplyImmediately=True,
        )
        == state
    )
    assert refused(instance, rds=rds, instance_id=f"{cluster_id}-2", cluster_id=cluster_id) == state
    assert (
        refused(
            rds.create_db_cluster_snapshot,
            DBClusterIdentifier=cluster_id,
            DBClusterSnapshotIdentifier=unique_id("s"),
        )
        == state
    )
    assert refused(rds.failover_db_cluster, DBClusterIdentifier=cluster_id) == state
    assert refused(rds.enable_http_endpoint, ResourceArn=arn) == (
        "InvalidResourceStateFault",
        "The operation can't be performed because another operation is in progress.",
        400,
    )
    assert refused(rds.reboot_db_instance, DBInstanceIdentifier=f"{cluster_id}-1") == (
        "InvalidDBInstanceState",
        f"Instance {cluster_id}-1 is not in available state.",
        400,
    )
    wait_cluster(rds, cluster_id)
    wait_instance(rds, f"{cluster_id}-1")
    assert rds.enable_http_endpoint(ResourceArn=arn)["HttpEndpointEnabled"] is True
    assert (
        rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0][
            "HttpEndpointEnabled"
        ]
        is True
    )
    rds.reboot_db_instance(DBInstanceIdentifier=f"{cluster_id}-1")
    assert refused(
        rds.enable_http_endpoint, ResourceArn=arn.replace(cluster_id, unique_id("nobody"))
    ) == (
        "ResourceNotFoundFault",
        "The specified resource ID was not found.",
        404,
    )


def test_instances_of_a_restore_wait_for_the_cluster_and_of_a_create_need_not(lab, rds):
    created = unique_id("fresh")
    rds.create_db_cluster(
        DBClusterIdentifier=created,
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
        ServerlessV2ScalingConfiguration=SCALING,
    )
    instance(rds, f"{created}-1", created)  # AWS's own CLI examples do this at once
    snap = snapshot_of(rds, created)
    restored = unique_id("restored")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=restored,
        SnapshotIdentifier=snap,
        Engine="aurora-postgresql",
        ServerlessV2ScalingConfiguration=SCALING,
    )
    code, message, _ = refused(instance, rds=rds, instance_id=f"{restored}-1", cluster_id=restored)
    assert code == "InvalidDBClusterStateFault" and "is in creating state" in message
    wait_cluster(rds, restored)
    instance(rds, f"{restored}-1", restored)


# -- 5. failure states ----------------------------------------------------------------------


def test_a_restore_can_end_in_migration_failed_and_be_deleted(lab_knobs, rds):
    lab = lab_knobs
    source = unique_id("src")
    create_cluster(rds, source)
    snap = snapshot_of(rds, source)
    lab.fail_once("RestoreDBClusterFromSnapshot", state="migration-failed")
    failed = unique_id("failed")
    answer = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=failed, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )
    assert answer["DBCluster"]["Status"] == "creating"
    seen = [
        rds.describe_db_clusters(DBClusterIdentifier=failed)["DBClusters"][0]["Status"]
        for _ in range(4)
    ]
    assert seen == ["creating", "migration-failed", "migration-failed", "migration-failed"]
    assert lab.state.server(failed) is None  # no server was started for it
    waiter = rds.get_waiter(
        "db_cluster_available"
    )  # botocore's waiter knows no migration-failed: it times out
    with pytest.raises(botocore.exceptions.WaiterError):
        waiter.wait(DBClusterIdentifier=failed, WaiterConfig={"Delay": 0.05, "MaxAttempts": 3})
    code, message, _ = refused(
        rds.modify_db_cluster,
        DBClusterIdentifier=failed,
        BackupRetentionPeriod=3,
        ApplyImmediately=True,
    )
    assert code == "InvalidDBClusterStateFault" and "migration-failed" in message
    rds.delete_db_cluster(DBClusterIdentifier=failed, SkipFinalSnapshot=True)
    assert (
        rds.describe_db_clusters(DBClusterIdentifier=failed)["DBClusters"][0]["Status"]
        == "deleting"
    )
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier=failed)
    # the rule was used up: the next restore works
    again = restore(rds, snap)["DBClusterIdentifier"]
    assert lab.state.server(again) is not None


def test_an_instance_can_end_in_incompatible_parameters(lab_knobs, rds):
    lab = lab_knobs
    cluster_id = unique_id("inc")
    create_cluster(rds, cluster_id)
    lab.fail_once("CreateDBInstance", state="incompatible-parameters")
    instance(rds, f"{cluster_id}-1", cluster_id, "db.r6g.large")
    waiter = rds.get_waiter("db_instance_available")
    with pytest.raises(botocore.exceptions.WaiterError, match=r"terminal failure state"):
        waiter.wait(
            DBInstanceIdentifier=f"{cluster_id}-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 5}
        )
    found = rds.describe_db_instances(DBInstanceIdentifier=f"{cluster_id}-1")["DBInstances"][0]
    assert found["DBInstanceStatus"] == "incompatible-parameters"
    rds.delete_db_instance(DBInstanceIdentifier=f"{cluster_id}-1", SkipFinalSnapshot=True)


# -- 6. a renamed cluster's DNS ------------------------------------------------------------------


def routes(lab: Any) -> dict[str, str]:
    found: dict[str, str] = json.loads(lab.connect_map_path.read_text())["routes"]
    return found


def test_a_renamed_clusters_new_names_resolve_after_the_knobs_delay(lab_knobs, rds):
    lab = lab_knobs
    lab.set_knobs(rename_dns_delay_s=1.5)
    cluster_id = unique_id("ren")
    old_host = create_cluster(rds, cluster_id)["Endpoint"]
    assert f"{old_host}:5432" in routes(lab)
    renamed = f"{cluster_id}-new"
    started = time.monotonic()  # before the call: the delay starts inside it
    rds.modify_db_cluster(
        DBClusterIdentifier=cluster_id, NewDBClusterIdentifier=renamed, ApplyImmediately=True
    )
    new_host = wait_cluster(rds, renamed)["Endpoint"]
    now = routes(lab)
    assert (
        f"{old_host}:5432" not in now and f"{new_host}:5432" not in now
    )  # the old name goes at once
    while f"{new_host}:5432" not in routes(lab):
        assert time.monotonic() - started < 10, "the new name never appeared"
        time.sleep(0.05)
    assert time.monotonic() - started >= 1.45  # never before the knob's delay
    assert f"{old_host}:5432" not in routes(lab)


# -- 7. default parameter groups --------------------------------------------------------------


def test_clusters_show_their_engine_versions_default_parameter_group(lab, rds, lab_v1):
    v1 = rds.describe_db_clusters(DBClusterIdentifier=lab_v1.cluster_id)["DBClusters"][0]
    assert v1["DBClusterParameterGroup"] == "default.aurora-postgresql13"
    cluster_id = unique_id("pg")
    created = rds.create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        EngineVersion="13.12",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
    )["DBCluster"]
    assert created["DBClusterParameterGroup"] == "default.aurora-postgresql13"
    snap = snapshot_of(rds, cluster_id)
    restored = unique_id("r")
    answer = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=restored,
        SnapshotIdentifier=snap,
        Engine="aurora-postgresql",
        EngineVersion="15.4",
    )["DBCluster"]
    assert answer["DBClusterParameterGroup"] == "default.aurora-postgresql15"
    assert wait_cluster(rds, restored)["DBClusterParameterGroup"] == "default.aurora-postgresql15"


# -- 8. the managed master secret ---------------------------------------------------------------


def secret_status(rds: Any, cluster_id: str) -> str:
    cluster = first(rds.describe_db_clusters(DBClusterIdentifier=cluster_id), "DBClusters")
    return str(cluster["MasterUserSecret"]["SecretStatus"])


def test_the_managed_secret_is_creating_before_active_and_a_restore_of_it_works(lab, rds):
    managed = unique_id("managed")
    answer = rds.create_db_cluster(
        DBClusterIdentifier=managed,
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="boss",
        ManageMasterUserPassword=True,
    )["DBCluster"]
    assert answer["MasterUserSecret"]["SecretStatus"] == "creating"
    assert [secret_status(rds, managed) for _ in range(2)] == ["creating", "active"]
    lab.server_for(managed).psql(
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)", dbname="postgres"
    )

    snap = snapshot_of(rds, managed)  # moto crashes (KeyError) restoring this one
    restored = unique_id("restored")
    cluster = rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=restored, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )["DBCluster"]
    assert "MasterUserSecret" not in cluster  # a restore does not manage the password
    cluster = wait_cluster(rds, restored)
    assert (cluster["MasterUsername"], cluster["EngineVersion"]) == ("boss", "15.4")
    assert lab.server_for(restored).psql("SELECT count(*) FROM t", dbname="postgres").strip() == "2"

    turned_on = rds.modify_db_cluster(
        DBClusterIdentifier=restored, ManageMasterUserPassword=True, ApplyImmediately=True
    )["DBCluster"]
    assert turned_on["MasterUserSecret"]["SecretStatus"] == "creating"
    assert [secret_status(rds, restored) for _ in range(2)] == ["creating", "active"]


# -- 9. KMS keys the caller cannot use -------------------------------------------------------------


def test_a_kms_key_without_access_fails_restore_and_copy(lab, rds):
    source = unique_id("kms")
    create_cluster(rds, source)
    snap = snapshot_of(rds, source)
    denied = (
        "KMSKeyNotAccessibleFault",
        "An error occurred accessing an Amazon Web Services KMS key.",
        400,
    )
    target = unique_id("r")
    assert (
        refused(
            rds.restore_db_cluster_from_snapshot,
            DBClusterIdentifier=target,
            SnapshotIdentifier=snap,
            Engine="aurora-postgresql",
            KmsKeyId="lab-no-access-1",
        )
        == denied
    )
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/lab-no-access-2"
    copy = unique_id("copy")
    assert (
        refused(
            rds.copy_db_cluster_snapshot,
            SourceDBClusterSnapshotIdentifier=snap,
            TargetDBClusterSnapshotIdentifier=copy,
            KmsKeyId=key_arn,
        )
        == denied
    )
    assert target not in {
        c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]
    }
    assert copy not in {
        s["DBClusterSnapshotIdentifier"]
        for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
    }


def test_a_copy_to_another_region_takes_a_key_of_that_region_for_an_encrypted_snapshot(lab, rds):
    """CopyDBClusterSnapshot's KmsKeyId: required for an encrypted snapshot copied to another
    region, a key of that region; refused for an unencrypted snapshot."""
    west = lab.client("rds", region="us-west-2")
    west_key = lab.client("kms", region="us-west-2").create_key()["KeyMetadata"]["Arn"]
    east_key = lab.client("kms").create_key()["KeyMetadata"]["Arn"]
    encrypted, plain = unique_id("enc"), unique_id("plain")
    create_cluster(rds, encrypted, StorageEncrypted=True)
    create_cluster(rds, plain, StorageEncrypted=False)
    described = rds.describe_db_cluster_snapshots(
        DBClusterSnapshotIdentifier=snapshot_of(rds, encrypted)
    )
    arn = first(described, "DBClusterSnapshots")["DBClusterSnapshotArn"]
    plain_snap = snapshot_of(rds, plain)
    west_before = west.describe_db_cluster_snapshots()["DBClusterSnapshots"]

    def west_copy(**params: Any) -> tuple[str, str, int]:
        return refused(
            west.copy_db_cluster_snapshot,
            SourceDBClusterSnapshotIdentifier=arn,
            TargetDBClusterSnapshotIdentifier=unique_id("w"),
            SourceRegion="us-east-1",
            **params,
        )

    code, words, status = west_copy()
    assert (code, status) == ("InvalidParameterCombination", 400) and "needs KmsKeyId" in words
    assert west_copy(KmsKeyId=east_key)[0] == "KMSKeyNotAccessibleFault"  # keys stay home
    code, words, _ = refused(
        rds.copy_db_cluster_snapshot,
        SourceDBClusterSnapshotIdentifier=plain_snap,
        TargetDBClusterSnapshotIdentifier=unique_id("c"),
        KmsKeyId=east_key,
    )
    assert code == "InvalidParameterCombination" and "is not encrypted" in words
    assert west.describe_db_cluster_snapshots()["DBClusterSnapshots"] == west_before

    copy = unique_id("w")
    west.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=arn,
        TargetDBClusterSnapshotIdentifier=copy,
        SourceRegion="us-east-1",
        KmsKeyId=west_key,
    )
    made = wait_snapshot(west, copy)
    assert made["StorageEncrypted"] and made["KmsKeyId"] == west_key
    west.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=copy)


# -- the knobs on the command line --------------------------------------------------------


def test_lab_knobs_sets_the_rename_delay_and_failure_states_and_refuses_unknown_states(lab_knobs):
    from click.testing import CliRunner

    from snapmigrate.cli import AppContext, cli

    def knobs(*args: str) -> Any:
        return CliRunner().invoke(
            cli,
            ["lab", "knobs", "--dir", str(lab_knobs.dir), *args, "-o", "json"],
            obj=AppContext(),
        )

    before = lab_knobs.knobs()
    done = knobs("--fail-into", "CreateDBInstance:migration-failed")
    assert done.exit_code == 2 and "'migration-failed' is no instance failure state" in done.output
    done = knobs("--fail-into", "CreateDBInstance")
    assert done.exit_code == 2 and "give ACTION:STATE" in done.output
    assert lab_knobs.knobs() == before  # nothing changed
    done = knobs(
        "--rename-dns-delay", "90", "--fail-into", "RestoreDBClusterToPointInTime:cloning-failed"
    )
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output)
    assert shown["rename_dns_delay_s"] == 90
    assert [(r["action"], r["state"]) for r in shown["fail"]] == [
        ("RestoreDBClusterToPointInTime", "cloning-failed")
    ]
    assert lab_knobs.knobs().rename_dns_delay_s == 90
