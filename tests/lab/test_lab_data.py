"""The lab keeps AWS and PostgreSQL in step: snapshots hold the data of their
moment, restores start servers from them, renames and deletes follow, and the
tool reaches every cluster by its AWS endpoint name, over TLS."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import pytest

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db import connect as dbc
from snapmigrate.errors import BadInput, ConnectError
from tests.lab.conftest import (
    PASSWORD,
    create_cluster,
    port_answers,
    reached,
    wait_cluster,
    wait_snapshot,
)
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server

CHECKSUM = (
    "SELECT count(*) || ':' || coalesce(md5(string_agg(id::text || v, ',' ORDER BY id)), '') FROM t"
)


def routes(lab: Any) -> dict[str, str]:
    return dict(json.loads(lab.connect_map_path.read_text())["routes"])


def error_code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def source_with_rows(lab: Any, rds: Any, rows: int = 500) -> str:
    cluster_id = unique_id("src")
    create_cluster(rds, cluster_id, DatabaseName="app")
    lab.server_for(cluster_id).psql(
        "CREATE TABLE t (id int PRIMARY KEY, v text); "
        f"INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g",
        dbname="app",
    )
    return cluster_id


def test_snapshot_and_restore_hold_the_rows_of_the_snapshot_moment(lab, rds):
    source = source_with_rows(lab, rds)
    snap = unique_id("snap")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=source, DBClusterSnapshotIdentifier=snap)
    before = lab.server_for(source).psql(CHECKSUM, dbname="app").strip()
    lab.server_for(source).psql(
        "INSERT INTO t SELECT g, 'late' FROM generate_series(501, 600) g; "
        "DELETE FROM t WHERE id <= 10",
        dbname="app",
    )
    wait_snapshot(rds, snap)

    target = unique_id("restored")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=target, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )
    cluster = wait_cluster(rds, target)
    restored = lab.server_for(target)
    assert restored.port != lab.server_for(source).port
    assert restored.psql(CHECKSUM, dbname="app").strip() == before
    assert before.startswith("500:")
    assert (
        restored.psql("SELECT count(*) FROM t WHERE v = 'late' OR id <= 10", dbname="app").strip()
        == "10"
    )
    assert lab.server_for(source).psql("SELECT count(*) FROM t", dbname="app").strip() == "590"
    # the restored cluster's endpoints route to its own server
    assert (
        routes(lab)[f"{cluster['Endpoint']}:5432"]
        == f"127.0.0.1:{lab.state.server(target).endpoint_port}"
    )


def test_the_tool_reaches_a_lab_cluster_by_name_over_tls(lab, lab_env):
    """from_cluster + the connect map + the default sslmode (require for AWS hosts)."""
    rds = lab.client("rds")
    cluster_id = unique_id("tls")
    create_cluster(rds, cluster_id)
    endpoint = dbc.from_cluster(lab.clients(), cluster_id, "source")
    assert (
        endpoint.connect_kwargs()["sslmode"] == "require" and endpoint.password is None
    )  # pgpass gives it
    with dbc.connect(endpoint, "postgres", connect_map=ConnectMap.load()) as conn:
        assert conn.pgconn.ssl_in_use  # TLS ends at the lab's endpoint, as at an RDS endpoint
        assert conn.execute("SELECT current_user").fetchone() == ("master",)
    reader = dbc.from_cluster(lab.clients(), cluster_id, "source", reader=True)
    with dbc.connect(reader, "postgres", connect_map=ConnectMap.load()) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_seeded_v1_cluster_is_serverless_v1_with_data_and_dns(lab, lab_v1):
    rds = lab.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=lab_v1.cluster_id)["DBClusters"][0]
    assert (cluster["EngineMode"], cluster["EngineVersion"]) == ("serverless", "13.12")
    assert cluster["ScalingConfigurationInfo"]["MinCapacity"] == 2
    assert cluster["ScalingConfigurationInfo"]["AutoPause"] is True
    server = lab.server_for(lab_v1.cluster_id)
    assert server.psql("SELECT count(*) FROM pgbench_accounts", dbname="app").strip() == "100000"
    assert lab_v1.tables["public.type_zoo"] == 2000
    assert server.psql('SELECT count(*) FROM billing."Invoices"', dbname="app").strip() == "1500"
    assert server.psql("SELECT count(*) FROM public.events", dbname="app").strip() == "3000"
    assert (
        server.psql("SELECT relkind FROM pg_class WHERE relname = 'events'", dbname="app").strip()
        == "p"
    )
    assert (
        server.psql(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relname = 'audit_log'",
            dbname="app",
        ).strip()
        == "0"
    )
    assert server.psql("SELECT last_value FROM public.order_number", dbname="app").strip() == "4242"
    assert "🐘" in server.psql("SELECT label FROM type_zoo WHERE id = 2", dbname="app")
    r53 = lab.client("route53")
    records = r53.list_resource_record_sets(HostedZoneId=lab_v1.dns_zone_id)["ResourceRecordSets"]
    cname = next(r for r in records if r["Type"] == "CNAME")
    assert cname["Name"].rstrip(".") == lab_v1.dns_record
    assert cname["ResourceRecords"][0]["Value"] == cluster["Endpoint"]
    with pytest.raises(BadInput, match="already has a cluster legacy-v1"):
        lab.seed("v1")
    notes = lab.state.notes
    assert (
        notes["seed"]["cluster_id"] == lab_v1.cluster_id
        and notes["dns"]["zone_id"] == lab_v1.dns_zone_id
    )
    assert lab.env()["SNAPMIGRATE_LAB_DNS_ZONE_ID"] == lab_v1.dns_zone_id


def test_provisioned_seed_has_a_writer_instance_reachable_by_its_own_endpoint(lab, rds):
    seeded = lab.seed("provisioned", cluster_id=unique_id("prov"), dns=False)
    cluster = rds.describe_db_clusters(DBClusterIdentifier=seeded.cluster_id)["DBClusters"][0]
    assert (cluster["EngineMode"], cluster["EngineVersion"]) == ("provisioned", "15.4")
    assert [
        (m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in cluster["DBClusterMembers"]
    ] == [(f"{seeded.cluster_id}-1", True)]
    instance = rds.describe_db_instances(DBInstanceIdentifier=f"{seeded.cluster_id}-1")[
        "DBInstances"
    ][0]
    host = instance["Endpoint"]["Address"]
    assert host.endswith(
        cluster["Endpoint"].split(".cluster-", 1)[1]
    )  # same identifier as the cluster's
    writer = lab.server_for(seeded.cluster_id)  # the instance endpoint reaches the writer
    assert reached(lab, host, user=writer.user, password=writer.password) == (writer.port, False)
    assert seeded.tables["public.pgbench_accounts"] == 100000 and seeded.dns_zone_id == ""


def test_point_in_time_restore_and_snapshot_copy(lab, rds):
    source = source_with_rows(lab, rds, rows=100)
    clone = unique_id("pitr")
    rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=clone,
        SourceDBClusterIdentifier=source,
        RestoreType="copy-on-write",
        UseLatestRestorableTime=True,
    )
    wait_cluster(rds, clone)
    assert lab.server_for(clone).psql("SELECT count(*) FROM t", dbname="app").strip() == "100"

    snap, copy = unique_id("snap"), unique_id("copy")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=source, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    rds.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=snap, TargetDBClusterSnapshotIdentifier=copy
    )
    wait_snapshot(rds, copy)
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snap)
    from_copy = unique_id("fromcopy")
    arn = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=copy)["DBClusterSnapshots"][
        0
    ]["DBClusterSnapshotArn"]
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=from_copy, SnapshotIdentifier=arn, Engine="aurora-postgresql"
    )
    wait_cluster(rds, from_copy)
    assert lab.server_for(from_copy).psql("SELECT count(*) FROM t", dbname="app").strip() == "100"
    assert (
        f"us-east-1/{snap}" not in lab.state.snapshots
        and f"us-east-1/{copy}" in lab.state.snapshots
    )


def test_cutover_by_rename_moves_names_members_and_the_old_host(lab, rds):
    source = source_with_rows(lab, rds, rows=5)
    rds.create_db_instance(
        DBInstanceIdentifier=f"{source}-w",
        DBClusterIdentifier=source,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    snap = unique_id("snap")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=source, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    target = unique_id("tgt")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=target,
        SnapshotIdentifier=snap,
        Engine="aurora-postgresql",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
    )
    wait_cluster(rds, target)
    rds.create_db_instance(
        DBInstanceIdentifier=f"{target}-w",
        DBClusterIdentifier=target,
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )
    lab.server_for(target).psql("INSERT INTO t VALUES (999, 'target only')", dbname="app")
    old_host = wait_cluster(rds, source)["Endpoint"]
    target_port = lab.state.server(target).endpoint_port

    old_name = f"{source}-old"
    rds.modify_db_cluster(
        DBClusterIdentifier=source, NewDBClusterIdentifier=old_name, ApplyImmediately=True
    )
    wait_cluster(rds, old_name)
    rds.modify_db_cluster(
        DBClusterIdentifier=target, NewDBClusterIdentifier=source, ApplyImmediately=True
    )
    renamed = wait_cluster(rds, source)

    assert renamed["Endpoint"] == old_host  # one endpoint identifier per region, as in AWS
    assert routes(lab)[f"{old_host}:5432"] == f"127.0.0.1:{target_port}"
    assert (
        lab.server_for(source).psql("SELECT v FROM t WHERE id = 999", dbname="app").strip()
        == "target only"
    )
    assert [m["DBInstanceIdentifier"] for m in renamed["DBClusterMembers"]] == [f"{target}-w"]
    old = wait_cluster(rds, old_name)
    assert [m["DBInstanceIdentifier"] for m in old["DBClusterMembers"]] == [f"{source}-w"]
    assert routes(lab)[f"{old['Endpoint']}:5432"] != f"127.0.0.1:{target_port}"
    by_filter = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [source]}])[
        "DBInstances"
    ]
    assert [(i["DBInstanceIdentifier"], i["DBClusterIdentifier"]) for i in by_filter] == [
        (f"{target}-w", source)
    ]
    instance_host = next(i for i in by_filter)["Endpoint"]["Address"]
    assert reached(lab, instance_host) == (lab.server_for(source).port, False)  # the writer's


def test_refusals_where_aws_refuses_and_moto_would_overwrite(lab, rds):
    a, b = source_with_rows(lab, rds, rows=3), source_with_rows(lab, rds, rows=4)
    snap = unique_id("snap")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=a, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=b, SnapshotIdentifier=snap, Engine="aurora-postgresql"
        )
    assert (
        error_code(err) == "DBClusterAlreadyExistsFault"
        and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    )
    wait_cluster(rds, a)  # "backing-up" while its snapshot was taken
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.modify_db_cluster(
            DBClusterIdentifier=a, NewDBClusterIdentifier=b, ApplyImmediately=True
        )
    assert error_code(err) == "DBClusterAlreadyExistsFault"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.create_db_cluster(
            DBClusterIdentifier=b,
            Engine="aurora-postgresql",
            MasterUsername="x",
            MasterUserPassword=PASSWORD,
        )
    assert error_code(err) == "DBClusterAlreadyExistsFault"
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.modify_db_cluster(DBClusterIdentifier=unique_id("missing"), ApplyImmediately=True)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.delete_db_cluster(DBClusterIdentifier=a)
    assert error_code(err) == "InvalidParameterCombination"
    rds.create_db_instance(
        DBInstanceIdentifier=f"{a}-1",
        DBClusterIdentifier=a,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        rds.delete_db_cluster(DBClusterIdentifier=a, SkipFinalSnapshot=True)
    assert error_code(err) == "InvalidDBClusterStateFault"
    # nothing changed: both clusters still hold their own data
    assert lab.server_for(a).psql("SELECT count(*) FROM t", dbname="app").strip() == "3"
    assert lab.server_for(b).psql("SELECT count(*) FROM t", dbname="app").strip() == "4"


def test_delete_stops_the_server_and_the_final_snapshot_keeps_the_data(lab, rds):
    source = source_with_rows(lab, rds, rows=7)
    info = lab.state.server(source)
    final = unique_id("final")
    rds.delete_db_cluster(DBClusterIdentifier=source, FinalDBSnapshotIdentifier=final)
    assert lab.state.server(source) is None
    assert not port_answers(info.port) and not port_answers(info.endpoint_port)
    assert all(not key.startswith(f"{source}.") for key in routes(lab))
    back = unique_id("back")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=back, SnapshotIdentifier=final, Engine="aurora-postgresql"
    )
    wait_cluster(rds, back)
    assert lab.server_for(back).psql("SELECT count(*) FROM t", dbname="app").strip() == "7"
    path = next(s for s in lab.state.snapshots if s.endswith("/" + final))
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=final)
    assert path not in lab.state.snapshots


def test_stop_and_start_follow_and_a_stopped_cluster_can_be_snapshotted(lab, rds):
    cluster_id = source_with_rows(lab, rds, rows=3)
    info = lab.state.server(cluster_id)
    rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
    assert wait_cluster(rds, cluster_id, "stopped")
    assert not port_answers(info.port)
    snap = unique_id("snap")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster_id, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    rds.start_db_cluster(DBClusterIdentifier=cluster_id)
    wait_cluster(rds, cluster_id)
    assert lab.server_for(cluster_id).psql("SELECT count(*) FROM t", dbname="app").strip() == "3"
    copy = unique_id("copy")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=copy, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )
    wait_cluster(rds, copy)
    assert lab.server_for(copy).psql("SELECT count(*) FROM t", dbname="app").strip() == "3"


def test_managed_and_changed_master_passwords_reach_postgres(lab, lab_env):
    rds = lab.client("rds")
    managed = unique_id("managed")
    rds.create_db_cluster(
        DBClusterIdentifier=managed,
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="boss",
        ManageMasterUserPassword=True,
    )
    wait_cluster(rds, managed)
    endpoint = dbc.from_cluster(lab.clients(), managed, "target")
    assert (
        endpoint.user == "boss" and endpoint.password
    )  # the secret names the master user, as in AWS
    with dbc.connect(endpoint, "postgres", connect_map=ConnectMap.load()) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("boss",)

    # the migration's way: restore (which takes no managed password), then turn it on
    snap, restored = unique_id("snap"), unique_id("restored")
    plain = unique_id("plain")
    create_cluster(rds, plain)
    rds.create_db_cluster_snapshot(DBClusterIdentifier=plain, DBClusterSnapshotIdentifier=snap)
    wait_snapshot(rds, snap)
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=restored, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )
    wait_cluster(rds, restored)
    rds.modify_db_cluster(
        DBClusterIdentifier=restored, ManageMasterUserPassword=True, ApplyImmediately=True
    )
    wait_cluster(rds, restored)
    endpoint = dbc.from_cluster(lab.clients(), restored, "target")
    assert endpoint.user == "master" and endpoint.password and endpoint.password != PASSWORD
    with dbc.connect(endpoint, "postgres", connect_map=ConnectMap.load()) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("master",)

    wait_cluster(rds, plain)
    rds.modify_db_cluster(
        DBClusterIdentifier=plain, MasterUserPassword="a-new-Pa55word", ApplyImmediately=True
    )
    wait_cluster(rds, plain)
    endpoint = dbc.from_cluster(lab.clients(), plain, "target")
    with dbc.connect(
        dbc.Endpoint(**{**endpoint.__dict__, "password": "a-new-Pa55word"}),
        "postgres",
        connect_map=ConnectMap.load(),
    ):
        pass
    with pytest.raises(ConnectError, match="password authentication failed"):
        dbc.connect(
            dbc.Endpoint(**{**endpoint.__dict__, "password": PASSWORD}),
            "postgres",
            connect_map=ConnectMap.load(),
        )
    # and the lab's pgpass follows, so libpq alone gets in
    with dbc.connect(endpoint, "postgres", connect_map=ConnectMap.load()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_cname_reaches_the_server_of_the_endpoint_it_points_at(lab, rds):
    """Route 53 in the lab resolves: UPSERT a CNAME and the record name follows."""
    first, second = source_with_rows(lab, rds, 3), source_with_rows(lab, rds, 7)
    ends = {
        c: rds.describe_db_clusters(DBClusterIdentifier=c)["DBClusters"][0]["Endpoint"]
        for c in (first, second)
    }
    r53 = lab.client("route53")
    zone = r53.create_hosted_zone(Name=f"{first}.example", CallerReference=first)["HostedZone"][
        "Id"
    ]
    name = f"db.{first}.example"

    def point(value: str, **extra: Any) -> None:
        rrset = {
            "Name": name,
            "Type": "CNAME",
            "TTL": 5,
            "ResourceRecords": [{"Value": value}],
            **extra,
        }
        r53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": rrset}]},
        )

    def rows_via_name() -> str:
        ep = dbc.Endpoint("app", name, 5432, user="master", password=PASSWORD)
        with dbc.connect(ep, "app", connect_map=ConnectMap.load(lab.connect_map_path)) as conn:
            return str(conn.execute("SELECT count(*) FROM t").fetchone()[0])

    point(ends[first])
    assert routes(lab)[f"{name}:5432"] == routes(lab)[f"{ends[first]}:5432"]
    assert rows_via_name() == "3"
    point(ends[second])
    assert rows_via_name() == "7"
    # a weighted set answers with its heaviest member
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "CNAME",
                        "TTL": 5,
                        "ResourceRecords": [{"Value": ends[second]}],
                    },
                }
            ]
        },
    )
    point(ends[first], SetIdentifier="blue", Weight=10)
    point(ends[second], SetIdentifier="green", Weight=200)
    assert rows_via_name() == "7"
