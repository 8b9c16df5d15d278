"""Catch a restored copy up by logical replication in the lab, in the order AWS
documents for Aurora (publication and slot on the source, snapshot, restore,
aurora_volume_logical_start_lsn() on the copy, its copy of the slot dropped, a
disabled subscription reusing the source's slot, the origin advanced to that
LSN, enable), and print what each side shows.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html

    python benchmarks/logical_lab.py [DIR]
"""

from __future__ import annotations

import sys
import time

import psycopg

from snapmigrate_lab import Lab

lab = Lab(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lr")
lab.up()
rds = lab.client("rds")


def sql(cluster, statement, database="app"):
    with psycopg.connect(lab.server_for(cluster).dsn(database), autocommit=True) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else None


def wait(cluster):
    while (
        rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"]
        != "available"
    ):
        time.sleep(0.1)


def member(cluster):
    return rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0][
        "DBClusterMembers"
    ][0]


rds.create_db_cluster(
    DBClusterIdentifier="blue",
    Engine="aurora-postgresql",
    EngineVersion="13.12",
    MasterUsername="postgres",
    MasterUserPassword="Secret-Pa55",
    DatabaseName="app",
)
rds.create_db_instance(
    DBInstanceIdentifier="blue-1",
    DBClusterIdentifier="blue",
    Engine="aurora-postgresql",
    DBInstanceClass="db.r6g.large",
)
rds.create_db_cluster_parameter_group(
    DBClusterParameterGroupName="logical13",
    DBParameterGroupFamily="aurora-postgresql13",
    Description="logical",
)
rds.modify_db_cluster_parameter_group(
    DBClusterParameterGroupName="logical13",
    Parameters=[
        {
            "ParameterName": "rds.logical_replication",
            "ParameterValue": "1",
            "ApplyMethod": "pending-reboot",
        }
    ],
)
rds.modify_db_cluster(
    DBClusterIdentifier="blue", DBClusterParameterGroupName="logical13", ApplyImmediately=True
)
print(
    "after the group:",
    member("blue")["DBClusterParameterGroupStatus"],
    "| wal_level",
    sql("blue", "SHOW wal_level"),
)
rds.reboot_db_instance(DBInstanceIdentifier="blue-1")
wait("blue")
print(
    "after the reboot:",
    member("blue")["DBClusterParameterGroupStatus"],
    "| wal_level",
    sql("blue", "SHOW wal_level"),
    "| rds.logical_replication",
    sql("blue", "SHOW rds.logical_replication"),
)

sql("blue", "CREATE TABLE orders (id int PRIMARY KEY, what text)")
sql("blue", "INSERT INTO orders VALUES (1, 'before the snapshot')")
sql("blue", "CREATE PUBLICATION catchup FOR ALL TABLES")
sql("blue", "SELECT pg_create_logical_replication_slot('catchup', 'pgoutput')")
rds.create_db_cluster_snapshot(DBClusterIdentifier="blue", DBClusterSnapshotIdentifier="blue-snap")
rds.restore_db_cluster_from_snapshot(
    DBClusterIdentifier="green", SnapshotIdentifier="blue-snap", Engine="aurora-postgresql"
)
sql("blue", "INSERT INTO orders VALUES (2, 'after the snapshot')")

[(lsn,)] = sql("green", "SELECT aurora_volume_logical_start_lsn()")
print(
    "green: aurora_volume_logical_start_lsn() =",
    lsn,
    "| slots:",
    sql("green", "SELECT slot_name FROM pg_replication_slots"),
)
sql("green", "SELECT pg_drop_replication_slot('catchup')")
blue = lab.server_for("blue")
sql(
    "green",
    f"CREATE SUBSCRIPTION catchup CONNECTION 'host=127.0.0.1 port={blue.port} dbname=app "
    f"user=postgres password=Secret-Pa55' PUBLICATION catchup WITH (copy_data = false, "
    f"create_slot = false, enabled = false, connect = true, slot_name = 'catchup')",
)
[(origin,)] = sql("green", "SELECT roname FROM pg_replication_origin")
sql("green", f"SELECT pg_replication_origin_advance('{origin}', '{lsn}')")
sql("green", "ALTER SUBSCRIPTION catchup ENABLE")
while sql("green", "SELECT count(*) FROM orders") != [(2,)]:
    time.sleep(0.1)
print("green:", sql("green", "SELECT * FROM orders ORDER BY id"))
print("blue's slot:", sql("blue", "SELECT slot_name, active FROM pg_replication_slots"))
lab.down()
