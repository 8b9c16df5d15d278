"""Time major version upgrades in the lab: a cluster made at 11.21 per pgbench
scale, a snapshot of it restored as ``<id>-before`` (the reference), then
``ModifyDBCluster --engine-version 16.1 --allow-major-version-upgrade``; print
how long the call took to answer and the cluster to be available again.

    python benchmarks/upgrade_lab.py [--dir /tmp/u] [--scales 1 10] [--keep]

With --keep the lab stays up: ``eval "$(snapmigrate lab env --dir DIR)"`` then
``snapmigrate verify --source old11-s10-before --target old11-s10``.
"""

from __future__ import annotations

import argparse
import time

PASSWORD = "Secret-Pa55"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/u")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from snapmigrate_lab import Lab
    from snapmigrate_lab.pgrun import binary, run_pg

    lab = Lab(args.dir)
    lab.up()
    rds = lab.client("rds")
    try:
        for scale in args.scales:
            cid = f"old11-s{scale}"
            rds.create_db_cluster(
                DBClusterIdentifier=cid,
                Engine="aurora-postgresql",
                EngineVersion="11.21",
                MasterUsername="postgres",
                MasterUserPassword=PASSWORD,
                DatabaseName="app",
            )
            server = lab.server_for(cid)
            run_pg(
                [
                    binary("pgbench"),
                    "-i",
                    "-q",
                    "-s",
                    str(scale),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(server.port),
                    "-U",
                    "postgres",
                    "app",
                ],
                env={"PGPASSWORD": PASSWORD},
                timeout=3600,
            )
            rds.create_db_cluster_snapshot(
                DBClusterIdentifier=cid, DBClusterSnapshotIdentifier=f"{cid}-before"
            )
            rds.restore_db_cluster_from_snapshot(
                DBClusterIdentifier=f"{cid}-before",
                Engine="aurora-postgresql",
                SnapshotIdentifier=f"{cid}-before",
            )
            size = server.psql(
                "SELECT pg_size_pretty(pg_database_size(current_database()))", dbname="app"
            )
            print(f"{cid}: PostgreSQL {server.psql('SHOW server_version').strip()}, {size.strip()}")
            t0 = time.monotonic()
            answer = rds.modify_db_cluster(
                DBClusterIdentifier=cid,
                EngineVersion="16.1",
                AllowMajorVersionUpgrade=True,
                ApplyImmediately=True,
            )
            print(
                f"  ModifyDBCluster answered in {time.monotonic() - t0:.2f} s: "
                f"{answer['DBCluster']['Status']}"
            )
            seen: list[str] = []
            while (c := rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0])[
                "Status"
            ] != "available":
                seen += [c["Status"]] if c["Status"] not in seen else []
                time.sleep(0.2)
            version = lab.server_for(cid).psql("SHOW server_version").strip()
            print(
                f"  available after {time.monotonic() - t0:.1f} s (was: {', '.join(seen)}): "
                f"{c['EngineVersion']} on PostgreSQL {version}"
            )
    finally:
        if not args.keep:
            lab.down()


if __name__ == "__main__":
    main()
