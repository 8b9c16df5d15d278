"""``snapmigrate cutover`` / ``rollback`` on the command line: the happy path with a
report, and every bad input named in the issue -> exit 2, nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate.cli import cli
from tests.cutover.conftest import Migrated, migrate
from tests.cutover.test_cutover import frozen

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def run(m: Migrated, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--state-dir", str(m.state_dir)])


def unchanged(m: Migrated) -> None:
    assert not frozen(m, m.source)
    assert {m.source, m.target} <= m.cluster_ids()
    assert m.record_value() == m.source_endpoint


def test_cutover_and_rollback_from_the_command_line_with_reports(
    migrated: Migrated, tmp_path: Path, lab_env: dict[str, str]
):
    m = migrated
    report = tmp_path / "cutover.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snapmigrate",
            "cutover",
            m.run_id,
            "--mode",
            "dns",
            "--dns-zone-id",
            m.zone_id,
            "--dns-name",
            m.record,
            "--yes",
            "--report",
            str(report),
            "-o",
            "json",
            "--state-dir",
            str(m.state_dir),
        ],
        cwd=ROOT,
        env={**__import__("os").environ, **lab_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["state"] == "done" and data["mode"] == "dns" and data["unavailable_s"] > 0
    assert [p["name"] for p in data["phases"]] == [
        "guardrails",
        "freeze",
        "catch-up",
        "verify",
        "swap",
        "prove",
    ]
    text = report.read_text()
    assert "writes unavailable" in text and "| prove | done |" in text
    again = run(m, "cutover", m.run_id, "--yes")
    assert again.exit_code == 0 and "already cut over" in again.output
    back = run(m, "rollback", m.run_id, "--yes", "--report", str(tmp_path / "rollback.json"))
    assert back.exit_code == 0, back.output
    assert json.loads((tmp_path / "rollback.json").read_text())["state"] == "rolled-back"
    unchanged(m)


def test_bad_input_exits_2_and_changes_nothing(migrated: Migrated, lab: Any):
    m = migrated
    cases = [
        (["cutover", "0000beef", "--mode", "rename", "--yes"], "no run 0000beef"),
        (["cutover", "not-a-run", "--mode", "rename", "--yes"], "8 lowercase hex"),
        (["cutover", m.run_id, "--yes"], "say how to cut over"),
        (["cutover", m.run_id, "--mode", "dns", "--yes"], "needs --dns-zone-id and --dns-name"),
        (
            [
                "cutover",
                m.run_id,
                "--mode",
                "dns",
                "--dns-zone-id",
                "ZNOSUCHZONE1",
                "--dns-name",
                m.record,
                "--yes",
            ],
            "ZNOSUCHZONE1",
        ),
        (
            [
                "cutover",
                m.run_id,
                "--mode",
                "dns",
                "--dns-zone-id",
                m.zone_id,
                "--dns-name",
                "nope." + m.record,
                "--yes",
            ],
            "does not exist",
        ),
        (
            ["cutover", m.run_id, "--mode", "rename", "--dns-name", "x", "--yes"],
            "only apply with --mode dns",
        ),
        (["cutover", m.run_id, "--mode", "rename", "--report", "out.txt", "--yes"], ".md or .json"),
        (["cutover", m.run_id, "--mode", "rename"], "pass --yes"),
        (["rollback", m.run_id, "--yes"], "no cutover"),
    ]
    for args, message in cases:
        result = run(m, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
        unchanged(m)


def test_a_run_not_migrated_yet_is_refused(migrated: Migrated):
    m = migrated
    m.journal.save(replace(m.journal.load(m.run_id), state="failed"))
    result = run(m, "cutover", m.run_id, "--mode", "rename", "--yes")
    assert result.exit_code == 2 and "not migrated yet" in result.output
    unchanged(m)


def test_rename_refuses_a_name_collision(lab: Any, lab_env: dict[str, str], tmp_path: Path):
    m = migrate(lab, tmp_path)
    lab.client("rds").create_db_cluster(
        DBClusterIdentifier=f"{m.source}-old-{m.run_id}",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="postgres",
        MasterUserPassword="someone-elses-1",
    )
    result = run(m, "cutover", m.run_id, "--mode", "rename", "--yes")
    assert result.exit_code == 2 and "name collision" in result.output, result.output
    unchanged(m)
