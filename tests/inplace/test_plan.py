"""``plan SOURCE --path in-place`` against moto: the contract's step names, what can be
undone after each step, bad input (exit 2, no AWS call), and nothing changed."""

from __future__ import annotations

import json

import boto3
import pytest

from snapmigrate.migrate import read_plan
from tests import seed
from tests.test_plan_cli import invoke

#: The contract's step names (issue #16), in order, for a Serverless v1 source.
V1_STEPS = (
    "safety-snapshot",
    "convert",
    "scaling",
    "add-serverless-reader",
    "failover",
    "add-reader",
    "remove-provisioned",
)


@pytest.fixture
def rds(moto):
    return boto3.client("rds", region_name="us-east-1")


def test_in_place_plan_of_a_v1_cluster_has_all_the_steps(rds):
    seed.v1_cluster(rds)
    result, recorder = invoke(["plan", "legacy", "--path", "in-place", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    steps = data["steps"]
    assert [s["name"] for s in steps] == list(V1_STEPS)
    assert data["target"]["identifier"] == "legacy" and data["target"]["path"] == "in-place"
    assert data["target"]["interim_class"] == "db.t3.large"  # AWS's class for a 4 ACU maximum
    by = {s["name"]: s["summary"] for s in steps}
    assert "CANNOT be undone" in by["convert"]
    assert "can be undone" in by["failover"] and "can be undone" in by["add-reader"]
    a, b = (s["params"]["instance"] for s in steps if s["name"].startswith("add-"))
    assert a["availability_zone"] != b["availability_zone"]
    assert a["instance_class"] == b["instance_class"] == "db.serverless"
    assert read_plan(data).steps[1].inputs.instance_class == "db.t3.large"
    assert not recorder.mutating


def test_in_place_plan_of_a_provisioned_cluster_skips_the_conversion(rds):
    seed.provisioned_cluster(rds)
    result, _ = invoke(["plan", "prov", "--path", "in-place", "--max-acu", "8", "-o", "json"])
    assert result.exit_code == 0, result.output
    names = [s["name"] for s in json.loads(result.stdout)["steps"]]
    assert "convert" not in names and names[0] == "safety-snapshot"
    assert names[-4:] == ["add-serverless-reader", "failover", "add-reader", "remove-provisioned"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "other"], "--target does not go with --path in-place"),
        (["--cutover", "rename"], "--cutover does not go with --path in-place"),
        (["--snapshot", "s1"], "--snapshot does not go with --path in-place"),
        (["--catch-up", "logical"], "--catch-up does not go with --path in-place"),
    ],
)
def test_in_place_refuses_the_snapshot_paths_options(rds, args, message):
    seed.v1_cluster(rds)
    result, recorder = invoke(["plan", "legacy", "--path", "in-place", *args])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not recorder.calls


def test_the_snapshot_path_still_needs_a_target(rds):
    result, recorder = invoke(["plan", "legacy"])
    assert result.exit_code == 2 and "give --target NAME" in result.output
    assert not recorder.calls


def test_compare_shows_both_paths_for_the_source(rds):
    seed.v1_cluster(rds)
    result, recorder = invoke(["plan", "legacy", "--compare", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    snapshot, in_place = data["paths"]
    assert (snapshot["path"], in_place["path"]) == ("snapshot", "in-place")
    assert snapshot["steps"][0] == "snapshot" and "legacy-v2" in snapshot["endpoint"]
    assert in_place["steps"][:2] == ["safety-snapshot", "convert"]
    assert in_place["endpoint"].startswith("unchanged")
    assert "not after convert" in in_place["reversible"]
    assert "under 120 s" in in_place["write_outage"] and "lab" in in_place["write_outage"]
    assert "db.t3.large" in in_place["cost"]
    assert snapshot["blocked"] is None and in_place["blocked"] is None
    assert not recorder.mutating
    table, _ = invoke(["plan", "legacy", "--compare"])
    assert "write outage" in table.output and "in-place" in table.output


def test_compare_takes_no_path(rds):
    seed.v1_cluster(rds)
    result, _ = invoke(["plan", "legacy", "--compare", "--path", "in-place"])
    assert result.exit_code == 2 and "drop --path" in result.output
