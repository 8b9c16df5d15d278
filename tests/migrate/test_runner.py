"""The runner against moto: a whole migration, what it sent, waiting through
simulated states, idempotence, ownership, the journal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from snapmigrate.errors import BadInput
from snapmigrate.model import TAG_ROLE, TAG_RUN_ID
from snapmigrate.workflow.journal import Journal
from tests.migrate.conftest import (
    RUN_ID,
    Env,
    FakeClock,
    aws_state,
    hooked_clients,
    make_env,
    progress_log,
)


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("TagList", [])}


def test_whole_migration_of_a_v1_pg13_cluster(env: Env):
    clients, hooks = hooked_clients()
    seen, sink = progress_log()
    result = env.runner(clients, progress=sink).start(env.plan)

    assert result.record.state == "done"
    assert [s.state for s in result.record.steps] == ["done", "done", "done", "done", "skipped"]
    rds = env.rds
    cluster = rds.describe_db_clusters(DBClusterIdentifier="fresh")["DBClusters"][0]
    assert cluster["EngineMode"] == "provisioned"
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert cluster["DeletionProtection"] is True and cluster["BackupRetentionPeriod"] == 7
    assert cluster["EnabledCloudwatchLogsExports"] == ["postgresql"]
    assert tags(cluster)[TAG_RUN_ID] == RUN_ID and tags(cluster)[TAG_ROLE] == "target"
    assert tags(cluster)["team"] == "data"  # the source's tags are carried
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["fresh"]}])[
        "DBInstances"
    ]
    assert sorted(i["DBInstanceIdentifier"] for i in instances) == [
        "fresh-reader-1",
        "fresh-reader-2",
        "fresh-writer",
    ]
    assert {i["DBInstanceClass"] for i in instances} == {"db.serverless"}
    assert len({i["AvailabilityZone"] for i in instances}) == 3
    roles = {i["DBInstanceIdentifier"]: tags(i)[TAG_ROLE] for i in instances}
    assert roles == {
        "fresh-writer": "writer",
        "fresh-reader-1": "reader",
        "fresh-reader-2": "reader",
    }
    assert all(tags(i)[TAG_RUN_ID] == RUN_ID for i in instances)
    writer = next(m for m in cluster["DBClusterMembers"] if m["IsClusterWriter"])
    assert writer["DBInstanceIdentifier"] == "fresh-writer"
    snap = rds.describe_db_cluster_snapshots(
        DBClusterSnapshotIdentifier=f"fresh-snapmigrate-{RUN_ID}"
    )["DBClusterSnapshots"][0]
    assert snap["DBClusterIdentifier"] == "legacy" and tags(snap)[TAG_ROLE] == "snapshot"

    # moto is instant: the hooks made each resource pass through real states, and we waited
    assert hooks.seen_statuses[f"snapshot:fresh-snapmigrate-{RUN_ID}"][:3] == ["creating"] * 3
    assert hooks.seen_statuses["cluster:fresh"][:3] == ["creating", "creating", "backing-up"]
    assert hooks.seen_statuses["instance:fresh-writer"][:3] == [
        "creating",
        "creating",
        "configuring-enhanced-monitoring",
    ]
    assert (f"fresh-snapmigrate-{RUN_ID}", "creating 33%") in seen  # PercentProgress drives the bar
    snapshot_wait = result.record.step("snapshot").waits[0]
    assert snapshot_wait["polls"] == 4 and snapshot_wait["api_calls"] == 4
    instance_wait = result.record.step("instances").waits[0]
    assert instance_wait["final"] == {
        "fresh-writer": "available",
        "fresh-reader-1": "available",
        "fresh-reader-2": "available",
    }
    # one describe per poll covers every instance: waited together
    assert instance_wait["api_calls"] == instance_wait["polls"]


def test_restore_sends_every_carried_setting_explicitly(rds, tmp_path):
    """moto drops falsy overrides; we assert what we sent, as botocore names it."""
    from tests import seed

    seed.v1_cluster(rds, DeletionProtection=False, BackupRetentionPeriod=3)
    env = make_env(
        rds,
        tmp_path,
        readers=1,
        kms_key_id="alias/copy",
        engine_lifecycle_support="open-source-rds-extended-support-disabled",
    )
    clients, hooks = hooked_clients(simulate=False)
    env.runner(clients).start(env.plan)
    (sent,) = hooks.sent("RestoreDBClusterFromSnapshot")
    assert sent["SnapshotIdentifier"] == f"fresh-snapmigrate-{RUN_ID}"  # an id, not an ARN
    assert sent["EngineMode"] == "provisioned"
    assert sent["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert sent["DeletionProtection"] is False  # sent even though falsy
    assert sent["BackupRetentionPeriod"] == 3
    assert sent["EnableIAMDatabaseAuthentication"] is False
    assert sent["KmsKeyId"] == "alias/copy"
    assert sent["EngineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    assert sent["EnableCloudwatchLogsExports"] == ["postgresql"]
    assert "ScalingConfiguration" not in sent
    assert {"Key": TAG_RUN_ID, "Value": RUN_ID} in sent["Tags"] and {
        "Key": TAG_ROLE,
        "Value": "target",
    } in sent["Tags"]
    import botocore.session

    model = botocore.session.get_session().get_service_model("rds")
    for op, params in hooks.calls:
        allowed = set(model.operation_model(op).input_shape.members)
        assert set(params) <= allowed, (op, set(params) - allowed)
    writer = hooks.sent("CreateDBInstance")[0]
    assert writer["DBInstanceIdentifier"] == "fresh-writer" and writer["PromotionTier"] == 0
    assert hooks.sent("CreateDBInstance")[1]["PromotionTier"] == 1


def test_the_source_is_only_read(env: Env):
    clients, hooks = hooked_clients()
    env.runner(clients).start(env.plan)
    naming_source = [
        (op, p)
        for op, p in hooks.mutating
        if "legacy" in json.dumps(p) and op != "CreateDBClusterSnapshot"
    ]
    assert naming_source == []
    (snap,) = hooks.sent("CreateDBClusterSnapshot")
    assert snap["DBClusterIdentifier"] == "legacy"
    before = env.rds.describe_db_clusters(DBClusterIdentifier="legacy")["DBClusters"][0]
    assert before["EngineMode"] == "serverless" and before["Status"] == "available"


def test_a_second_run_changes_nothing(env: Env):
    clients, _ = hooked_clients()
    env.runner(clients).start(env.plan)
    state = aws_state(env.rds)
    clients, hooks = hooked_clients()
    again = env.runner(clients).resume(RUN_ID)
    assert again.record.state == "done"
    assert hooks.mutating == []
    assert aws_state(env.rds) == state
    # and starting the same plan again adopts the run instead of creating anything
    clients, hooks = hooked_clients()
    adopted = env.runner(clients).start(env.plan)
    assert adopted.run_id == RUN_ID and hooks.mutating == []


def test_journal_is_written_atomically_and_holds_no_secret(env: Env):
    from tests import seed

    clients, _ = hooked_clients()
    env.runner(clients).start(env.plan)
    path = env.state_dir / f"{RUN_ID}.json"
    text = path.read_text()
    data = json.loads(text)
    assert data["run_id"] == RUN_ID and data["state"] == "done"
    assert [s["name"] for s in data["steps"]] == [
        "snapshot",
        "restore",
        "instances",
        "settings",
        "verify",
    ]
    assert all({"name", "state", "started", "finished"} <= set(s) for s in data["steps"])
    assert data["steps"][1]["resources"] == {"cluster": "fresh"}
    assert seed.PASSWORD not in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not list(env.state_dir.glob("*.tmp"))


def test_verify_is_skipped_never_passed_without_a_verifier(env: Env):
    from snapmigrate.migrate.context import RunSettings

    clients, _ = hooked_clients()
    # with connect on, the instances probe needs a server: skip it with a tiny probe via settings
    result = env.runner(clients, settings=RunSettings(connect=False)).start(env.plan)
    verify = result.record.step("verify")
    assert verify.state == "skipped"
    assert verify.outcome.startswith("skipped:")
    assert verify.details["equal"] is None


def test_a_foreign_cluster_with_the_target_name_is_refused_before_any_change(env: Env):
    from tests import seed

    seed.provisioned_cluster(env.rds, identifier="fresh")  # appeared after the plan was made
    before = aws_state(env.rds)
    clients, hooks = hooked_clients()
    with pytest.raises(BadInput, match="taken by a cluster snapmigrate did not create"):
        env.runner(clients).start(env.plan)
    assert hooks.mutating == []
    assert aws_state(env.rds) == before
    assert not Journal(env.state_dir).runs()


def test_a_resource_with_our_name_but_another_runs_tag_is_never_touched(env: Env):
    """A snapshot named like ours but tagged by another run: refuse, exit 2."""
    env.rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier=f"fresh-snapmigrate-{RUN_ID}",
        DBClusterIdentifier="legacy",
        Tags=[{"Key": TAG_RUN_ID, "Value": "12345678"}],
    )
    clients, hooks = hooked_clients()
    with pytest.raises(BadInput, match="belongs to snapmigrate run 12345678") as err:
        env.runner(clients).start(env.plan)
    assert err.value.exit_code == 2
    assert hooks.mutating == []


def test_lost_journal_adopts_the_run_that_created_the_target(env: Env):
    import shutil

    clients, _ = hooked_clients()
    env.runner(clients).start(env.plan)
    state = aws_state(env.rds)
    shutil.rmtree(env.state_dir)
    clients, hooks = hooked_clients()
    runner = env.runner(clients, run_ids=lambda: "99999999")
    result = runner.start(env.plan)
    assert result.adopted and result.run_id == RUN_ID
    assert any("adopted run" in e["message"] for e in result.record.events)
    # the rebuilt journal names what the run stands for, from AWS and the plan
    assert result.record.step("instances").resources == {
        "writer": "fresh-writer",
        "reader-1": "fresh-reader-1",
        "reader-2": "fresh-reader-2",
    }
    assert result.record.step("snapshot").resources == {"snapshot": f"fresh-snapmigrate-{RUN_ID}"}
    assert hooks.mutating == []
    assert aws_state(env.rds) == state


def test_an_unfinished_run_for_the_same_target_must_be_resumed(env: Env):
    from tests.migrate.conftest import Crash

    clients, hooks = hooked_clients()
    hooks.crash_at("after", "CreateDBClusterSnapshot", 1)
    with pytest.raises(Crash):
        env.runner(clients).start(env.plan)
    clients, hooks = hooked_clients()
    with pytest.raises(BadInput, match=f"--resume {RUN_ID}"):
        env.runner(clients, run_ids=lambda: "11111111").start(env.plan)
    assert hooks.mutating == []


def test_waits_back_off_and_the_fake_clock_never_sleeps_for_real(env: Env):
    clients, _hooks = hooked_clients(polls=6)
    clock = FakeClock()
    result = env.runner(clients, clock=clock).start(env.plan)
    assert result.record.state == "done"
    snapshot_sleeps = clock.sleeps[:6]
    # doubling from 5 s, capped at 60 s, jittered down by at most 25 %
    for n, slept in enumerate(snapshot_sleeps):
        nominal = min(5 * 2**n, 60)
        assert 0.75 * nominal <= slept <= nominal
    assert clock.now > 60
