"""``drill run`` end to end in the lab: real PostgreSQL behind the lab's AWS,
RTO and both RPOs measured and checked against what the test arranged."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.drill import evidence
from snapmigrate.drill import run as drill_run
from snapmigrate.errors import BadInput, OperationFailed, SnapmigrateError
from tests.drill.conftest import Source
from tests.lab_fixtures import unique_id
from tests.waits import wait_until

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


def test_a_drill_from_pitr_latest_restores_the_time_read_before_t0(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    config = drill_source.config(tmp_path)
    beats = commands.drill_heartbeat(
        config, drill_source.cluster_id, database="app", every="200ms", duration="1s"
    )
    assert beats.last is not None
    rds = drill_source.lab.client("rds")

    def restorable() -> datetime:
        found = rds.describe_db_clusters(DBClusterIdentifier=drill_source.cluster_id)
        return found["DBClusters"][0]["LatestRestorableTime"]  # type: ignore[no-any-return]

    # the last beat restorable (to the second: a restore time is whole seconds)
    after_beats = _at(beats.last) + timedelta(seconds=1)
    read = wait_until("the beats restorable", lambda: restorable() >= after_beats and restorable())
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        from_="pitr:latest",
        check="schema,counts",
        heartbeat="public.snapmigrate_heartbeat",
        database="app",
        rto_target="5m",
        settings=drill_source.settings(),
    )
    data = result.to_dict()
    assert result.passed and data["targets"] == {"rpo_s": None, "rto_s": 300.0, "met": True}
    assert data["drill"]["from"] == "pitr:latest"
    assert data["drill"]["recovery_point"].startswith("point in time ")
    point = _at(data["drill"]["recovery_point"].removeprefix("point in time "))
    assert point >= read.replace(microsecond=0)  # the LatestRestorableTime read before t0
    t0 = _at(result.t0)
    assert result.rpo_metadata_s is not None and result.rpo_metadata_s >= 0
    assert abs(result.rpo_metadata_s - (t0 - point).total_seconds()) < 0.01
    # the heartbeat stopped before the recovery point: its last beat is the copy's newest
    assert result.rpo_data_s is not None
    assert abs(result.rpo_data_s - (t0 - _at(beats.last)).total_seconds()) < 1.0
    assert result.rto_s is not None and 0 < result.rto_s < 300
    assert [c.name for c in result.checks] == ["heartbeat", "schema", "counts"]
    assert data["drill"]["cluster"] not in drill_source.clusters()


@pytest.mark.parametrize(
    ("inject", "failing"), [("corrupt-row", "checksum"), ("missing-table", "schema")]
)
def test_each_injection_makes_the_drill_fail_naming_its_check_and_the_source_is_untouched(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path, inject: str, failing: str
) -> None:
    config = drill_source.config(tmp_path)
    commands.drill_heartbeat(
        config, drill_source.cluster_id, database="app", every="200ms", duration="1s"
    )
    drill_source.snapshot(unique_id("drinj"))
    sums = "SELECT sum(abalance), sum(bid), count(*) FROM pgbench_accounts"
    source_before = drill_source.query(sums), drill_source.query("SELECT count(*) FROM pg_tables")
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        heartbeat="public.snapmigrate_heartbeat",
        database="app",
        inject=inject,
        settings=drill_source.settings(),
    )
    assert result.exit_code == 3 and not result.passed
    assert result.failed_checks() == (failing,)
    assert result.injected is not None and result.injected.startswith(inject)
    assert "inject" in _phases(result)
    bad = next(c for c in result.checks if c.name == failing)
    damaged = result.injected.split(" of " if failing == "checksum" else "dropped ")[1]
    database, table = damaged.removesuffix(" on the copy").split(" ", 1)
    assert f"{database} {table}" in bad.detail or f"{database} table {table}" in bad.detail
    assert (drill_source.query(sums), drill_source.query("SELECT count(*) FROM pg_tables")) == (
        source_before
    )
    assert result.cluster not in drill_source.clusters()


def test_a_stale_snapshot_misses_the_rpo_target(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    config = drill_source.config(tmp_path)
    rds = drill_source.lab.client("rds")
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        check="counts",
        inject="stale-snapshot",
        rpo_target="2s",
        settings=drill_source.settings(),
    )
    data = result.to_dict()
    assert result.exit_code == 3 and data["targets"]["met"] is False
    t0 = _at(result.t0)
    snaps = rds.describe_db_cluster_snapshots(DBClusterIdentifier=drill_source.cluster_id)
    named = {s["DBClusterSnapshotIdentifier"]: s for s in snaps["DBClusterSnapshots"]}
    stale = next(n for n in named if f"snapshot {n} taken" in data["drill"]["recovery_point"])
    assert named[stale]["SnapshotCreateTime"] < t0 - timedelta(seconds=2)  # beyond the target
    assert data["drill"]["injected"].startswith("stale-snapshot")
    assert result.rpo_metadata_s is not None and result.rpo_metadata_s > 2
    assert result.failed_checks() == () and result.cluster not in drill_source.clusters()


def test_a_slow_restore_misses_the_rto_target(
    drill_source: Source, lab_knobs: Any, lab_env: dict[str, str], tmp_path: Path
) -> None:
    lab_knobs.set_knobs(delay_seconds=2.0)  # each new resource stays creating 2 s at least
    result = commands.drill_run(
        drill_source.config(tmp_path),
        drill_source.cluster_id,
        from_="pitr:latest",
        check="counts",
        rto_target="1s",
        settings=drill_source.settings(),
    )
    assert result.exit_code == 3 and result.failed_checks() == ()
    assert result.to_dict()["targets"] == {"rpo_s": None, "rto_s": 1.0, "met": False}
    assert result.rto_s is not None and result.rto_s >= 4  # the cluster, then its writer
    assert result.cluster not in drill_source.clusters()


def test_a_drill_into_a_second_region_copies_the_snapshot_and_deletes_the_copy(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    config = drill_source.config(tmp_path)
    beats = commands.drill_heartbeat(
        config, drill_source.cluster_id, database="app", every="200ms", duration="1s"
    )
    assert beats.last is not None
    snap = drill_source.snapshot(unique_id("drreg"))
    west = drill_source.lab.client("rds", region="us-west-2")

    def west_state() -> tuple[set[str], set[str]]:
        clusters = {c["DBClusterIdentifier"] for c in west.describe_db_clusters()["DBClusters"]}
        snaps = west.describe_db_cluster_snapshots()["DBClusterSnapshots"]
        return clusters, {s["DBClusterSnapshotIdentifier"] for s in snaps}

    before, east = west_state(), drill_source.clusters()
    # The seed is encrypted: AWS refuses its copy to another region without a key of that
    # region, so the drill refuses before t0, and nothing is made anywhere.
    with pytest.raises(BadInput, match="is encrypted: a copy to us-west-2 needs --kms-key"):
        commands.drill_run(config, drill_source.cluster_id, to_region="us-west-2", database="app")
    assert west_state() == before and drill_source.clusters() == east
    west_key = drill_source.lab.client("kms", region="us-west-2").create_key()
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        to_region="us-west-2",
        kms_key=west_key["KeyMetadata"]["Arn"],
        heartbeat="public.snapmigrate_heartbeat",
        database="app",
        settings=drill_source.settings(),
    )
    data = result.to_dict()
    assert result.passed, data
    assert data["drill"]["region"] == "us-west-2"
    assert snap["DBClusterSnapshotIdentifier"] in data["drill"]["recovery_point"]
    assert _phases(result)[:3] == ["recovery-point", "copy", "restore"]
    assert {r["kind"] for r in data["teardown"]["resources"]} == {"instance", "cluster", "snapshot"}
    t0 = _at(result.t0)
    assert result.rpo_metadata_s is not None
    assert abs(result.rpo_metadata_s - (t0 - snap["SnapshotCreateTime"]).total_seconds()) < 1
    assert result.rto_s is not None and result.rto_s >= result.phases[1].took_s
    assert result.rpo_data_s is not None
    assert abs(result.rpo_data_s - (t0 - _at(beats.last)).total_seconds()) < 1.0
    assert west_state() == before
    assert result.cluster not in drill_source.clusters()


def test_sql_checks_run_on_the_copy_and_keep_leaves_it_with_an_expiry(
    drill_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    config = drill_source.config(tmp_path)
    checks = tmp_path / "checks.sql"
    checks.write_text(
        "SELECT count(*) = 100000 AS ok, count(*) || ' accounts' AS detail\n"
        "FROM pgbench_accounts;\n"
        "SELECT false AS ok, 'on purpose' AS detail;\n"
        "SELECT 1 AS nothing_called_ok;\n"
    )
    result = commands.drill_run(
        config,
        drill_source.cluster_id,
        from_="pitr:latest",
        check=f"counts,sql:{checks}",
        database="app",
        keep="2h",
        settings=drill_source.settings(),
    )
    assert result.exit_code == 3 and result.failed_checks() == (f"sql:{checks}",)
    sql = next(c for c in result.checks if c.name.startswith("sql:"))
    assert sql.detail.startswith("1 of 3 query(ies) ok; failed:")
    assert "(on purpose)" in sql.detail and "no row with a column 'ok'" in sql.detail
    assert [r.action.split(" ")[0] for r in result.resources] == ["kept"]
    rds = drill_source.lab.client("rds")
    kept = rds.describe_db_clusters(DBClusterIdentifier=result.cluster)["DBClusters"][0]
    tags = {t["Key"]: t["Value"] for t in kept["TagList"]}
    expires = _at(tags["snapmigrate:expires-at"]) - _at(result.t0)
    assert timedelta(hours=2) - timedelta(minutes=1) < expires <= timedelta(hours=2)
    assert tags["snapmigrate:final-snapshot"] == "no" and tags["snapmigrate:drill"] == result.id
    commands.clone_destroy(config, result.cluster, settings=drill_source.settings())
    assert result.cluster not in drill_source.clusters()


@pytest.mark.parametrize(
    ("error", "code"), [(KeyboardInterrupt(), 130), (OperationFailed("the checks broke"), 1)]
)
def test_ctrl_c_or_a_failure_after_the_restore_tears_the_copy_down(
    drill_source: Source,
    lab_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    code: int,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(drill_run, "run_checks", broken)
    before = drill_source.clusters(), drill_source.instances()
    config = drill_source.config(tmp_path)
    with pytest.raises(SnapmigrateError) as raised:
        commands.drill_run(
            config, drill_source.cluster_id, from_="pitr:latest", settings=drill_source.settings()
        )
    assert raised.value.exit_code == code
    assert (drill_source.clusters(), drill_source.instances()) == before
    kept = evidence.read_all(config.state_dir)[-1]
    assert kept["passed"] is False and kept["error"] and kept["teardown"]["done"] is True
    assert [p["name"] for p in kept["phases"]][-1] == "canary"  # it got that far
