"""The migration does what AWS documents, against the lab, which refuses what AWS
refuses (issue #10): the PostgreSQL 11 path in AWS's order, upgrade targets from
DescribeDBEngineVersions, failure states that end a wait at once, one change at
a time, the managed secret, the Extended Support opt-out, KMS and Data API
errors told apart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate import commands
from snapmigrate.aws import Aws, rds
from snapmigrate.aws.call import StateWait
from snapmigrate.cli import cli
from snapmigrate.commands import Config
from snapmigrate.errors import NotFound, OperationFailed
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.runner import Runner
from snapmigrate.model import Plan
from snapmigrate.plan import facts, make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from tests.lab.conftest import PASSWORD, create_cluster, wait_cluster, wait_instance
from tests.lab_fixtures import need_majors, unique_id

pytestmark = pytest.mark.slow


def settings(lab: Any, *, connect: bool = True, **kw: Any) -> RunSettings:
    return RunSettings(
        connect=connect,
        connect_map=str(lab.connect_map_path),
        first_delay_s=0.1,
        max_delay_s=0.5,
        **kw,
    )


def runner(lab: Any, tmp_path: Path, **kw: Any) -> Runner:
    return Runner(lab.clients(), Journal(tmp_path / "state"), settings=settings(lab, **kw))


def plan(lab: Any, source: str, **options: Any) -> Plan:
    wait_cluster(lab.client("rds"), source)  # an earlier test's snapshot may still be backing up
    made = make_plan(lab.clients(), source, PlanOptions(target=unique_id("t"), **options))
    assert not made.blocked, [f for f in made.findings if f.level == "block"]
    return made


def findings(made: Plan) -> dict[str, Any]:
    return {f.code: f for f in made.findings}


def v1_pg11(lab: Any) -> str:
    """An Aurora Serverless v1 cluster on aurora-postgresql 11.18 with a table."""
    need_majors(11)
    source = unique_id("pg11")
    create_cluster(
        lab.client("rds"),
        source,
        EngineVersion="11.18",
        EngineMode="serverless",
        ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 8, "AutoPause": False},
        StorageEncrypted=True,
        DatabaseName="app",
    )
    lab.server_for(source).psql(
        "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
        "FROM generate_series(1, 500) g",
        dbname="app",
    )
    return source


# -- 2, 3: the PostgreSQL 11 path, its target from AWS ----------------------------------


def test_a_pg11_v1_cluster_moves_in_awss_order_to_a_version_aws_offers(lab, lab_env, tmp_path):
    source = v1_pg11(lab)
    made = plan(lab, source)
    found = findings(made)
    # the target is the newest major in standard support among 11.18's ValidUpgradeTarget
    catalog = lab.client("rds").describe_db_engine_versions(
        Engine="aurora-postgresql", EngineVersion="11.18"
    )["DBEngineVersions"][0]
    offered = {t["EngineVersion"] for t in catalog["ValidUpgradeTarget"]}
    assert made.target.engine_version in offered
    assert (
        "ValidUpgradeTarget of 11.18 (DescribeDBEngineVersions)" in found["upgrade-target"].message
    )
    assert found["engine-facts"].level == "ok"
    assert "without a Serverless v2 range" in found["major-upgrade"].message
    assert [s.name for s in made.steps] == [
        "snapshot", "restore", "upgrade", "instances", "settings", "verify",
    ]  # fmt: skip
    restore = made.steps[1].inputs.to_dict()
    assert restore["engine_version"] == "11.18" and restore["serverless_v2_scaling"] == {}

    # the lab refuses a Serverless v2 range on 11 and a db.serverless first instance
    # after a major upgrade by restore: a run that completes did it in AWS's order
    result = runner(lab, tmp_path).start(made)
    assert result.record.state == "done", result.record.error
    client = lab.client("rds")
    target = made.target.identifier
    cluster = client.describe_db_clusters(DBClusterIdentifier=target)["DBClusters"][0]
    assert cluster["EngineVersion"] == made.target.engine_version
    assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8
    instances = rds.instances_of(lab.clients(), target)
    assert {i: x["DBInstanceClass"] for i, x in instances.items()} == {
        f"{target}-writer": "db.serverless"
    }
    assert rds.writer_of(cluster) == f"{target}-writer"
    assert result.record.step("verify").details["equal"] is True
    assert (
        lab.server_for(target)
        .psql("SHOW server_version", dbname="app")
        .startswith(made.target.engine_version.split(".")[0])
    )


def test_a_version_aws_does_not_offer_is_refused_before_anything_changes(lab, lab_env):
    need_majors(11)
    source = unique_id("pg1117")
    create_cluster(lab.client("rds"), source, EngineVersion="11.17")
    result = CliRunner().invoke(
        cli, ["plan", source, "--target", unique_id("t"), "--engine-version", "13.7"]
    )
    assert result.exit_code == 2, result.output
    assert "Cannot upgrade aurora-postgresql from 11.17 to 13.7" in result.output
    assert "13.23" in result.output  # the newest of each major AWS offers instead
    fine = CliRunner().invoke(
        cli, ["plan", source, "--target", unique_id("t"), "--engine-version", "13.8"]
    )
    assert fine.exit_code == 0, fine.output


# -- 5: failure states end the wait at once ---------------------------------------------


def test_a_restore_ending_migration_failed_fails_at_once_and_is_cleaned_up(
    lab_knobs, lab_env, lab_v1, tmp_path
):
    made = plan(lab_knobs, lab_v1.cluster_id)
    lab_knobs.fail_once("RestoreDBClusterFromSnapshot", state="migration-failed")
    started = time.monotonic()
    with pytest.raises(OperationFailed) as err:
        runner(lab_knobs, tmp_path, connect=False).start(made)
    assert time.monotonic() - started < 60  # not the 8 h restore timeout
    assert "migration-failed: A migration failed." in str(err.value)
    record = Journal(tmp_path / "state").runs()[0]
    # resuming would wait in vain: the way out is a cleanup
    assert f"snapmigrate cleanup {record.run_id}' and start again" in str(err.value)
    assert record.step("restore").state == "failed"
    done = commands.cleanup(
        Config.from_options(state_dir=str(tmp_path / "state"), clients=lab_knobs.clients()),
        record.run_id,
    )
    assert done.final_snapshot is None  # a failed restore holds nothing to keep
    assert "no final snapshot: it is migration-failed" in str(done.to_dict())
    assert rds.find_cluster(lab_knobs.clients(), made.target.identifier) is None


def test_an_instance_ending_insufficient_capacity_fails_at_once(
    lab_knobs, lab_env, lab_v1, tmp_path
):
    made = plan(lab_knobs, lab_v1.cluster_id)
    lab_knobs.fail_once("CreateDBInstance", state="insufficient-capacity")
    with pytest.raises(OperationFailed, match="insufficient-capacity: Amazon RDS can't create"):
        runner(lab_knobs, tmp_path, connect=False).start(made)
    record = Journal(tmp_path / "state").runs()[0]
    assert record.step("instances").state == "failed"
    runner(lab_knobs, tmp_path).cleanup(record.run_id)


# -- 4, 6: one change at a time; the managed secret ----------------------------------------


def test_a_change_refused_while_the_cluster_is_busy_waits_and_retries(lab_knobs):
    rds_client = lab_knobs.client("rds")
    cluster_id = unique_id("busy")
    arn = create_cluster(rds_client, cluster_id)["DBClusterArn"]
    lab_knobs.set_knobs(delay_polls=4)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    aws = Aws(
        lab_knobs.clients(),
        sleep=sleep,
        state_wait=StateWait(max_wait_s=30, first_delay_s=0.05, max_delay_s=0.2),
    )
    aws.call(
        "modify",
        aws.rds().modify_db_cluster,
        DBClusterIdentifier=cluster_id,
        BackupRetentionPeriod=3,
        ApplyImmediately=True,
    )
    # at once: the lab answers InvalidResourceStateFault (the cluster is modifying)
    aws.call("enable the Data API", aws.rds().enable_http_endpoint, ResourceArn=arn)
    assert slept, "the call went through without meeting the busy cluster"
    assert wait_cluster(rds_client, cluster_id)["HttpEndpointEnabled"] is True
    # EnableHttpEndpoint of no cluster: AWS's ResourceNotFoundFault is a not-found (exit 2)
    with pytest.raises(NotFound):
        aws.call(
            "enable the Data API",
            aws.rds().enable_http_endpoint,
            ResourceArn=arn.replace(cluster_id, "no-such-cluster"),
        )


def test_settings_wait_for_the_cluster_and_for_the_secret_to_be_active(
    lab_knobs, lab_env, tmp_path
):
    client = lab_knobs.client("rds")
    source = unique_id("managed")
    create_cluster(client, source, EngineVersion="15.4")
    client.create_db_instance(
        DBInstanceIdentifier=f"{source}-1",
        DBClusterIdentifier=source,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    wait_instance(client, f"{source}-1")
    arn = wait_cluster(client, source)["DBClusterArn"]
    client.enable_http_endpoint(ResourceArn=arn)
    made = plan(lab_knobs, source, manage_master_user_password=True)
    warned = findings(made)["master-password"]
    assert warned.level == "warn" and "NEW password in a NEW secret" in warned.message
    lab_knobs.set_knobs(delay_polls=3)
    result = runner(lab_knobs, tmp_path, connect=False).start(made)
    assert result.record.state == "done", result.record.error
    step = result.record.step("settings")
    assert step.outcome == "turned on: data-api, managed-password"
    target = wait_cluster(client, made.target.identifier)
    assert target["HttpEndpointEnabled"] is True
    assert target["MasterUserSecret"]["SecretStatus"] == "active"
    assert step.details["master_user_secret_arn"] == target["MasterUserSecret"]["SecretArn"]
    # it waited for the cluster between the two changes, and for the secret
    assert len(step.waits) == 2
    assert PASSWORD not in (tmp_path / "state").joinpath(f"{result.run_id}.json").read_text()


# -- 7, 12: Extended Support opt-out; KMS errors are not "not found" --------------------------


def test_with_extended_support_opted_out_the_restore_lands_on_the_snapshots_major(
    lab, lab_env, lab_v1, tmp_path
):
    made = plan(lab, lab_v1.cluster_id, engine_lifecycle_support=facts.EXTENDED_SUPPORT_DISABLED)
    said = findings(made)["extended-support"].message
    assert "the restore completes on 13.12" in said and "maintenance window" in said
    result = runner(lab, tmp_path, connect=False).start(made)
    assert result.record.state == "done", result.record.error
    # what AWS reports is what the run records
    assert result.record.step("restore").details["engine_version"] == "13.12"
    cluster = wait_cluster(lab.client("rds"), made.target.identifier)
    assert cluster["EngineVersion"] == "13.12"
    runner(lab, tmp_path).cleanup(result.run_id)


def test_a_kms_key_the_caller_cannot_use_is_an_access_error_not_a_missing_cluster(
    lab, lab_env, lab_v1, tmp_path
):
    made = plan(lab, lab_v1.cluster_id, kms_key_id="lab-no-access-key")
    with pytest.raises(OperationFailed) as err:
        runner(lab, tmp_path, connect=False).start(made)
    assert not isinstance(err.value, NotFound) and err.value.exit_code == 1
    assert "could not use the KMS key (KMSKeyNotAccessibleFault" in str(err.value)
    assert rds.find_cluster(lab.clients(), made.target.identifier) is None
    record = Journal(tmp_path / "state").runs()[0]
    runner(lab, tmp_path).cleanup(record.run_id)
