"""Catch-up tests run in the session lab: a provisioned source (PostgreSQL 15, as
the seed's engine version), a DNS record clients use, migration runs with
``--catch-up logical``, and a look at what the run left on both servers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from snapmigrate import loadgen
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.runner import Runner
from snapmigrate.model import Plan
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from snapmigrate_lab.seed import point_record
from tests.lab.conftest import wait_cluster, wait_instance
from tests.lab.test_logical import logical_group
from tests.lab_fixtures import need_majors, unique_id

#: The seed's tables without a primary key (``--replica-identity-full`` fixes them).
KEYLESS = ("public.audit_log", "public.pgbench_history")


@dataclass
class Source:
    """A seeded provisioned source with a DNS record clients use."""

    lab: Any
    cluster_id: str
    endpoint: str
    zone_id: str
    record: str
    runs: list[str] = field(default_factory=list)

    @property
    def connect_map(self) -> ConnectMap:
        return ConnectMap.load(self.lab.connect_map_path)

    def app(self, host: str | None = None) -> Endpoint:
        """How an application reaches the database: a name, the master login (pgpass)."""
        return Endpoint("app", host or self.record, 5432, user="postgres")

    def load(self, rate: float = 40) -> loadgen.LoadRun:
        options = loadgen.LoadOptions(workers=2, rate_per_worker=rate)
        return loadgen.LoadRun(self.app(), "app", options, connect_map=self.connect_map).start()


def seed_source(lab: Any, *, prepared: bool = True, full_identity: bool | None = None) -> Source:
    """A provisioned source holding the load's table already; ``prepared``: made to
    publish outside snapmigrate (a custom group, the writer rebooted) and, unless
    ``full_identity`` says otherwise, REPLICA IDENTITY FULL on the tables without a key."""
    need_majors(15)
    cluster_id = unique_id("pub")
    seeded = lab.seed("provisioned", cluster_id=cluster_id, scale=1, dns=False)
    if prepared:
        rds = lab.client("rds")
        rds.modify_db_cluster(
            DBClusterIdentifier=cluster_id,
            DBClusterParameterGroupName=logical_group(rds, "aurora-postgresql15"),
            ApplyImmediately=True,
        )
        wait_cluster(rds, cluster_id)
        wait_instance(rds, f"{cluster_id}-1")
        rds.reboot_db_instance(DBInstanceIdentifier=f"{cluster_id}-1")
        wait_instance(rds, f"{cluster_id}-1")
        wait_cluster(rds, cluster_id)
    if prepared if full_identity is None else full_identity:
        for table in KEYLESS:
            sql(lab, cluster_id, f"ALTER TABLE {table} REPLICA IDENTITY FULL")
    record = f"db.{cluster_id}.test"
    zone_id = point_record(lab, seeded.endpoint, zone=f"{cluster_id}.test", record=record, ttl=5)
    source = Source(lab, cluster_id, seeded.endpoint, zone_id, record)
    loadgen.ensure_table(source.app(), "app", connect_map=source.connect_map)
    return source


def settings(lab: Any) -> RunSettings:
    return RunSettings(
        connect=True,
        connect_map=str(lab.connect_map_path),
        first_delay_s=0.1,
        max_delay_s=0.5,
        timeouts={"subscription": 120},
    )


def plan_for(source: Source, target: str, **options: Any) -> Plan:
    opts = PlanOptions(target=target, catch_up="logical", **options)
    plan = make_plan(source.lab.clients(), source.cluster_id, opts)
    assert not plan.blocked, [f for f in plan.findings if f.level == "block"]
    return plan


@dataclass
class Run:
    source: Source
    run_id: str
    journal: Journal
    target: str


def migrate(source: Source, tmp_path: Path, **options: Any) -> Run:
    target = unique_id(f"{source.cluster_id}-v")
    plan = plan_for(source, target, **options)
    journal = Journal(tmp_path / f"state-{target}")
    result = Runner(source.lab.clients(), journal, settings=settings(source.lab)).start(plan)
    assert result.record.state == "done", result.record.error
    source.runs.append(result.run_id)
    return Run(source, result.run_id, journal, target)


def sql(lab: Any, cluster_id: str, statement: str, database: str = "app") -> list[Any]:
    with psycopg.connect(lab.server_for(cluster_id).dsn(database), autocommit=True) as conn:
        cur = conn.execute(statement)  # fixed test text
        return cur.fetchall() if cur.description else []


def clusters(lab: Any) -> set[str]:
    return {
        c["DBClusterIdentifier"] for c in lab.client("rds").describe_db_clusters()["DBClusters"]
    }


def left_behind(lab: Any, run_id: str, *cluster_ids: str) -> list[str]:
    """Every slot, publication and subscription of ``run_id`` on these clusters
    (in every database): what a forgotten catch-up would leave."""
    found = []
    mark = f"snapmigrate_{run_id}%"
    for cluster_id in cluster_ids:
        if cluster_id not in clusters(lab):
            continue
        for (slot,) in sql(
            lab,
            cluster_id,
            f"SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '{mark}'",
        ):
            found.append(f"{cluster_id}: slot {slot}")
        for (name,) in sql(
            lab, cluster_id, f"SELECT subname FROM pg_subscription WHERE subname LIKE '{mark}'"
        ):
            found.append(f"{cluster_id}: subscription {name}")
        for (db,) in sql(lab, cluster_id, "SELECT datname FROM pg_database WHERE datallowconn"):
            for (name,) in sql(
                lab,
                cluster_id,
                f"SELECT pubname FROM pg_publication WHERE pubname LIKE '{mark}'",
                database=db,
            ):
                found.append(f"{cluster_id}/{db}: publication {name}")
    return found


def identities(lab: Any, cluster_id: str) -> dict[str, str]:
    rows = sql(
        lab,
        cluster_id,
        "SELECT n.nspname || '.' || c.relname, c.relreplident::text FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname "
        f"IN {KEYLESS!r}",
    )
    return dict(rows)
