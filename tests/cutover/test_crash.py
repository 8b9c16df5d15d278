"""Kill the cutover at every phase (a real process, ``os._exit``), then resume
or roll back: it converges, and nothing is left half-done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.cutover import Cutover, CutoverOptions
from tests.cutover.conftest import Migrated, migrate
from tests.cutover.test_cutover import frozen, target_endpoint

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
POINTS = [
    "started:freeze",
    "started:catch-up",
    "started:verify",
    "started:swap",
    "mid-swap",
    "finished:swap",
    "started:prove",
]


def crash(m: Migrated, mode: str, point: str, env: dict[str, str]) -> None:
    args = [
        sys.executable,
        "-m",
        "tests.cutover.crasher",
        str(m.lab.dir),
        str(m.state_dir),
        m.run_id,
        mode,
        point,
    ]
    if mode == "dns":
        args += [m.zone_id, m.record]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, f"{point}: {done.returncode} {done.stderr[-2000:]}"


def options(m: Migrated, mode: str) -> CutoverOptions:
    return (
        CutoverOptions(mode="dns", zone_id=m.zone_id, record_name=m.record)
        if mode == "dns"
        else CutoverOptions(mode="rename")
    )


def assert_pre_cutover(m: Migrated) -> None:
    assert not frozen(m, m.source)
    assert {m.source, m.target} <= m.cluster_ids()
    assert m.record_value() == m.source_endpoint


def assert_cut_over(m: Migrated, mode: str) -> None:
    if mode == "dns":
        assert m.record_value() == target_endpoint(m)
        assert frozen(m, m.source)
    else:
        assert f"{m.source}-old-{m.run_id}" in m.cluster_ids() and m.target not in m.cluster_ids()
        assert frozen(m, f"{m.source}-old-{m.run_id}")


@pytest.mark.parametrize("mode", ["dns", "rename"])
def test_crash_at_every_phase_then_resume_converges(
    lab: Any, lab_env: dict[str, str], tmp_path: Path, mode: str
):
    import os

    m = migrate(lab, tmp_path)
    env = {**os.environ, **lab_env}
    cut = Cutover(lab.clients(), m.journal, connect_map=str(lab.connect_map_path))
    for point in POINTS:
        crash(m, mode, point, env)
        assert m.journal.load(m.run_id).cutover["state"] == "running", point
        result = cut.run(m.run_id, options(m, mode))
        assert result.record.cutover["state"] == "done", (point, result.record.cutover.get("error"))
        assert_cut_over(m, mode)
        phases = {p["name"]: p for p in result.record.cutover["phases"]}
        assert all(p["state"] == "done" for p in phases.values()), point
        cut.rollback(m.run_id)
        assert_pre_cutover(m)


def test_rollback_after_a_crash_mid_swap_restores_the_pre_cutover_state(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    import os

    m = migrate(lab, tmp_path)
    env = {**os.environ, **lab_env}
    crash(m, "rename", "mid-swap", env)
    assert (
        f"{m.source}-old-{m.run_id}" in m.cluster_ids() and m.source not in m.cluster_ids()
    )  # half way
    back = Cutover(lab.clients(), m.journal, connect_map=str(lab.connect_map_path)).rollback(
        m.run_id
    )
    assert back.record.cutover["state"] == "rolled-back"
    assert_pre_cutover(m)
