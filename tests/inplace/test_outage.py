"""``--max-write-outage``: an outage measured above it stops the run before the next
disruptive step, saying so; a resume without it goes on. The probe is replaced by
one that reports a fixed outage (moto has no database to write to)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from snapmigrate.errors import OperationFailed
from snapmigrate.inplace import cluster, instances
from snapmigrate.inplace.probe import Measured
from snapmigrate.migrate.context import RunSettings
from snapmigrate.report.run import status_dict
from snapmigrate.workflow.journal import Journal
from tests.inplace.test_crash import InPlaceMatrix
from tests.migrate.conftest import RUN_ID
from tests.test_plan_cli import invoke


def probe_reporting(seconds: float) -> Any:
    @contextlib.contextmanager
    def probe(ctx: Any, cluster_id: str) -> Iterator[Measured]:
        yield Measured(write_unavailable_s=seconds, probe="measured", commits=10, errors=3)

    return probe


def test_an_outage_above_the_limit_stops_before_the_failover(world, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "write_probe", probe_reporting(5.0))
    monkeypatch.setattr(instances, "write_probe", probe_reporting(0.5))
    matrix = InPlaceMatrix(
        world, tmp_path, settings=RunSettings(connect=False, max_write_outage_s=2.0)
    )
    state_dir = matrix.fresh()
    with pytest.raises(OperationFailed) as stopped:
        matrix.runner(state_dir).start(matrix.env.plan)
    assert "step convert stopped writes for 5.0 s, more than --max-write-outage 2 s" in str(
        stopped.value
    )
    assert "stopped before step failover" in str(stopped.value)
    assert "FailoverDBCluster" not in matrix.hooks.executed
    record = Journal(state_dir).load(RUN_ID)
    assert record.state == "failed" and record.step("failover").state == "failed"
    assert record.step("add-serverless-reader").state == "done"  # not disruptive: it ran

    matrix.settings = RunSettings(connect=False)  # resumed without the limit
    result = matrix.runner(state_dir).resume(RUN_ID)
    assert result.record.state == "done"
    measured = [
        {"step": "convert", "write_unavailable_s": 5.0},
        {"step": "failover", "write_unavailable_s": 0.5},
    ]
    assert result.to_dict()["outages"] == measured
    # status -o json shows the same, from the journal
    assert status_dict(Journal(state_dir).load(RUN_ID))["outages"] == measured


def test_an_outage_within_the_limit_does_not_stop_the_run(world, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "write_probe", probe_reporting(1.5))
    monkeypatch.setattr(instances, "write_probe", probe_reporting(1.5))
    matrix = InPlaceMatrix(
        world, tmp_path, settings=RunSettings(connect=False, max_write_outage_s=2.0)
    )
    result = matrix.runner(matrix.fresh()).start(matrix.env.plan)
    assert result.record.state == "done"


@pytest.mark.parametrize("value", ["soon", "0ms", "1.5s"])
def test_a_bad_max_write_outage_is_bad_input(value):
    result, recorder = invoke(
        ["migrate", "legacy", "--path", "in-place", "--max-write-outage", value, "--yes"]
    )
    assert result.exit_code == 2, result.output
    assert "--max-write-outage" in result.output and not recorder.calls


def test_cleanup_refuses_an_in_place_run(world, tmp_path):
    matrix = InPlaceMatrix(world, tmp_path)
    state_dir = matrix.fresh()
    matrix.runner(state_dir).start(matrix.env.plan)
    result, recorder = invoke(["cleanup", RUN_ID, "--yes", "--state-dir", str(state_dir)])
    assert result.exit_code == 2, result.output
    assert "changed legacy in place" in result.output and not recorder.mutating
