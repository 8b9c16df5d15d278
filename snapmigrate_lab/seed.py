"""Seed the lab with a source cluster worth migrating.

The cluster is created through the lab's AWS API (so the glue starts its
server), then filled: ``pgbench -i -s N`` plus tables exercising the types and
shapes a migration must carry (json/jsonb, arrays, numeric, timestamptz,
unicode text, bytea, a partitioned table, a table without primary key,
mixed-case names, a non-public schema, a sequence). A Route 53 zone with a
CNAME to the writer endpoint lets DNS cutovers be rehearsed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from snapmigrate_lab import Lab

KINDS = ("v1", "provisioned")
DEFAULT_IDS = {"v1": "legacy-v1", "provisioned": "legacy-prov"}
#: The engine version of each seed: its server runs that PostgreSQL major.
ENGINE_VERSIONS = {"v1": "13.12", "provisioned": "15.4"}
ZONE = "lab.internal"
RECORD = "db.lab.internal"

#: Fixed-size tables beside pgbench's; each statement is plain text, no names interpolated.
TYPES_SQL = [
    "CREATE SCHEMA billing",
    """CREATE TABLE public.type_zoo (
        id bigint PRIMARY KEY,
        doc json NOT NULL,
        docb jsonb NOT NULL,
        tags text[] NOT NULL,
        scores integer[],
        amount numeric(20, 6),
        happened timestamptz NOT NULL,
        label text,
        blob bytea,
        ident uuid,
        span interval,
        ratio double precision,
        flag boolean)""",
    """INSERT INTO public.type_zoo
       SELECT g,
              json_build_object('n', g, 'name', 'item ' || g),
              jsonb_build_object('n', g, 'even', g % 2 = 0, """
    """'nested', jsonb_build_object('k', g * 3)),
              ARRAY['t' || g % 7, 'x' || g % 3],
              ARRAY[g, g * 2, g * 3],
              (g * 1234.567891)::numeric(20, 6),
              timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes',
              (ARRAY['Grüße', '日本語のテキスト', 'emoji 🐘', 'ÅÄÖ åäö', 'plain'])"""
    """[1 + g % 5] || ' #' || g,
              decode(md5(g::text), 'hex'),
              md5(g::text)::uuid,
              g * interval '1 second',
              g / 7.0,
              g % 3 = 0
       FROM generate_series(1, 2000) AS g""",
    """CREATE TABLE billing."Invoices" (
        "InvoiceId" bigserial PRIMARY KEY,
        "customerName" text NOT NULL,
        "Amount" numeric(12, 2) NOT NULL,
        issued timestamptz NOT NULL DEFAULT now())""",
    """INSERT INTO billing."Invoices" ("customerName", "Amount", issued)
       SELECT 'Customer ' || g, (g % 997) * 1.25, """
    """timestamptz '2023-06-01 12:00:00+02' + g * interval '1 hour'
       FROM generate_series(1, 1500) AS g""",
    """CREATE TABLE public.events (
        id bigint NOT NULL,
        happened date NOT NULL,
        payload jsonb,
        PRIMARY KEY (id, happened)) PARTITION BY RANGE (happened)""",
    "CREATE TABLE public.events_2023 PARTITION OF public.events "
    "FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')",
    "CREATE TABLE public.events_2024 PARTITION OF public.events "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE TABLE public.events_default PARTITION OF public.events DEFAULT",
    """INSERT INTO public.events
       SELECT g, date '2023-01-01' + (g % 900), jsonb_build_object('kind', 'e' || g % 4)
       FROM generate_series(1, 3000) AS g""",
    """CREATE TABLE public.audit_log (
        at timestamptz NOT NULL,
        who text,
        what text)""",
    """INSERT INTO public.audit_log
       SELECT timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute', """
    """'user' || g % 10, 'did thing ' || g % 4
       FROM generate_series(1, 1000) AS g""",
    "INSERT INTO public.audit_log SELECT * FROM public.audit_log LIMIT 10",
    "CREATE SEQUENCE public.order_number START 1000",
    "SELECT setval('public.order_number', 4242)",
    "ANALYZE",
]

TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class SeedResult:
    """The seeded source: where it is and what it holds (no password: see the lab's pgpass)."""

    kind: str
    cluster_id: str
    engine_version: str
    engine_mode: str
    endpoint: str
    port: int
    database: str
    user: str
    scale: int
    tables: dict[str, int] = field(default_factory=dict)
    dns_zone_id: str = ""
    dns_record: str = ""
    elapsed_s: float = 0.0
    server_version: str = ""  # the PostgreSQL version its server runs
    postgres_warning: str = ""  # set when that is not the engine version's major (the fallback)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _wait_available(
    rds: Any, cluster_id: str, *, timeout: float = 120, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        cluster: dict[str, Any] = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)[
            "DBClusters"
        ][0]
        if cluster["Status"] == "available":
            return cluster
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"the lab's cluster {cluster_id} stayed {cluster['Status']} for {timeout:.0f} s"
            )
        sleep(0.2)


def seed(
    lab: Lab,
    kind: str = "v1",
    *,
    cluster_id: str | None = None,
    scale: int = 1,
    database: str = "app",
    dns: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> SeedResult:
    """Create the ``kind`` source cluster through the lab's AWS API and fill it;
    with ``dns`` point ``db.lab.internal`` at it (the last seed wins)."""
    if kind not in KINDS:
        raise BadInput(f"unknown seed {kind!r}: choose one of {', '.join(KINDS)}")
    if scale < 1:
        raise BadInput("--scale must be at least 1")
    started = time.monotonic()
    cluster_id = cluster_id or DEFAULT_IDS[kind]
    rds = lab.client("rds")
    user, password = "postgres", secrets.token_urlsafe(18)
    params: dict[str, Any] = {
        "DBClusterIdentifier": cluster_id,
        "Engine": "aurora-postgresql",
        "MasterUsername": user,
        "MasterUserPassword": password,
        "DatabaseName": database,
        "StorageEncrypted": True,
        "BackupRetentionPeriod": 7,
        "Tags": [{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "lab"}],
    }
    if kind == "v1":
        params.update(
            EngineVersion=ENGINE_VERSIONS["v1"],
            EngineMode="serverless",
            ScalingConfiguration={
                "MinCapacity": 2,
                "MaxCapacity": 4,
                "AutoPause": True,
                "SecondsUntilAutoPause": 300,
            },
        )
    else:
        params.update(
            EngineVersion=ENGINE_VERSIONS["provisioned"], EnableCloudwatchLogsExports=["postgresql"]
        )
    from snapmigrate.aws import aws_errors

    with aws_errors("list the lab's clusters"):
        taken = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
    if cluster_id in taken:
        raise BadInput(
            f"the lab already has a cluster {cluster_id}: seed another with --cluster-id, "
            "or start afresh with 'snapmigrate lab down' then 'lab up'"
        )
    with aws_errors(f"create the seed cluster {cluster_id}"):
        rds.create_db_cluster(**params)
        if kind == "provisioned":
            rds.create_db_instance(
                DBInstanceIdentifier=f"{cluster_id}-1",
                DBClusterIdentifier=cluster_id,
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
            )
        cluster = _wait_available(rds, cluster_id, sleep=sleep)
    server = lab.server_for(cluster_id)
    _pgbench(server.port, user, password, database, scale)
    tables = _fill(lab, cluster, database)
    zone_id = point_record(lab, cluster["Endpoint"]) if dns else ""
    state = lab.state
    info = state.server(cluster_id) if state else None
    warnings = (state.notes.get("postgres") or {}).get("warnings", []) if state else []
    result = SeedResult(
        kind=kind,
        cluster_id=cluster_id,
        engine_version=cluster["EngineVersion"],
        engine_mode=cluster.get("EngineMode", "provisioned"),
        endpoint=cluster["Endpoint"],
        port=int(cluster.get("Port") or 5432),
        database=database,
        user=user,
        scale=scale,
        tables=tables,
        dns_zone_id=zone_id,
        dns_record=RECORD if dns else "",
        elapsed_s=round(time.monotonic() - started, 2),
        server_version=info.version if info else "",
        postgres_warning=next((w for w in warnings if w.startswith(f"cluster {cluster_id}:")), ""),
    )
    if dns:
        lab.note(
            seed=result.to_dict(),
            dns={"zone_id": zone_id, "record": RECORD, "target": cluster["Endpoint"]},
        )
    else:
        lab.note(seed=result.to_dict())
    return result


def _pgbench(port: int, user: str, password: str, database: str, scale: int) -> None:
    from snapmigrate_lab.pgrun import binary, run_pg

    run_pg(
        [
            binary("pgbench"),
            "-i",
            "-q",
            "-s",
            str(scale),
            "-I",
            "dtGvp",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            database,
        ],
        env={"PGPASSWORD": password},
        timeout=600,
    )


def _fill(lab: Lab, cluster: dict[str, Any], database: str) -> dict[str, int]:
    """Create the type tables through the ordinary path: endpoint name, connect map, TLS, pgpass;
    the exact row count of every table (partitions counted as themselves)."""
    from psycopg import sql

    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint, connect

    endpoint = Endpoint(
        label="seed",
        host=cluster["Endpoint"],
        port=int(cluster.get("Port") or 5432),
        user=cluster["MasterUsername"],
        options=(("passfile", str(lab.pgpass_path)),),
    )
    tables: dict[str, int] = {}
    with connect(endpoint, database, connect_map=ConnectMap.load(lab.connect_map_path)) as conn:
        with conn.transaction():
            for statement in TYPES_SQL:
                conn.execute(statement)  # fixed text, no input
        for schema, name in conn.execute(TABLES_SQL).fetchall():
            count = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            row = conn.execute(count).fetchone()
            tables[f"{schema}.{name}"] = int(row[0]) if row else 0
    return tables


def point_record(
    lab: Lab, endpoint: str, *, zone: str = ZONE, record: str = RECORD, ttl: int = 60
) -> str:
    """A hosted zone ``zone`` (made if missing) with the CNAME ``record`` pointing at
    ``endpoint``, as an application's DNS would be; the zone id."""
    r53 = lab.client("route53")
    zones = r53.list_hosted_zones_by_name(DNSName=zone).get("HostedZones", [])
    found = next((z for z in zones if z["Name"].rstrip(".") == zone), None)
    if found is None:
        found = r53.create_hosted_zone(
            Name=zone, CallerReference=f"snapmigrate-lab-{secrets.token_hex(4)}"
        )["HostedZone"]
    zone_id = str(found["Id"]).split("/")[-1]
    rrset = {"Name": record, "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": endpoint}]}
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Comment": "snapmigrate lab",
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": rrset}],
        },
    )
    return zone_id
