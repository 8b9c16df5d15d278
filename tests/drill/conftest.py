"""Drill tests: the session lab, a provisioned source with the seed (database
``app``), and helpers to read what AWS holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.clone.context import CloneSettings
from snapmigrate.commands import Config
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import connect, from_cluster
from tests.lab_fixtures import unique_id
from tests.waits import wait_until


class Source:
    """A seeded source in the lab and what the tests ask of it."""

    def __init__(self, lab: Any, cluster_id: str) -> None:
        self.lab = lab
        self.cluster_id = cluster_id

    def config(self, tmp_path: Path) -> Config:
        return Config(
            _clients=self.lab.clients(),
            state_dir=str(tmp_path / "state"),
            connect_map=str(self.lab.connect_map_path),
        )

    def settings(self) -> CloneSettings:
        return CloneSettings(
            connect_map=str(self.lab.connect_map_path),
            first_delay_s=0.1,
            max_delay_s=0.5,
            timeout_s=300,
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        found = from_cluster(self.lab.clients(), self.cluster_id, "test")
        with connect(found, "app", connect_map=ConnectMap.load(self.lab.connect_map_path)) as c:
            cur = c.execute(sql)  # test text, no input
            return cur.fetchall() if cur.description else []

    def clusters(self) -> set[str]:
        rds = self.lab.client("rds")
        return {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}

    def instances(self) -> set[str]:
        rds = self.lab.client("rds")
        return {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}

    def snapshot(self, name: str) -> dict[str, Any]:
        """A manual snapshot of the source, waited for."""
        rds = self.lab.client("rds")
        rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=name, DBClusterIdentifier=self.cluster_id
        )

        def available() -> dict[str, Any] | None:
            found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)
            snap: dict[str, Any] = found["DBClusterSnapshots"][0]
            return snap if snap["Status"] == "available" else None

        return wait_until(f"snapshot {name}", available, timeout_s=120, poll_s=0.2)


@pytest.fixture(scope="module")
def drill_source(lab: Any) -> Source:
    cluster_id = unique_id("drsrc")
    lab.seed("provisioned", cluster_id=cluster_id, scale=1, dns=False)
    seeded = datetime.now(UTC)
    rds = lab.client("rds")

    def restorable() -> datetime:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        return found["LatestRestorableTime"]  # type: ignore[no-any-return]

    # pitr:latest restores to the second before LatestRestorableTime: let that second
    # hold the whole seed (its last writes included), or the copy lacks them.
    later = seeded + timedelta(seconds=1)
    wait_until("the seed restorable", lambda: restorable() >= later, timeout_s=60, poll_s=0.2)
    return Source(lab, cluster_id)
