"""Waiting through what AWS does and moto does not: throttling and 5xx, slow
states, failed states, timeouts, Ctrl-C; the settings restore cannot take;
the major-upgrade path with its provisioned bridge writer."""

from __future__ import annotations

import pytest

from snapmigrate.errors import Interrupted, OperationFailed, WaitTimeout
from snapmigrate.migrate.context import RunSettings
from snapmigrate.workflow.journal import Journal
from tests import seed
from tests.migrate.conftest import RUN_ID, Env, aws_state, hooked_clients, make_env


def test_thirty_percent_throttling_and_5xx_still_completes(world, tmp_path):
    import boto3

    rds = boto3.client("rds", region_name="us-east-1")
    env = make_env(rds, tmp_path)
    clients, _ = hooked_clients()
    env.runner(clients).start(env.plan)
    expected = aws_state(rds)
    # the same migration on a fresh account, with botocore's own retries off
    world.reset()
    seed.v1_cluster(rds)
    env.state_dir = env.state_dir.with_name("state-throttled")
    clients, hooks = hooked_clients(max_attempts=1)
    hooks.throttle_rate = 0.3
    result = env.runner(clients, settings=RunSettings(connect=False)).start(env.plan)
    assert result.record.state == "done"
    assert hooks.throttled >= 10
    assert aws_state(rds) == expected
    in_waits = sum(w["transient_errors"] for s in result.record.steps for w in s.waits)
    in_steps = sum(s.transient_errors for s in result.record.steps)
    assert (
        0 < in_waits < in_steps == hooks.throttled
    )  # every injected error was ridden out, and counted
    created = [
        "CreateDBClusterSnapshot",
        "RestoreDBClusterFromSnapshot",
        "CreateDBInstance",
        "CreateDBInstance",
        "CreateDBInstance",
    ]
    assert sorted(hooks.executed) == sorted(created)
    assert sorted(hooks.requested) == sorted(created)  # a throttled create never reached AWS


def test_throttling_that_never_stops_fails_with_exit_1_and_a_resumable_journal(env: Env):
    clients, hooks = hooked_clients(max_attempts=1)

    def from_the_snapshot_on(kind: str, step: str) -> None:
        if (kind, step) == ("step-started", "snapshot"):
            hooks.throttle_rate = 1.0

    with pytest.raises(OperationFailed) as err:
        env.runner(clients, on_event=from_the_snapshot_on).start(env.plan)
    assert err.value.exit_code == 1
    assert "throttl" in str(err.value).lower() or "ServiceUnavailable" in str(err.value)
    assert f"--resume {RUN_ID}" in str(err.value)
    record = Journal(env.state_dir).load(RUN_ID)
    assert record.state == "failed" and record.step("snapshot").state == "failed"
    hooks.throttle_rate = 0.0
    assert env.runner(clients).resume(RUN_ID).record.state == "done"


def test_a_snapshot_that_fails_in_aws_fails_the_run(env: Env):
    clients, hooks = hooked_clients(polls=2)
    original = hooks._transitions

    def failing(op, params, parsed):
        original(op, params, parsed)
        if op == "CreateDBClusterSnapshot":
            hooks.pending["snapshot:" + params["DBClusterSnapshotIdentifier"]].statuses[-1] = (
                "failed"
            )

    hooks._transitions = failing  # type: ignore[method-assign]
    with pytest.raises(OperationFailed, match="the snapshot will not become available"):
        env.runner(clients).start(env.plan)
    assert Journal(env.state_dir).load(RUN_ID).step("snapshot").state == "failed"


def test_a_wait_that_outlasts_its_timeout_says_so(env: Env):
    clients, _ = hooked_clients(polls=50)
    runner = env.runner(clients, settings=RunSettings(connect=False, timeouts={"restore": 120}))
    with pytest.raises(WaitTimeout) as err:
        runner.start(env.plan)
    text = str(err.value)
    assert "cluster fresh not done after 2m00s" in text and "fresh creating" in text
    assert "--timeout-minutes" in text and f"--resume {RUN_ID}" in text
    assert err.value.exit_code == 1
    record = Journal(env.state_dir).load(RUN_ID)
    assert (record.state, record.step("restore").state) == ("failed", "failed")
    assert record.step("snapshot").state == "done"


def test_ctrl_c_inside_a_wait_stops_cleanly_and_resumes(env: Env):
    clients, hooks = hooked_clients()
    hooks.crash_at("after", "DescribeDBClusters", 4, KeyboardInterrupt())
    with pytest.raises(Interrupted) as err:
        env.runner(clients).start(env.plan)
    assert err.value.exit_code == 130
    assert f"snapmigrate migrate --resume {RUN_ID}" in str(err.value)
    record = Journal(env.state_dir).load(RUN_ID)
    assert record.state == "interrupted"
    assert record.step("restore").state == "interrupted"
    assert record.error == "interrupted by the user"
    hooks.reset(aws=False)
    result = env.runner(clients).resume(RUN_ID)
    assert result.record.state == "done"
    assert hooks.sent("RestoreDBClusterFromSnapshot") == []  # not requested twice


def test_settings_restore_cannot_take(rds, tmp_path):
    seed.v1_cluster(rds)
    planning, planning_hooks = hooked_clients()
    planning_hooks.overlay["legacy"] = {"HttpEndpointEnabled": True}  # moto does not keep it
    env = make_env(
        rds,
        tmp_path,
        readers=0,
        clients=planning,
        manage_master_user_password=True,
        performance_insights=True,
    )
    assert env.plan.steps[3].inputs.to_dict() == {
        "cluster_id": "fresh",
        "enable_http_endpoint": True,
        "manage_master_user_password": True,
        "performance_insights": True,
    }
    clients, hooks = hooked_clients()
    hooks.fake["EnableHttpEndpoint"] = lambda params: {
        "ResourceArn": params["ResourceArn"],
        "HttpEndpointEnabled": True,
    }
    result = env.runner(clients).start(env.plan)
    (modify,) = hooks.sent("ModifyDBCluster")
    assert modify == {
        "DBClusterIdentifier": "fresh",
        "ApplyImmediately": True,
        "ManageMasterUserPassword": True,
        "EnablePerformanceInsights": True,
    }
    (enable,) = hooks.sent("EnableHttpEndpoint")
    assert enable["ResourceArn"].endswith(":cluster:fresh")
    settings = result.record.step("settings")
    assert settings.state == "done"
    assert settings.details["data_api"] is True and settings.details["performance_insights"] is True
    assert settings.details["master_user_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert "modifying" in hooks.seen_statuses["cluster:fresh"]
    assert settings.waits[0]["polls"] >= 3
    # done is read from AWS: a second pass changes nothing
    hooks.reset(aws=False)
    env.runner(clients).resume(RUN_ID)
    assert hooks.mutating == []


def test_a_major_upgrade_goes_through_a_provisioned_bridge_writer(rds, tmp_path):
    env = make_env(rds, tmp_path, version="11.21", readers=1)
    clients, hooks = hooked_clients()
    result = env.runner(clients).start(env.plan)
    assert [s.name for s in result.record.steps] == [
        "snapshot",
        "restore",
        "upgrade",
        "instances",
        "settings",
        "verify",
    ]
    (restore,) = hooks.sent("RestoreDBClusterFromSnapshot")
    # 11 has no Serverless v2: the restore carries no range (AWS refuses one there)
    assert restore["EngineVersion"] == "11.21"
    assert "ServerlessV2ScalingConfiguration" not in restore
    upgrade, scaling = hooks.sent("ModifyDBCluster")
    assert (
        upgrade["AllowMajorVersionUpgrade"] is True
        and upgrade["EngineVersion"] == env.plan.target.engine_version
    )
    assert scaling["ServerlessV2ScalingConfiguration"] == env.plan.target.scaling.to_api()
    creates = hooks.sent("CreateDBInstance")
    assert [(c["DBInstanceIdentifier"], c["DBInstanceClass"]) for c in creates] == [
        ("fresh-bridge", "db.r6g.large"),
        ("fresh-writer", "db.serverless"),
        ("fresh-reader-1", "db.serverless"),
    ]
    # AWS's order: upgrade, provisioned first instance, range, db.serverless, failover, bridge out
    def what(op: str, params: dict) -> str:
        if "AllowMajorVersionUpgrade" in params:
            return "upgrade"
        if "ServerlessV2ScalingConfiguration" in params:
            return "range"
        return params.get("DBInstanceIdentifier", "")

    order = [(op, what(op, p)) for op, p in hooks.mutating if op != "CreateDBClusterSnapshot"]
    assert order == [
        ("RestoreDBClusterFromSnapshot", ""),
        ("ModifyDBCluster", "upgrade"),
        ("CreateDBInstance", "fresh-bridge"),
        ("ModifyDBCluster", "range"),
        ("CreateDBInstance", "fresh-writer"),
        ("CreateDBInstance", "fresh-reader-1"),
        ("FailoverDBCluster", ""),
        ("DeleteDBInstance", "fresh-bridge"),
    ]
    assert hooks.sent("FailoverDBCluster")[0]["TargetDBInstanceIdentifier"] == "fresh-writer"
    assert hooks.sent("DeleteDBInstance") == [{"DBInstanceIdentifier": "fresh-bridge"}]
    state = aws_state(rds)
    assert state["clusters"]["fresh"]["writer"] == ["fresh-writer"]
    assert state["clusters"]["fresh"]["version"] == env.plan.target.engine_version
    assert "fresh-bridge" not in state["instances"]
