"""``--catch-up logical`` on the command line, against moto: bad input is exit 2
with nothing changed; a Serverless v1 source is blocked (exit 4) with the reason;
an unreachable source blocks the plan instead of guessing."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests import seed
from tests.test_plan_cli import invoke


@pytest.fixture
def rds(moto):
    return boto3.client("rds", region_name="us-east-1")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prepare-source"], "--prepare-source needs --catch-up logical"),
        (["--replica-identity-full"], "--replica-identity-full needs --catch-up logical"),
        (["--catch-up", "logical", "--snapshot", "s"], "--snapshot cannot be combined"),
        (["--catch-up", "logical", "--max-retained-wal-gb", "-1"], "must be positive"),
        (["--catch-up", "logical", "--no-connect"], "drop --no-connect"),
        (["--catch-up", "logical", "--freeze-before-snapshot"], "choose one"),
    ],
)
def test_bad_catch_up_input_is_exit_2_and_changes_nothing(
    rds, tmp_path: Path, extra: list[str], message: str
):
    seed.provisioned_cluster(rds)
    args = ["migrate", "prov", "--target", "fresh", "--yes", "--state-dir", str(tmp_path), *extra]
    result, recorder = invoke(args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert recorder.mutating == []
    assert not list(tmp_path.glob("*.json"))


def test_a_v1_source_is_blocked_with_its_reason(rds):
    seed.v1_cluster(rds)
    result, recorder = invoke(["plan", "legacy", "--target", "fresh", "--catch-up", "logical"])
    assert result.exit_code == 4, result.output
    assert "catch-up-source-mode" in result.output
    assert "Aurora Serverless v1 has no logical replication" in result.output
    assert recorder.mutating == []


def test_an_unreachable_source_blocks_the_plan_and_the_json_shows_the_catch_up(rds, tmp_path):
    seed.provisioned_cluster(rds)
    cmap = tmp_path / "map.json"
    # moto's endpoint names resolve nowhere: route them to a closed port
    cluster = rds.describe_db_clusters(DBClusterIdentifier="prov")["DBClusters"][0]
    cmap.write_text(json.dumps({"routes": {cluster["Endpoint"]: "127.0.0.1:9"}}))
    args = ["--connect-map", str(cmap), "-o", "json", "plan", "prov", "--target", "fresh"]
    result, recorder = invoke([*args, "--catch-up", "logical"])
    assert result.exit_code == 4, result.output
    data = json.loads(result.stdout)
    codes = {f["code"]: f["level"] for f in data["findings"]}
    assert codes["catch-up-connect"] == "block" and codes["catch-up-source-mode"] == "ok"
    assert data["target"]["catch_up"]["mode"] == "logical"
    assert data["target"]["catch_up"]["max_retained_wal_bytes"] == 100 * 1024**3
    assert recorder.mutating == []
