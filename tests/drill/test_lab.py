"""``drill run`` end to end in the lab: real PostgreSQL behind the lab's AWS,
RTO and both RPOs measured and checked against what the test arranged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.drill import evidence
from tests.drill.conftest import Source
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _phases(result: Any) -> list[str]:
    return [p.name for p in result.phases]


def test_a_drill_from_the_latest_snapshot_with_a_heartbeat_passes_and_leaves_nothing(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    config = drill_source.config(tmp_path)
    beats = commands.drill_heartbeat(
        config, drill_source.cluster_id, database="app", every="200ms", duration="1s"
    )
    assert beats.beats >= 3 and beats.last is not None
    snap = drill_source.snapshot(unique_id("drsnap"))  # the newest: taken after the beats
    before = drill_source.clusters(), drill_source.instances()
    # Writes after the recovery point: drift, reported with its writes, not a failure.
    drill_source.query(
        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
        "SELECT 1, 1, g, 0, now() FROM generate_series(1, 5) g"
    )
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        heartbeat="public.snapmigrate_heartbeat",
        database="app",
        rpo_target="1h",
        settings=drill_source.settings(),
    )
    data = result.to_dict()
    assert result.passed and result.exit_code == 0, data
    assert data["drill"]["recovery_point"].startswith(
        f"manual snapshot {snap['DBClusterSnapshotIdentifier']}"
    )
    t0 = _at(result.t0)
    # Metadata RPO: t0 minus the snapshot's creation time, never negative.
    metadata = (t0 - snap["SnapshotCreateTime"]).total_seconds()
    assert result.rpo_metadata_s is not None and result.rpo_metadata_s >= 0
    assert abs(result.rpo_metadata_s - metadata) < 1.0
    # Data RPO: t0 minus the newest beat in the copy -- the heartbeat's last beat.
    stopped = (t0 - _at(beats.last)).total_seconds()
    assert result.rpo_data_s is not None and abs(result.rpo_data_s - stopped) < 1.0
    assert result.rto_s is not None and 0 < result.rto_s < 300
    assert _phases(result) == [
        "recovery-point", "restore", "writer", "canary", "checks", "teardown"
    ]  # fmt: skip
    assert [c.name for c in result.checks] == ["heartbeat", "schema", "counts", "checksum"]
    assert all(c.passed for c in result.checks)
    counts = next(c.detail for c in result.checks if c.name == "counts")
    assert "drift: app public.pgbench_history (5 writes since)" in counts
    assert data["teardown"]["done"] and any(
        r["kind"] == "cluster" and r["action"].startswith("deleted")
        for r in data["teardown"]["resources"]
    )
    assert (drill_source.clusters(), drill_source.instances()) == before
    assert (
        evidence.read_all(config.state_dir, drill_source.cluster_id)[-1]["drill"]["id"] == result.id
    )
