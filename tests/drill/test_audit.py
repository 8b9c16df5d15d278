"""``drill audit``: its rules without AWS, and the lab with and without copies in
the DR region (read-only: nothing is created)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate.drill.audit import AuditFacts, findings
from tests.drill.conftest import Source
from tests.lab_fixtures import unique_id
from tests.waits import wait_until

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _facts(**overrides: Any) -> AuditFacts:
    fields: dict[str, Any] = dict(
        source="src", now=NOW, retention_days=7, deletion_protection=True, encrypted=False,
        newest_automated=NOW - timedelta(hours=3), newest_manual=NOW - timedelta(days=2),
        manual_used=10, manual_max=100,
    )  # fmt: skip
    fields.update(overrides)
    return AuditFacts(**fields)


def _levels(facts: AuditFacts) -> dict[str, str]:
    return {f.code: f.level for f in findings(facts)}


def test_a_ready_source_has_no_warning() -> None:
    assert set(_levels(_facts()).values()) == {"ok"}


@pytest.mark.parametrize(
    ("overrides", "code", "level"),
    [
        ({"retention_days": 1}, "backup-retention", "warn"),
        ({"newest_automated": NOW - timedelta(hours=30)}, "automated-snapshot", "warn"),
        ({"newest_manual": None}, "manual-snapshot", "warn"),
        ({"manual_used": 95}, "snapshot-quota", "warn"),
        ({"deletion_protection": False}, "deletion-protection", "warn"),
        ({"to_region": "us-west-2"}, "dr-copy", "block"),
        ({"to_region": "us-west-2", "newest_copy": NOW - timedelta(days=3), "copies": 1},
         "dr-copy", "warn"),
        ({"to_region": "us-west-2", "newest_copy": NOW, "copies": 1, "in_flight": 5},
         "copy-quota", "warn"),
        ({"to_region": "us-west-2", "encrypted": True, "newest_copy": NOW}, "dr-kms", "warn"),
        ({"to_region": "us-west-2", "encrypted": True, "kms_key": "k", "kms_state": "Disabled"},
         "dr-kms", "block"),
        ({"to_region": "us-west-2", "encrypted": True, "kms_key": "k", "kms_state": "Enabled"},
         "dr-kms", "ok"),
    ],
)  # fmt: skip
def test_each_rule(overrides: dict[str, Any], code: str, level: str) -> None:
    assert _levels(_facts(**overrides))[code] == level


def _audit(source: Source, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        cli, ["-o", "json", "drill", "audit", source.cluster_id, *args],
        obj=AppContext(_clients=source.lab.clients()),
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.slow
def test_the_lab_without_then_with_a_copy_in_the_dr_region(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    before = drill_source.clusters()
    code, found = _audit(drill_source)
    assert code == 0 and found["source"] == drill_source.cluster_id
    assert {f["code"] for f in found["findings"]} >= {
        "backup-retention", "automated-snapshot", "manual-snapshot", "deletion-protection"
    }  # fmt: skip
    code, found = _audit(drill_source, "--to-region", "us-west-2")
    assert code == 4
    assert {"level": "block", "code": "dr-copy"}.items() <= next(
        f for f in found["findings"] if f["code"] == "dr-copy"
    ).items()
    snap = drill_source.snapshot(unique_id("draud"))
    west = drill_source.lab.client("rds", region="us-west-2")
    copy = unique_id("draudcopy")
    west_key = drill_source.lab.client("kms", region="us-west-2").create_key()["KeyMetadata"]
    west.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=snap["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier=copy,
        SourceRegion="us-east-1",
        KmsKeyId=west_key["Arn"],  # the seed is encrypted
    )

    def available() -> bool:
        found = west.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=copy)
        return bool(found["DBClusterSnapshots"][0]["Status"] == "available")

    wait_until(f"copy {copy}", available, timeout_s=120, poll_s=0.2)
    try:
        code, found = _audit(drill_source, "--to-region", "us-west-2")
        assert code == 0, found
        dr = next(f for f in found["findings"] if f["code"] == "dr-copy")
        assert dr["level"] == "ok" and "1 copy(ies) in us-west-2" in dr["message"]
        assert next(f for f in found["findings"] if f["code"] == "dr-kms")["level"] == "warn"
        code, found = _audit(drill_source, "--to-region", "us-west-2", "--kms-key", west_key["Arn"])
        assert code == 0, found
        assert next(f for f in found["findings"] if f["code"] == "dr-kms")["level"] == "ok"
    finally:
        west.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=copy)
    assert drill_source.clusters() == before
