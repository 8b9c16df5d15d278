"""``snapmigrate lab demo --scenario catch-up``: a provisioned source migrated with
--catch-up logical while an application writes, and cut over with nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate_lab import Lab
from snapmigrate_lab.demo import run_demo
from snapmigrate_lab.demo_catchup import STAGES
from snapmigrate_lab.demo_runner import DemoContext

pytestmark = pytest.mark.slow


def test_the_catch_up_demo_cuts_over_a_database_in_use_and_loses_nothing(tmp_path: Path):
    shown: list[str] = []
    lab = Lab(tmp_path / "lab")
    ctx = DemoContext(lab=lab, scale=1, show=shown.append, progress=lambda _: None)
    result = run_demo(ctx, STAGES)
    assert result.error is None, result.error
    assert [(s.name, s.state) for s in result.stages] == [
        ("up", "done"), ("seed", "done"), ("plan", "done"), ("migrate", "done"),
        ("status", "done"), ("cutover", "done"), ("summary", "done"), ("down", "done"),
    ]  # fmt: skip
    data = result.to_dict()
    assert data["catch_up"]["state"] == "streaming"
    assert data["load"]["check"]["lost"] == 0 and data["load"]["check"]["committed"] > 0
    cutover = data["cutover"]
    assert [p["name"] for p in cutover["phases"]][-1] == "end-catch-up"
    assert cutover["unavailable_s"] < 5
    assert [s["name"] for s in data["run"]["steps"]][:2] == ["prepare-source", "publication"]
    assert not lab.is_running()


def test_an_unknown_scenario_is_bad_input(tmp_path: Path):
    result = CliRunner().invoke(
        cli, ["lab", "demo", "--scenario", "magic", "--dir", str(tmp_path / "x")], obj=AppContext()
    )
    assert result.exit_code == 2 and "magic" in result.output
    assert not (tmp_path / "x").exists()
