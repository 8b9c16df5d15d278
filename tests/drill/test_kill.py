"""A drill killed (SIGKILL: nothing of ours runs) in each phase, then
``drill run --resume ID``: it finishes on the same copy and t0, and leaves
nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.drill import evidence
from tests.drill.conftest import Source
from tests.waits import wait_until

pytestmark = pytest.mark.slow


def _record(state: Path) -> dict[str, Any] | None:
    found = sorted((state / "drills").glob("*.json")) if (state / "drills").is_dir() else []
    try:
        return json.loads(found[0].read_text()) if found else None
    except ValueError:  # not there yet (written atomically: never half)
        return None


def _in(phase: str, state: Path, source: Source) -> dict[str, Any] | None:
    """The drill's record once it is in ``phase`` (restore and writer: once AWS holds
    the cluster, the writer)."""
    record = _record(state)
    if record is None:
        return None
    if phase in ("restore", "writer"):
        made = record["cluster"] + ("-writer" if phase == "writer" else "")
        held = source.instances() if phase == "writer" else source.clusters()
        return record if record.get("phase") == "restore" and made in held else None
    return record if record.get("phase") == phase else None


@pytest.mark.parametrize("phase", ["restore", "writer", "canary", "checks", "teardown"])
def test_a_drill_killed_in_each_phase_resumes_and_leaves_nothing(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path, phase: str
) -> None:
    state = tmp_path / "state"
    before = drill_source.clusters(), drill_source.instances()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snapmigrate", "drill", "run", drill_source.cluster_id,
         "--from", "pitr:latest", "--database", "app", "--yes", "--state-dir", str(state),
         "-o", "json"],
        env={**os.environ, **lab_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        record = wait_until(
            f"the drill in phase {phase}",
            lambda: _in(phase, state, drill_source),
            timeout_s=120,
            poll_s=0.01,
        )
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -9
    if phase != "teardown":
        assert record["cluster"] in drill_source.clusters()  # the kill left the copy
    result = commands.drill_resume(
        drill_source.config(tmp_path), record["id"], settings=drill_source.settings()
    )
    assert result.passed, result.to_dict()
    assert result.t0 == record["t0"] and result.cluster == record["cluster"]
    assert "interrupted" in [p.name for p in result.phases]
    assert (drill_source.clusters(), drill_source.instances()) == before
    assert evidence.load_record(str(state), record["id"])["state"] == "done"
    assert evidence.read_all(str(state))[-1]["drill"]["id"] == record["id"]
