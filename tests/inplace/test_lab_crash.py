"""In the lab: an in-place run of a Serverless v1 cluster killed at each step (as it
starts), and right after each disruptive request (the conversion, the failover, the
deletion) while AWS goes on; a fresh runner resumes it to the same end state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.migrate.runner import Runner
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from tests.inplace.test_lab import v1_source
from tests.inplace.test_plan import V1_STEPS
from tests.lab.conftest import wait_cluster
from tests.migrate.conftest import Crash
from tests.migrate.test_aws_rules_lab import settings

pytestmark = pytest.mark.slow

REQUESTS = ("ModifyDBCluster", "FailoverDBCluster", "DeleteDBInstance")
RUN_ID = "c0ffee00"


def end_state(lab: Any, source: str) -> tuple[Any, ...]:
    rds = lab.client("rds")
    cluster = wait_cluster(rds, source)
    members = sorted(
        (m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in cluster["DBClusterMembers"]
    )
    classes = {
        rds.describe_db_instances(DBInstanceIdentifier=m)["DBInstances"][0]["DBInstanceClass"]
        for m, _ in members
    }
    snaps = rds.describe_db_cluster_snapshots(DBClusterIdentifier=source, SnapshotType="manual")
    names = [s["DBClusterSnapshotIdentifier"] for s in snaps["DBClusterSnapshots"]]
    ours = [n for n in names if "-before-in-place-" in n]
    return cluster["EngineMode"], members, classes, len(ours)


def crash_then_resume(
    lab: Any, tmp_path: Path, label: str, arm: Callable[[Any], Any]
) -> tuple[str, tuple[Any, ...]]:
    """A fresh v1 source, a run armed to crash (``arm(clients)`` may return an event
    hook), then a fresh runner's resume."""
    source = v1_source(lab.client("rds"), lab)
    plan = make_plan(lab.clients(), source, PlanOptions(path="in-place"))
    journal = Journal(tmp_path / label)
    clients = lab.clients()
    hook = arm(clients)
    runner = Runner(
        clients, journal, settings=settings(lab), run_ids=lambda: RUN_ID, on_event=hook
    )
    with pytest.raises(Crash):
        runner.start(plan)
    assert journal.load(RUN_ID).state == "running"  # killed: nothing recorded the end
    resumed = Runner(lab.clients(), journal, settings=settings(lab)).resume(RUN_ID)
    return resumed.record.state, end_state(lab, source)


@pytest.mark.parametrize("step", V1_STEPS)
def test_killed_as_a_step_starts_then_resumed(lab, lab_env, tmp_path, step):
    def arm(clients: Any) -> Any:
        def boom(event: str, name: str) -> None:
            if (event, name) == ("step-started", step):
                raise Crash(f"killed as {step} starts")

        return boom

    state, (mode, members, classes, snapshots) = crash_then_resume(lab, tmp_path, step, arm)
    assert state == "done"
    assert mode == "provisioned" and classes == {"db.serverless"} and snapshots == 1
    assert [writer for _, writer in members].count(True) == 1 and len(members) == 2


@pytest.mark.parametrize("request_name", REQUESTS)
def test_killed_right_after_a_disruptive_request_then_resumed(
    lab, lab_env, tmp_path, request_name
):
    def arm(clients: Any) -> None:
        fired: list[bool] = []

        def boom(http_response: Any, model: Any, **_: Any) -> None:
            if model.name == request_name and http_response.status_code < 300 and not fired:
                fired.append(True)
                raise Crash(f"killed after {request_name}")

        clients.session.events.register("after-call.rds", boom)
        return None

    state, (mode, members, classes, snapshots) = crash_then_resume(
        lab, tmp_path, request_name, arm
    )
    assert state == "done"
    assert mode == "provisioned" and classes == {"db.serverless"} and snapshots == 1
    assert [writer for _, writer in members].count(True) == 1 and len(members) == 2
