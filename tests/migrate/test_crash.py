"""Kill the run anywhere -- before or after every API call, inside every wait,
at every step boundary -- then resume with a fresh runner: the end state is
the one an uninterrupted run reaches, with no duplicate snapshot, cluster or
instance, and the journal says done."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import boto3
import pytest

from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.runner import Runner
from snapmigrate.workflow.journal import Journal
from tests import seed
from tests.migrate.conftest import RUN_ID, Crash, FakeClock, aws_state, hooked_clients, make_env


class Matrix:
    """Runs the same plan again and again on a freshly seeded moto."""

    def __init__(
        self, world: Any, tmp_path: Path, *, version: str = "13.12", readers: int = 2
    ) -> None:
        self.world = world
        self.tmp_path = tmp_path
        self.version = version
        self.rds = boto3.client("rds", region_name="us-east-1")
        self.env = make_env(self.rds, tmp_path / "plan", version=version, readers=readers)
        self.clients, self.hooks = hooked_clients()
        self.n = 0

    def fresh(self) -> Path:
        self.world.reset()
        seed.v1_cluster(self.rds, version=self.version)
        self.hooks.reset()
        self.n += 1
        return self.tmp_path / f"state-{self.n}"

    def runner(self, state_dir: Path, **kw: Any) -> Runner:
        return Runner(
            self.clients,
            Journal(state_dir),
            settings=RunSettings(connect=False),
            clock=FakeClock(),
            run_ids=lambda: RUN_ID,
            rng=random.Random(1),
            **kw,
        )

    def reference(self) -> tuple[dict[str, Any], list[str]]:
        state_dir = self.fresh()
        self.runner(state_dir).start(self.env.plan)
        self.executed = sorted(self.hooks.executed)
        return aws_state(self.rds), [op for op, _ in self.hooks.calls]

    def boundary_points(self) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        """An uninterrupted run's step events (kind, step) and the AWS state it ends in
        (what every run crashed at one of them must end in too)."""
        points: list[tuple[str, str]] = []
        state_dir = self.fresh()
        self.runner(state_dir, on_event=lambda kind, name: points.append((kind, name))).start(
            self.env.plan
        )
        self.executed = sorted(self.hooks.executed)
        return points, aws_state(self.rds)

    def crash_at_event(self, kind: str, name: str) -> tuple[Path, str | None]:
        """A fresh run crashed at step event ``(kind, name)``, then resumed: its state
        directory and end state (None: the event never fired)."""
        state_dir = self.fresh()

        def boom(event: str, step: str) -> None:
            if (event, step) == (kind, name):
                raise Crash(f"{kind} {name}")

        state = self.crash_then_resume(
            state_dir, lambda: self.runner(state_dir, on_event=boom).start(self.env.plan)
        )
        return state_dir, state

    def crash_at_call(self, when: str, k: int) -> str | None:
        """A fresh run crashed ``when`` (before/after) its ``k``-th AWS call, then resumed:
        its end state (None: it did not crash)."""
        state_dir = self.fresh()
        self.hooks.crash_at(when, None, k)
        return self.crash_then_resume(
            state_dir, lambda: self.runner(state_dir).start(self.env.plan)
        )

    def crash_then_resume(self, state_dir: Path, start: Any) -> str | None:
        """Run ``start`` (expected to crash), then resume; None if it did not crash."""
        try:
            start()
        except Crash:
            pass
        else:
            return None
        self.hooks.reset(aws=False)
        journal = Journal(state_dir)
        if journal.exists(RUN_ID):
            result = self.runner(state_dir).resume(RUN_ID)
        else:  # died before the journal was first written: the user simply runs migrate again
            result = self.runner(state_dir).start(self.env.plan)
        return result.record.state


def _check(
    matrix: Matrix, expected: dict[str, Any], label: str, state: str | None, failures: list[str]
) -> None:
    """Same end state, and AWS executed each mutating call exactly as often as
    in an uninterrupted run (moto overwrites on a second restore; AWS would not)."""
    got = aws_state(matrix.rds)
    if state != "done":
        failures.append(f"{label}: run ended {state}")
    elif got != expected:
        failures.append(f"{label}: end state differs: {_diff(expected, got)}")
    elif sorted(matrix.hooks.executed) != matrix.executed:
        failures.append(
            f"{label}: AWS executed {sorted(matrix.hooks.executed)}, not {matrix.executed}"
        )
    elif sorted(matrix.hooks.requested) != matrix.executed:
        failures.append(
            f"{label}: sent {sorted(matrix.hooks.requested)}, not {matrix.executed}: a create was "
            "repeated"
        )


def _diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    out = []
    for kind in a:
        if set(a[kind]) != set(b[kind]):
            out.append(f"{kind}: {sorted(a[kind])} != {sorted(b[kind])}")
        else:
            out += [
                f"{kind} {k}: {a[kind][k]} != {b[kind][k]}"
                for k in a[kind]
                if a[kind][k] != b[kind][k]
            ]
    return "; ".join(out)


@pytest.mark.slow  # a whole migration per API call: seconds (the boundaries below stay fast)
@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_at_every_api_call_then_resume(world, tmp_path, when):
    matrix = Matrix(world, tmp_path)
    expected, calls = matrix.reference()
    assert len(expected["instances"]) == 3 and len(expected["snapshots"]) == 1
    failures: list[str] = []
    for k in range(1, len(calls) + 1):
        state = matrix.crash_at_call(when, k)
        assert state is not None, f"no crash {when} call {k}"
        _check(matrix, expected, f"{when} call {k} ({calls[k - 1]})", state, failures)
    assert failures == []


def test_crash_at_every_step_boundary_then_resume(world, tmp_path):
    matrix = Matrix(world, tmp_path)
    points, expected = matrix.boundary_points()
    # settings has nothing to do here: AWS already says done, so it is never started
    assert ("step-started", "settings") not in points and ("step-finished", "settings") in points
    assert len(points) == 4 * 5 - 2
    failures: list[str] = []
    for kind, name in points:
        state_dir, state = matrix.crash_at_event(kind, name)
        if state is None:
            failures.append(f"{kind} {name}: the event never fired")
            continue
        _check(matrix, expected, f"{kind} {name}", state, failures)
        journal = Journal(state_dir).load(RUN_ID)
        if journal.state != "done":
            failures.append(f"{kind} {name}: journal {journal.state}")
    assert failures == []


def test_crash_twice_in_the_same_wait_then_resume(world, tmp_path):
    """Die in the instances wait, resume, die in the same wait again, resume."""
    matrix = Matrix(world, tmp_path)
    expected, _ = matrix.reference()
    state_dir = matrix.fresh()
    matrix.hooks.crash_at("after", "DescribeDBInstances", 3)
    with pytest.raises(Crash):
        matrix.runner(state_dir).start(matrix.env.plan)
    journal = Journal(state_dir).load(RUN_ID)
    assert journal.state == "running" and journal.step("instances").state == "running"
    matrix.hooks.reset(aws=False)
    matrix.hooks.crash_at("after", "DescribeDBInstances", 2)
    with pytest.raises(Crash):
        matrix.runner(state_dir).resume(RUN_ID)
    matrix.hooks.reset(aws=False)
    result = matrix.runner(state_dir).resume(RUN_ID)
    assert result.record.state == "done"
    # two attempts applied (and died); the third found every instance available
    assert result.record.step("instances").attempts == 2
    assert aws_state(matrix.rds) == expected
    assert [op for op, _ in matrix.hooks.mutating] == []  # the third attempt only had to look


@pytest.mark.slow  # a whole migration per mutating call
def test_crash_at_every_mutating_call_of_a_major_upgrade_then_resume(world, tmp_path):
    """PG 11: restore, upgrade, a provisioned bridge writer, the v2 range, v2
    instances, failover, bridge deleted -- each mutating call a crash point."""
    matrix = Matrix(world, tmp_path, version="11.21", readers=1)
    expected, calls = matrix.reference()
    assert set(expected["instances"]) == {"fresh-writer", "fresh-reader-1"}  # the bridge is gone
    assert expected["clusters"]["fresh"]["writer"] == ["fresh-writer"]
    mutating = [
        op for op in calls if op.startswith(("Create", "Restore", "Modify", "Failover", "Delete"))
    ]
    assert mutating == [
        "CreateDBClusterSnapshot", "RestoreDBClusterFromSnapshot", "ModifyDBCluster",
        "CreateDBInstance", "ModifyDBCluster", "CreateDBInstance", "CreateDBInstance",
        "FailoverDBCluster", "DeleteDBInstance",
    ]  # fmt: skip
    failures: list[str] = []
    counts: dict[str, int] = {}
    for op in mutating:
        counts[op] = counts.get(op, 0) + 1
        for when in ("before", "after"):
            state_dir = matrix.fresh()
            matrix.hooks.crash_at(when, op, counts[op])
            state = matrix.crash_then_resume(
                state_dir, lambda sd=state_dir: matrix.runner(sd).start(matrix.env.plan)
            )
            _check(matrix, expected, f"{when} {op} #{counts[op]}", state, failures)
    assert failures == []
