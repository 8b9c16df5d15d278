"""``snapmigrate plan`` against moto: the table, the JSON contract, exit codes, no mutation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate.migrate import read_plan
from tests import seed
from tests.conftest import recording_clients


def invoke(args: list[str], recorder_box: list | None = None):
    clients, recorder = recording_clients()
    app = AppContext(_clients=clients)
    result = CliRunner().invoke(cli, args, obj=app)
    if recorder_box is not None:
        recorder_box.append(recorder)
    return result, recorder


@pytest.fixture
def rds(moto):
    return boto3.client("rds", region_name="us-east-1")


def test_plan_of_a_v1_cluster_prints_findings_settings_and_steps(rds):
    seed.v1_cluster(rds)
    result, recorder = invoke(["plan", "legacy", "--target", "fresh", "--readers", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("Findings", "Settings", "Steps", "acu-range", "restore", "instances", "Ready:"):
        assert text in out
    assert "v1 2-4 ACU" in out and "v2 0.5-4 ACU" in out
    assert recorder.calls and not recorder.mutating


def test_plan_json_follows_the_contract_and_round_trips(rds, tmp_path: Path):
    seed.v1_cluster(rds)
    plan_file = tmp_path / "plan.json"
    result, _ = invoke(
        ["plan", "legacy", "--target", "fresh", "-o", "json", "--plan-file", str(plan_file)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"]["identifier"] == "legacy"
    assert data["target"]["identifier"] == "fresh"
    assert {f["level"] for f in data["findings"]} <= {"ok", "warn", "block"}
    assert all({"level", "code", "message"} <= set(f) for f in data["findings"])
    assert [s["name"] for s in data["steps"]] == [
        "snapshot",
        "restore",
        "instances",
        "settings",
        "verify",
    ]
    assert all("params" in s for s in data["steps"])
    restore = next(s for s in data["steps"] if s["name"] == "restore")["params"]
    assert restore["engine_mode"] == "provisioned"
    assert restore["serverless_v2_scaling"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    written = json.loads(plan_file.read_text())
    assert read_plan(written).to_dict() == written


def test_pg11_source_plans_an_upgrade_step(rds):
    seed.v1_cluster(rds, identifier="old11", version="11.21")
    result, _ = invoke(["plan", "old11", "--target", "new14", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [s["name"] for s in data["steps"]]
    assert names.index("restore") < names.index("upgrade") < names.index("instances")
    assert any(f["code"] == "major-upgrade" for f in data["findings"])


def test_provisioned_and_v2_sources(rds):
    seed.provisioned_cluster(rds)
    seed.v2_cluster(rds)
    result, _ = invoke(["plan", "prov", "--target", "prov-v2", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"]["engine_mode"] == "provisioned"
    result, _ = invoke(["plan", "already", "--target", "already-copy", "-o", "json"])
    assert result.exit_code == 0, result.output
    mode = next(f for f in json.loads(result.stdout)["findings"] if f["code"] == "source-mode")
    assert mode["level"] == "warn"


def test_mysql_source_exits_4(rds):
    seed.mysql_cluster(rds)
    result, recorder = invoke(["plan", "mysql1", "--target", "fresh"])
    assert result.exit_code == 4
    assert "not supported yet" in result.output
    assert not recorder.mutating


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "legacy", "--target", "Bad--name"], "two hyphens"),
        (["plan", "missing", "--target", "fresh"], "not found"),
        (["plan", "legacy", "--target", "fresh", "--min-acu", "0.2"], "multiple of 0.5"),
        (
            ["plan", "legacy", "--target", "fresh", "--snapshot", "nope"],
            "snapshot 'nope' not found",
        ),
        (["plan", "legacy", "--target", "fresh", "--cutover", "dns"], "--dns-zone-id"),
        (
            [
                "plan",
                "legacy",
                "--target",
                "fresh",
                "--cutover",
                "dns",
                "--dns-zone-id",
                "ZNOPE",
                "--dns-name",
                "db.example.com",
            ],
            "does not exist",
        ),
        (["plan", "legacy", "--target", "fresh", "--tag", "novalue"], "KEY=VALUE"),
        (["plan", "legacy", "--target", "fresh", "--engine-version", "12.1"], "older than"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_mutating_call(rds, args, message):
    seed.v1_cluster(rds)
    result, recorder = invoke(args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not recorder.mutating
    assert "Traceback" not in result.output


def test_target_taken_by_a_foreign_cluster_exits_2_and_changes_nothing(rds):
    seed.v1_cluster(rds)
    seed.provisioned_cluster(rds, identifier="taken")

    def state():
        return [
            (c["DBClusterIdentifier"], c["Status"], c["TagList"])
            for c in rds.describe_db_clusters()["DBClusters"]
        ]

    before = state()
    result, recorder = invoke(["plan", "legacy", "--target", "taken"])
    assert result.exit_code == 2
    assert "not created by snapmigrate" in result.output
    assert not recorder.mutating
    assert state() == before


def test_dns_cutover_checks_the_record(rds):
    seed.v1_cluster(rds)
    endpoint = rds.describe_db_clusters(DBClusterIdentifier="legacy")["DBClusters"][0]["Endpoint"]
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="1")["HostedZone"][
        "Id"
    ].split("/")[-1]
    args = [
        "plan",
        "legacy",
        "--target",
        "fresh",
        "--cutover",
        "dns",
        "--dns-zone-id",
        zone,
        "--dns-name",
        "db.example.com",
    ]
    result, _ = invoke(args)
    assert result.exit_code == 2 and "does not exist in zone" in result.output
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "db.example.com",
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": endpoint}],
                    },
                }
            ]
        },
    )
    result, recorder = invoke(args)
    assert result.exit_code == 0, result.output
    assert not recorder.mutating


def test_no_credentials_names_the_ways_to_provide_them(rds, monkeypatch):
    seed.v1_cluster(rds)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = CliRunner().invoke(cli, ["plan", "legacy", "--target", "fresh"])
    assert result.exit_code == 2
    assert "no AWS credentials" in result.output and "--profile" in result.output


def test_unknown_profile_is_bad_input(monkeypatch):
    result = CliRunner().invoke(cli, ["--profile", "nobody", "plan", "legacy", "--target", "fresh"])
    assert result.exit_code == 2
    assert "profile 'nobody' not found" in result.output


@pytest.mark.slow
def test_real_command_against_the_moto_server(cli_env):
    rds = boto3.client("rds", endpoint_url=cli_env["AWS_ENDPOINT_URL"])
    seed.v1_cluster(rds)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snapmigrate",
            "plan",
            "legacy",
            "--target",
            "fresh",
            "--output",
            "json",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["source"]["engine_mode"] == "serverless"
    assert any(f["code"] == "engine-facts" and f["level"] == "warn" for f in data["findings"])
    done = subprocess.run(
        [sys.executable, "-m", "snapmigrate", "plan", "legacy", "--target", "Bad_Name"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("snapmigrate: error: target cluster identifier")
    )


def test_help_lists_every_command_quickly():
    done = subprocess.run(
        [sys.executable, "-m", "snapmigrate", "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    assert "plan" in done.stdout
    # the CLI imports no AWS SDK just to print help
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, snapmigrate.cli; print('boto3' in sys.modules, 'psycopg' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip() == "False False"
