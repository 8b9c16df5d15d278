"""``snapmigrate drill`` through the command line, in the lab: exit codes, the
JSON on stdout, the report file, the evidence and ``history``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from tests.drill.conftest import Source


def _cli(source: Source, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        cli, ["-o", "json", *args], obj=AppContext(_clients=source.lab.clients())
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.output


@pytest.mark.slow
def test_run_with_a_report_then_history_with_its_trend(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    report = tmp_path / "drill.md"
    code, out = _cli(
        drill_source, "drill", "run", drill_source.cluster_id, "--from", "pitr:latest",
        "--check", "schema,counts", "--rpo-target", "1h", "--report", str(report), "--yes",
        *state,
    )  # fmt: skip
    assert code == 0, (out.get("checks"), out.get("targets"), out.get("error"))
    assert out["passed"] is True and out["drill"]["from"] == "pitr:latest"
    text = report.read_text()
    assert f"# DR drill {out['drill']['id']}" in text and "| canary |" in text
    code, missed = _cli(
        drill_source, "drill", "run", drill_source.cluster_id, "--from", "pitr:latest",
        "--check", "counts", "--rto-target", "1s", "--yes", *state,
    )  # fmt: skip
    assert code == 3 and missed["targets"]["met"] is False
    page = tmp_path / "history.html"
    code, listed = _cli(drill_source, "drill", "history", "--html", str(page), *state)
    assert code == 0 and [d["passed"] for d in listed["drills"]] == [True, False]
    assert page.read_text().count("<polyline") == 2


def test_bad_input_is_exit_2_before_anything_is_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["drill", "run", "src", "--inject", "corrupt-row", "--yes", "--state-dir",
              str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2 and "needs --heartbeat" in result.output
    assert not (tmp_path / "drills").exists()
