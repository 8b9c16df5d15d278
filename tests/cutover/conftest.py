"""Cutover tests run in the session lab: real PostgreSQL servers behind moto,
a Route 53 zone per test, a migration run per test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.freeze import SourceFreezer
from snapmigrate.migrate.runner import Runner
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from snapmigrate_lab.seed import point_record
from tests.lab_fixtures import unique_id


@dataclass
class Migrated:
    """A finished migration run in the lab, with a DNS record clients use."""

    lab: Any
    run_id: str
    journal: Journal
    state_dir: Path
    source: str
    target: str
    zone_id: str
    record: str
    source_endpoint: str

    @property
    def connect_map(self) -> ConnectMap:
        return ConnectMap.load(self.lab.connect_map_path)

    def endpoint(self, cluster_id: str, label: str = "x") -> Endpoint:
        return from_cluster(self.lab.clients(), cluster_id, label)

    def by_name(self, host: str) -> Endpoint:
        """How an application reaches the database: a host name, the master login (pgpass)."""
        return Endpoint("app", host, 5432, user="postgres")

    def psql(self, cluster_id: str, sql: str) -> str:
        return str(self.lab.server_for(cluster_id).psql(sql, dbname="app")).strip()

    def record_value(self) -> str:
        r53 = self.lab.client("route53")
        sets = r53.list_resource_record_sets(HostedZoneId=self.zone_id)["ResourceRecordSets"]
        return next(r["ResourceRecords"][0]["Value"] for r in sets if r["Type"] == "CNAME")

    def cluster_ids(self) -> set[str]:
        return {
            c["DBClusterIdentifier"]
            for c in self.lab.client("rds").describe_db_clusters()["DBClusters"]
        }


def fast_settings(lab: Any) -> RunSettings:
    return RunSettings(
        connect=True, connect_map=str(lab.connect_map_path), first_delay_s=0.1, max_delay_s=0.5
    )


def migrate(
    lab: Any,
    tmp_path: Path,
    *,
    freeze_before: bool = False,
    before_snapshot: Any = None,
    engine_version: str | None = None,
    min_acu: float | None = None,
) -> Migrated:
    """Seed a v1 source, give it a DNS record, migrate it (optionally frozen first; to
    another engine version: the restore upgrades the data to its major)."""
    source = unique_id("cut")
    seeded = lab.seed("v1", cluster_id=source, scale=1, dns=False)
    endpoint = seeded.endpoint
    record = f"db.{source}.test"
    zone_id = point_record(lab, endpoint, zone=f"{source}.test", record=record, ttl=5)
    if before_snapshot is not None:
        before_snapshot(source, record)
    state_dir = tmp_path / f"state-{source}"
    journal = Journal(state_dir)
    options = PlanOptions(
        target=f"{source}-new", readers=1, engine_version=engine_version, min_acu=min_acu
    )
    plan = make_plan(lab.clients(), source, options)
    runner = Runner(
        lab.clients(),
        journal,
        settings=fast_settings(lab),
        freezer=SourceFreezer() if freeze_before else None,
    )
    result = runner.start(plan)
    assert result.record.state == "done", result.record.error
    assert seeded.cluster_id == source
    return Migrated(
        lab, result.run_id, journal, state_dir, source, f"{source}-new", zone_id, record, endpoint
    )


@pytest.fixture
def migrated(lab: Any, lab_env: dict[str, str], tmp_path: Path) -> Migrated:
    return migrate(lab, tmp_path)
