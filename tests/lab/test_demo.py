"""``snapmigrate lab demo``: the whole migration on a lab of its own -- in process
(the stages, what they leave in AWS), as a user runs it (a subprocess with a
hostile environment), and when a stage fails (the lab still goes down, the exit
code is the stage's)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate.errors import DifferencesFound, Interrupted, OperationFailed
from snapmigrate.workflow.journal import Journal
from snapmigrate_lab import Lab, report
from snapmigrate_lab.demo import STAGES, run_demo
from snapmigrate_lab.demo_runner import DemoContext, Stage
from snapmigrate_lab.runtime import alive

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server

#: What a user's shell might hold: none of it may reach the demo.
HOSTILE_ENV = {
    "AWS_PROFILE": "no-such-profile",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY00",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "PGPASSWORD": "wrong-password",
    "PGSSLMODE": "verify-full",
    "PGOPTIONS": "-c default_transaction_read_only=on",
    "SNAPMIGRATE_CONNECT_MAP": "/nonexistent/map.json",
    "SNAPMIGRATE_STATE_DIR": "/nonexistent/state",
}


def test_the_demo_migrates_the_seed_to_serverless_v2_and_verifies_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for key, value in HOSTILE_ENV.items():
        monkeypatch.setenv(key, value)
    shown: list[str] = []
    said: list[str] = []
    lab = Lab(tmp_path / "lab")
    ctx = DemoContext(lab=lab, scale=1, keep=True, show=shown.append, progress=said.append)
    try:
        result = run_demo(ctx)
        assert result.error is None, result.error
        assert [(s.name, s.state) for s in result.stages] == [
            ("up", "done"), ("seed", "done"), ("plan", "done"), ("migrate", "done"),
            ("verify", "done"), ("cutover", "done"), ("summary", "done"), ("down", "done"),
        ]  # fmt: skip
        assert result.ok and lab.is_running()  # --keep
        # the plan's engine facts came from the lab's DescribeDBEngineVersions, not the table
        assert ctx.plan is not None
        facts = [f for f in ctx.plan.findings if f.code == "engine-facts"]
        assert [f.level for f in facts] == ["ok"], facts
        # the user's environment is back as it was; drop it again to inspect the lab
        assert {key: os.environ.get(key) for key in HOSTILE_ENV} == HOSTILE_ENV
        for key in HOSTILE_ENV:
            monkeypatch.delenv(key)

        # AWS (the lab's moto) holds a Serverless v2 cluster with db.serverless instances
        rds = lab.client("rds")
        cluster = rds.describe_db_clusters(DBClusterIdentifier="legacy-v2")["DBClusters"][0]
        assert (
            cluster["Status"] == "available"
            and cluster.get("EngineMode", "provisioned") == "provisioned"
        )
        assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4
        instances = rds.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": ["legacy-v2"]}]
        )["DBInstances"]
        assert sorted(i["DBInstanceClass"] for i in instances) == ["db.serverless", "db.serverless"]
        assert result.created is not None
        assert {(i.identifier, i.role, i.instance_class) for i in result.created.instances} == {
            ("legacy-v2-writer", "writer", "db.serverless"),
            ("legacy-v2-reader-1", "reader", "db.serverless"),
        }

        # the run is done, journaled inside the lab directory
        assert result.run is not None and Path(result.state_dir) == lab.dir / "state"
        record = Journal(result.state_dir).load(result.run.run_id)
        assert record.state == "done" and [s.state for s in record.steps] == ["done"] * 5
        assert record.step("verify").details["equal"] is True

        # the demo's own verification compared every seeded table, equal
        verification = result.verification
        assert verification is not None and verification.equal
        seed = ctx.seed
        assert seed is not None
        compared = {f"{t.schema}.{t.name}": t.target_rows for t in verification.tables}
        assert {k: v for k, v in compared.items() if k in seed.tables} == seed.tables
        assert set(compared) - set(seed.tables) == {
            "public.snapmigrate_load"
        }  # the application's table
        assert any("EQUAL: 11 table(s)" in text for text in shown)
        assert any(text.startswith("Plan: legacy-v1") for text in shown)

        # the copy's data is really there
        rows = (
            lab.server_for("legacy-v2")
            .psql("SELECT count(*) FROM pgbench_accounts", dbname="app")
            .strip()
        )
        assert rows == "100000"

        # progress: a header per stage and a line when it ends
        assert said[0].strip() == "==> [1/8] up: start the local Aurora (moto + PostgreSQL)"
        assert sum(line.lstrip().startswith("==> [") for line in said) == 8
        # the cutover: the record clients use now points at the new cluster, and the
        # application that wrote through it the whole time lost nothing
        r53 = lab.client("route53")
        records = r53.list_resource_record_sets(HostedZoneId=seed.dns_zone_id)["ResourceRecordSets"]
        assert (
            next(r for r in records if r["Type"] == "CNAME")["ResourceRecords"][0]["Value"]
            == cluster["Endpoint"]
        )
        load = ctx.details["load"]
        assert load["committed"] > 0 and load["check"]["lost"] == 0
        assert (
            ctx.details["cutover"]["state"] == "done"
            and ctx.details["cutover"]["unavailable_s"] > 0
        )

        # the summary names the run, what was created, the verdict and how to look around
        text = report.demo_table(result)
        assert f"Run {result.run.run_id}: done" in text
        assert "legacy-v2-reader-1" in text and "db.serverless" in text
        assert "Verification: equal: 11 tables" in text
        assert (
            f"snapmigrate status {result.run.run_id} --state-dir" in text
            and "lab env --dir" in text
        )
        data = json.loads(json.dumps(result.to_dict(), default=str))
        assert data["run_id"] == result.run.run_id and data["verify"]["equal"] is True
        assert data["created"]["instances"][0]["instance_class"] == "db.serverless"
        assert data["env"]["PGPASSFILE"] == str(lab.pgpass_path) and data["exit_code"] == 0
    finally:
        lab.down()
    assert not lab.dir.exists()


def _failing(exc: BaseException) -> Stage:
    def run(ctx: DemoContext) -> str:
        raise exc

    return Stage("boom", "a stage that fails", run)


def test_a_failing_stage_takes_the_lab_down_and_gives_its_exit_code(tmp_path: Path):
    lab = Lab(tmp_path / "lab")
    never: list[str] = []
    stages = [
        STAGES[0],
        _failing(RuntimeError("a bug")),
        Stage("later", "-", lambda ctx: never.append("ran") or ""),
        STAGES[-1],
    ]
    ctx = DemoContext(lab=lab, show=lambda _: None, progress=lambda _: None)
    result = run_demo(ctx, stages)
    pid = lab.state.pid if lab.state else None
    assert [(s.name, s.state) for s in result.stages] == [
        ("up", "done"),
        ("boom", "failed"),
        ("later", "not run"),
        ("down", "done"),
    ]
    assert never == []
    assert isinstance(result.error, OperationFailed) and result.error.exit_code == 1
    assert "stage boom crashed: RuntimeError: a bug" in str(result.error)
    assert not lab.dir.exists() and pid is None  # down removed lab.json with the rest
    assert "Demo FAILED in stage boom (exit 1)" in report.demo_table(result)


def test_the_first_failure_sets_the_exit_code_and_down_runs_without_a_lab(tmp_path: Path):
    ctx = DemoContext(
        lab=Lab(tmp_path / "never-started"), show=lambda _: None, progress=lambda _: None
    )
    stages = [
        _failing(DifferencesFound("copy differs")),
        _failing(OperationFailed("later")),
        STAGES[-1],
    ]
    result = run_demo(ctx, stages)
    assert isinstance(result.error, DifferencesFound) and result.to_dict()["exit_code"] == 3
    assert [s.state for s in result.stages] == ["failed", "not run", "done"]
    assert result.stages[-1].summary == "nothing to take down: the demo started no lab"
    assert not (tmp_path / "never-started").exists()


def test_ctrl_c_in_a_stage_is_exit_130_and_down_still_runs(tmp_path: Path):
    ctx = DemoContext(
        lab=Lab(tmp_path / "never-started"), show=lambda _: None, progress=lambda _: None
    )
    result = run_demo(
        ctx, [_failing(KeyboardInterrupt()), Stage("later", "-", lambda ctx: "ran"), STAGES[-1]]
    )
    assert isinstance(result.error, Interrupted) and result.error.exit_code == 130
    assert [(s.state, s.summary) for s in result.stages][:2] == [
        ("failed", "interrupted"),
        ("not run", "the demo stopped at boom"),
    ]
    assert result.stages[-1].state == "done"
    assert "Demo interrupted in stage boom (exit 130)" in report.demo_table(result)


def test_a_dir_with_a_running_lab_is_refused_and_that_lab_keeps_running(lab):
    before = lab.state.pid
    done = CliRunner().invoke(cli, ["lab", "demo", "--dir", str(lab.dir)], obj=AppContext())
    assert done.exit_code == 2, done.output
    assert "a lab is already running in" in done.output and "the demo needs its own" in done.output
    assert lab.is_running() and lab.state.pid == before and alive(before)


def test_a_dir_that_is_not_a_lab_is_refused_and_left_as_it_was(tmp_path: Path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    done = CliRunner().invoke(cli, ["lab", "demo", "--dir", str(mine)], obj=AppContext())
    assert done.exit_code == 2, done.output
    assert "is not empty and holds no lab" in done.output and "nothing to take down" in done.output
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_the_demo_as_a_user_runs_it(tmp_path: Path):
    """A real process, the default temporary directory, a hostile environment: exit 0,
    summary, nothing left."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-3\nendpoint_url = http://127.0.0.1:9\n")
    env = {**os.environ, **HOSTILE_ENV, "AWS_CONFIG_FILE": str(config), "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "snapmigrate", "lab", "demo", "--scale", "1"],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    out, err = done.stdout, done.stderr
    assert "\nSummary\n" in out and re.search(r"Demo finished in \d+\.\d s\.", out)
    assert re.search(r"^  writer\s+legacy-v2-writer\s+db\.serverless, available$", out, re.M)
    assert (
        re.search(r"^Run [0-9a-f]{8}: done", out, re.M) and "Verification: equal: 11 tables" in out
    )
    assert re.search(r"^  6  cutover\s+done", out, re.M) and " 0 lost " in " ".join(out.split())
    assert "The lab is gone." in out
    for n, name in enumerate(
        ["up", "seed", "plan", "migrate", "verify", "cutover", "summary", "down"], 1
    ):
        assert f"==> [{n}/8] {name}:" in err
    assert (
        "[3/5] instances:" in err and "waiting for cluster legacy-v2" in err
    )  # the runner's own progress
    directory = re.search(r"lab directory (\S+)", err)  # one line on stderr (the table wraps)
    assert directory is not None and directory.group(1).startswith(str(tmp_path))
    assert not Path(directory.group(1)).exists()


def test_the_catch_up_scenario_migrates_under_load_and_cuts_over_losing_nothing(tmp_path: Path):
    """``lab demo --scenario catch-up``: a provisioned source written to throughout,
    migrated with --catch-up logical (never frozen before the cutover), its catch-up
    measured by status, a cutover that drains, verifies what changed and loses nothing,
    and nothing of the catch-up left on the source."""
    from snapmigrate_lab.demo_catchup import STAGES as CATCH_UP

    shown: list[str] = []
    lab = Lab(tmp_path / "lab")
    ctx = DemoContext(lab=lab, scale=1, keep=True, show=shown.append, progress=lambda _: None)
    try:
        result = run_demo(ctx, CATCH_UP)
        assert result.error is None, result.error
        assert [(s.name, s.state) for s in result.stages] == [
            ("up", "done"), ("seed", "done"), ("plan", "done"), ("migrate", "done"),
            ("status", "done"), ("cutover", "done"), ("summary", "done"), ("down", "done"),
        ]  # fmt: skip
        assert ctx.details["catch_up"]["state"] == "streaming", ctx.details["catch_up"]
        cutover = ctx.details["cutover"]
        assert cutover["state"] == "done" and cutover["catch_up"]["ended"], cutover["catch_up"]
        assert [p["name"] for p in cutover["phases"]][:2] == ["guardrails", "freeze"]
        assert "drain" in [p["name"] for p in cutover["phases"]]
        load = ctx.details["load"]
        assert load["check"]["lost"] == 0 and load["check"]["committed"] > 0, load
        # the run's publication and slots are gone from the source
        assert ctx.run is not None and ctx.source
        slots = lab.server_for(ctx.source).psql(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'snapmigrate%'"
        )
        assert slots.strip() == "0"
    finally:
        lab.down()
