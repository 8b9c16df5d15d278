"""Kill an in-place run at every step boundary and around every API call, then resume
with a fresh runner: the end state is an uninterrupted run's, no call that creates
or changes something is sent twice, and the journal says done.

moto records a conversion to provisioned and nothing else; AWS then has a
provisioned writer instance. A handler plays that part (before the hooks crash).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import boto3
import pytest

from snapmigrate.aws import AwsSettings, Clients
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.runner import Runner
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from tests import seed
from tests.migrate.conftest import RUN_ID, AwsHooks, FakeClock
from tests.migrate.test_crash import Matrix, _check

CONVERTED_WRITER = "legacy-instance-1"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def convert_like_aws(parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """After a successful EngineMode=provisioned: the writer AWS creates."""
    cluster = parsed.get("DBCluster") or {}
    if model.name != "ModifyDBCluster" or cluster.get("EngineMode") != "provisioned":
        return
    raw = boto3.client("rds", region_name="us-east-1")
    if raw.describe_db_clusters(DBClusterIdentifier="legacy")["DBClusters"][0]["DBClusterMembers"]:
        return
    raw.create_db_instance(
        DBInstanceIdentifier=CONVERTED_WRITER,
        DBClusterIdentifier="legacy",
        Engine="aurora-postgresql",
        DBInstanceClass="db.t3.large",
        AvailabilityZone="us-east-1a",
    )


class InPlaceMatrix(Matrix):
    """The in-place plan of the seeded v1 cluster, run again and again."""

    def __init__(self, world: Any, tmp_path: Path, *, settings: RunSettings | None = None) -> None:
        self.world, self.tmp_path, self.version = world, tmp_path, "13.12"
        self.rds = boto3.client("rds", region_name="us-east-1")
        self.settings = settings or RunSettings(connect=False)
        self.clients = Clients(AwsSettings(region="us-east-1", max_attempts=1))
        self.clients.session.events.register("after-call.rds", convert_like_aws)
        self.hooks = AwsHooks(self.clients, polls=3)
        self.n = 0
        self.fresh()
        plan = make_plan(self.clients, "legacy", PlanOptions(path="in-place"))
        assert not plan.blocked
        self.env = type("Env", (), {"plan": plan})()

    def fresh(self) -> Path:
        """The v1 source, encrypted with a key given by its ARN (as AWS shows every key)."""
        self.world.reset()
        seed.v1_cluster(self.rds, KmsKeyId=KMS_KEY)
        self.hooks.reset()
        self.n += 1
        return self.tmp_path / f"state-{self.n}"

    def runner(self, state_dir: Path, **kw: Any) -> Runner:
        return Runner(
            self.clients,
            Journal(state_dir),
            settings=self.settings,
            clock=FakeClock(),
            run_ids=lambda: RUN_ID,
            rng=random.Random(1),
            **kw,
        )


def test_an_uninterrupted_in_place_run_ends_with_db_serverless_only(world, tmp_path):
    matrix = InPlaceMatrix(world, tmp_path)
    expected, calls = matrix.reference()
    legacy = expected["clusters"]["legacy"]
    assert legacy["mode"] == "provisioned" and legacy["writer"] == ["legacy-v2-1"]
    assert {k: v["class"] for k, v in expected["instances"].items()} == {
        "legacy-v2-1": "db.serverless",
        "legacy-v2-2": "db.serverless",
    }
    assert set(expected["snapshots"]) == {f"legacy-before-in-place-{RUN_ID}"}
    mutating = [op for op in calls if op.startswith(("Create", "Modify", "Failover", "Delete"))]
    assert mutating == [
        "CreateDBClusterSnapshot", "ModifyDBCluster", "ModifyDBCluster", "CreateDBInstance",
        "FailoverDBCluster", "CreateDBInstance", "DeleteDBInstance",
    ]  # fmt: skip


@pytest.mark.slow  # seven steps, four boundaries each, a whole run each: ~10 s
def test_crash_at_every_step_boundary_of_the_in_place_path_then_resume(world, tmp_path):
    matrix = InPlaceMatrix(world, tmp_path)
    points, expected = matrix.boundary_points()
    assert len(points) == 4 * 7
    failures: list[str] = []
    for kind, name in points:
        _, state = matrix.crash_at_event(kind, name)
        if state is None:
            failures.append(f"{kind} {name}: the event never fired")
            continue
        _check(matrix, expected, f"{kind} {name}", state, failures)
    assert failures == []


@pytest.mark.slow  # a whole in-place run per API call
@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_at_every_api_call_of_the_in_place_path_then_resume(world, tmp_path, when):
    matrix = InPlaceMatrix(world, tmp_path)
    expected, calls = matrix.reference()
    failures: list[str] = []
    for k in range(1, len(calls) + 1):
        state = matrix.crash_at_call(when, k)
        assert state is not None, f"no crash {when} call {k}"
        _check(matrix, expected, f"{when} call {k} ({calls[k - 1]})", state, failures)
    assert failures == []
