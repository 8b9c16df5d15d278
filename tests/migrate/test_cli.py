"""``migrate``, ``status``, ``cleanup`` and ``permissions`` through the CLI (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate.workflow.journal import Journal
from tests import seed
from tests.migrate.conftest import aws_state, hooked_clients


def invoke(args: list[str], *, hooks_out: list | None = None, setup=None) -> Any:
    clients, hooks = hooked_clients(simulate=False)
    if setup:
        setup(hooks)
    if hooks_out is not None:
        hooks_out.append(hooks)
    return CliRunner().invoke(cli, args, obj=AppContext(_clients=clients))


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state")


@pytest.fixture
def legacy(rds) -> Any:
    seed.v1_cluster(rds)
    return rds


def migrate_args(state: str, *extra: str) -> list[str]:
    return [
        "migrate",
        "legacy",
        "--target",
        "fresh",
        "--readers",
        "1",
        "--state-dir",
        state,
        "--no-connect",
        *extra,
    ]


def the_run(state: str) -> str:
    (run,) = Journal(state).runs()
    return run.run_id


def test_migrate_then_status(legacy, state):
    result = invoke(migrate_args(state, "--yes"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Plan: legacy" in out and "Steps" in out  # the plan first
    run_id = the_run(state)
    assert f"Run {run_id}: legacy -> fresh  state done" in out
    assert "NOT VERIFIED (skipped: --no-connect" in out
    assert "snapmigrate verify --source legacy --target fresh" in out

    listed = invoke(["status", "--state-dir", state])
    assert listed.exit_code == 0 and run_id in listed.output and "done" in listed.output
    shown = invoke(["status", run_id, "--state-dir", state, "-o", "json"])
    data = json.loads(shown.stdout)
    assert data == json.loads((Path(state) / f"{run_id}.json").read_text())
    listing = json.loads(invoke(["status", "--state-dir", state, "-o", "json"]).stdout)
    assert listing["runs"][0]["run_id"] == run_id and listing["runs"][0]["state"] == "done"


def test_migrate_json_follows_the_contract(legacy, state):
    result = invoke(migrate_args(state, "--yes", "-o", "json"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # one JSON document on stdout; the plan went to stderr
    assert data["state"] == "done" and len(data["run_id"]) == 8
    assert [s["name"] for s in data["steps"]] == [
        "snapshot",
        "restore",
        "instances",
        "settings",
        "verify",
    ]
    for step in data["steps"]:
        assert {"name", "state", "started", "finished"} <= set(step)
    assert data["steps"][2]["resources"] == {"writer": "fresh-writer", "reader-1": "fresh-reader-1"}
    assert "Plan: legacy" in result.stderr


def test_without_a_terminal_and_without_yes_nothing_happens(legacy, state):
    hooks: list = []
    result = invoke(migrate_args(state), hooks_out=hooks)
    assert result.exit_code == 2
    assert "no terminal to ask on: pass --yes; nothing was changed" in result.output
    assert hooks[0].mutating == []
    assert not Path(state).exists() or not Journal(state).runs()


def test_a_target_name_taken_by_something_else_exits_2_and_changes_nothing(legacy, state):
    seed.provisioned_cluster(legacy, identifier="fresh")
    before = aws_state(legacy)
    hooks: list = []
    result = invoke(migrate_args(state, "--yes"), hooks_out=hooks)
    assert result.exit_code == 2
    assert "not created by snapmigrate" in result.output
    assert hooks[0].mutating == [] and aws_state(legacy) == before


def test_a_plan_file_gone_stale_is_checked_again_before_any_change(legacy, state, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert (
        invoke(["plan", "legacy", "--target", "fresh", "--plan-file", str(plan_file)]).exit_code
        == 0
    )
    seed.provisioned_cluster(legacy, identifier="fresh")  # the name is taken after planning
    before = aws_state(legacy)
    hooks: list = []
    result = invoke(
        ["migrate", "--plan-file", str(plan_file), "--yes", "--no-connect", "--state-dir", state],
        hooks_out=hooks,
    )
    assert result.exit_code == 2, result.output
    assert "name fresh is taken by a cluster snapmigrate did not create" in result.output
    assert hooks[0].mutating == [] and aws_state(legacy) == before


def test_a_plan_file_is_applied_as_written(legacy, state, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert (
        invoke(
            ["plan", "legacy", "--target", "fresh", "--readers", "2", "--plan-file", str(plan_file)]
        ).exit_code
        == 0
    )
    result = invoke(
        ["migrate", "--plan-file", str(plan_file), "--yes", "--no-connect", "--state-dir", state]
    )
    assert result.exit_code == 0, result.output
    assert len(aws_state(legacy)["instances"]) == 3


def test_blocked_plan_exits_4(rds, state):
    seed.mysql_cluster(rds)
    hooks: list = []
    result = invoke(
        ["migrate", "mysql1", "--target", "fresh", "--yes", "--state-dir", state], hooks_out=hooks
    )
    assert result.exit_code == 4 and hooks[0].mutating == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["migrate", "--yes"], "give SOURCE and --target"),
        (["migrate", "--resume", "nothex!"], "8 lowercase hex"),
        (["migrate", "--resume", "0000aaaa"], "no run 0000aaaa"),
        (["migrate", "--plan-file", "/nonexistent/plan.json", "--yes"], "does not exist"),
        (["migrate", "legacy", "--target", "fresh", "--step-timeout", "bogus=5"], "STEP=MINUTES"),
        (["migrate", "legacy", "--target", "fresh", "--timeout-minutes", "0"], "0"),
        (
            [
                "migrate",
                "legacy",
                "--target",
                "fresh",
                "--connect-map",
                "/nonexistent/map.json",
                "--yes",
            ],
            "connect map",
        ),
        (["status", "0000aaaa"], "no run 0000aaaa"),
        (["cleanup", "0000aaaa", "--yes"], "no run 0000aaaa"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_change(legacy, state, args, message):
    hooks: list = []
    result = invoke([*args, "--state-dir", state], hooks_out=hooks)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert hooks[0].mutating == []


def test_plan_file_and_plan_options_do_not_mix(legacy, state, tmp_path):
    plan_file = tmp_path / "plan.json"
    invoke(["plan", "legacy", "--target", "fresh", "--plan-file", str(plan_file)])
    result = invoke(
        ["migrate", "--plan-file", str(plan_file), "--readers", "3", "--yes", "--state-dir", state]
    )
    assert result.exit_code == 2 and "drop --readers" in result.output
    result = invoke(
        ["migrate", "other", "--plan-file", str(plan_file), "--yes", "--state-dir", state]
    )
    assert result.exit_code == 2 and "SOURCE other does not match" in result.output


def test_ctrl_c_exits_130_and_resume_finishes(legacy, state):
    def interrupt(hooks):
        hooks.crash_at("before", "CreateDBInstance", 1, KeyboardInterrupt())

    result = invoke(migrate_args(state, "--yes"), setup=interrupt)
    assert result.exit_code == 130
    run_id = the_run(state)
    assert (
        "interrupted during step instances (the run can be resumed: snapmigrate migrate "
        f"--resume {run_id})" in result.output
    )
    shown = invoke(["status", run_id, "--state-dir", state])
    assert (
        "INTERRUPTED" in shown.output
        and f"Continue with: snapmigrate migrate --resume {run_id}" in shown.output
    )
    mismatch = invoke(
        ["migrate", "legacy", "--target", "other", "--resume", run_id, "--state-dir", state]
    )
    assert mismatch.exit_code == 2 and "--target other does not match" in mismatch.output
    resumed = invoke(["migrate", "--resume", run_id, "--no-connect", "--state-dir", state])
    assert resumed.exit_code == 0, resumed.output
    assert "(resumed)" in resumed.output and "state done" in resumed.output
    assert len(aws_state(legacy)["instances"]) == 2


def test_rerunning_the_same_command_after_a_lost_journal_adopts_the_run(legacy, state):
    import shutil

    assert invoke(migrate_args(state, "--yes")).exit_code == 0
    run_id = the_run(state)
    shutil.rmtree(state)
    hooks: list = []
    result = invoke(migrate_args(state, "--yes"), hooks_out=hooks)
    assert result.exit_code == 0, result.output
    assert f"adopting run {run_id}" in result.output and "(adopted" in result.output
    assert hooks[0].mutating == []
    assert len([c for c in aws_state(legacy)["clusters"] if c == "fresh"]) == 1


def test_cleanup_deletes_what_the_run_created_and_only_that(legacy, state):
    assert invoke(migrate_args(state, "--yes")).exit_code == 0
    run_id = the_run(state)
    result = invoke(["cleanup", run_id, "--yes", "--state-dir", state, "-o", "json"])
    assert result.exit_code == 0, result.output
    final = f"fresh-final-{run_id}"
    assert json.loads(result.stdout)["final_snapshot"] == final
    left = aws_state(legacy)
    assert set(left["clusters"]) == {"legacy"} and left["instances"] == {}
    # the run's snapshot is gone; the final snapshot of the deleted cluster stays
    assert set(left["snapshots"]) == {final}
    assert Journal(state).load(run_id).state == "cleaned"
    again = invoke(["migrate", "--resume", run_id, "--state-dir", state])
    assert again.exit_code == 2 and "was cleaned up" in again.output


def test_cleanup_skip_final_snapshot_leaves_nothing(legacy, state):
    assert invoke(migrate_args(state, "--yes")).exit_code == 0
    run_id = the_run(state)
    args = ["cleanup", run_id, "--yes", "--skip-final-snapshot", "--state-dir", state]
    result = invoke([*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["final_snapshot"] is None
    assert "no final snapshot: --skip-final-snapshot" in result.stdout
    left = aws_state(legacy)
    assert set(left["clusters"]) == {"legacy"} and left["snapshots"] == {}


def test_cleanup_refuses_when_a_planned_name_is_not_ours(legacy, state):
    assert invoke(migrate_args(state, "--yes")).exit_code == 0
    run_id = the_run(state)
    arn = legacy.describe_db_instances(DBInstanceIdentifier="fresh-reader-1")["DBInstances"][0][
        "DBInstanceArn"
    ]
    legacy.remove_tags_from_resource(
        ResourceName=arn, TagKeys=["snapmigrate:run-id", "snapmigrate:role"]
    )
    before = aws_state(legacy)
    hooks: list = []
    result = invoke(["cleanup", run_id, "--yes", "--state-dir", state], hooks_out=hooks)
    assert (
        result.exit_code == 2
        and "instance fresh-reader-1 exists but was not created by this run" in result.output
    )
    assert hooks[0].mutating == [] and aws_state(legacy) == before


def test_permissions_lists_every_steps_actions():
    from snapmigrate.migrate import MIGRATION

    result = CliRunner().invoke(cli, ["permissions", "--iam-auth", "-o", "json"])
    assert result.exit_code == 0
    policy = json.loads(result.stdout)
    granted = [a for s in policy["Statement"] for a in s["Action"]]
    for step in MIGRATION.steps:
        assert set(step.permissions) <= set(granted), step.name
    assert {"rds:DeleteDBCluster", "rds:DescribeDBEngineVersions"} <= set(granted)
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(s.isalnum() for s in sids)
    only_plan = json.loads(
        CliRunner().invoke(cli, ["permissions", "--command", "plan", "-o", "json"]).stdout
    )
    assert not any(
        a.startswith(("rds:Create", "rds:Delete", "rds:Modify", "rds:Restore"))
        for s in only_plan["Statement"]
        for a in s["Action"]
    )
    table = CliRunner().invoke(cli, ["permissions"]).output
    assert (
        "restore" in table
        and "rds:RestoreDBClusterFromSnapshot" in table
        and "Policy document:" in table
    )


def test_resume_of_a_run_that_chains_a_cutover_refuses_without_a_terminal(legacy, state):
    """The chained cutover asks first: with no terminal and no --yes, --resume stops
    before anything changes (exit 2), not at the question after the migration."""

    def interrupt(hooks):
        hooks.crash_at("before", "CreateDBInstance", 1, KeyboardInterrupt())

    first = invoke(migrate_args(state, "--cutover", "rename", "--yes"), setup=interrupt)
    assert first.exit_code == 130, first.output
    run_id = the_run(state)
    before = aws_state(legacy)
    hooks: list = []
    resumed = invoke(
        ["migrate", "--resume", run_id, "--no-connect", "--state-dir", state], hooks_out=hooks
    )
    assert resumed.exit_code == 2, resumed.output
    assert "there is no terminal to ask on: pass --yes; nothing was changed" in resumed.output
    assert "the cutover the run's plan chains" in resumed.output
    assert hooks[0].mutating == [] and aws_state(legacy) == before
