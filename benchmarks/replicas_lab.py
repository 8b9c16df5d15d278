"""Measure the lab's readers, failovers and point-in-time restores: per engine
version, a cluster with ``pgbench -i -s SCALE`` data and two readers (promotion
tiers 0 and 1); the replicas' lag under a write load; failovers under that
load (what the lab measured as refused writes, the load's longest wait
between commits, commits lost); how far ``LatestRestorableTime`` trails the
present while the cluster is written; restores to a time between two commits
``--gap-ms`` apart (does the copy hold the first and not the second?) and how
long they take.

    python benchmarks/replicas_lab.py [--dir /tmp/rb] [--versions 13.12 16.4]
        [--scale 10] [--failovers 3] [--gap-ms 5]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PASSWORD = "Secret-Pa55"


def wait(rds: Any, cluster_id: str) -> dict[str, Any]:
    while True:
        cluster: dict[str, Any] = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)[
            "DBClusters"
        ][0]
        if cluster["Status"] == "available":
            return cluster
        time.sleep(0.05)


def sql(server: Any, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(server.dsn("app"), autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def cluster_with_readers(lab: Any, cid: str, version: str, scale: int) -> None:
    from snapmigrate_lab.pgrun import binary, run_pg

    rds = lab.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=cid,
        Engine="aurora-postgresql",
        EngineVersion=version,
        MasterUsername="postgres",
        MasterUserPassword=PASSWORD,
        DatabaseName="app",
    )
    server = lab.server_for(cid)
    pgbench = [binary("pgbench"), "-i", "-q", "-s", str(scale), "-h", "127.0.0.1"]
    run_pg(
        [*pgbench, "-p", str(server.port), "-U", "postgres", "app"],
        env={"PGPASSWORD": PASSWORD},
        timeout=3600,
    )
    size = sql(server, "SELECT pg_size_pretty(pg_database_size('app'))")[0][0]
    print(f"{cid}: {server.psql('SHOW server_version').strip()}, {size}")
    for n, tier in enumerate((0, 1, 1)):
        started = time.monotonic()
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cid}-{n}",
            DBClusterIdentifier=cid,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            PromotionTier=tier,
        )
        role = "writer" if n == 0 else "reader (a base backup of the writer)"
        print(f"  CreateDBInstance {cid}-{n}, {role}: {time.monotonic() - started:.2f} s")


def lag_under_load(lab: Any, cid: str, seconds: float = 5) -> None:
    """The readers' replay lag (seconds behind the writer's clock) while the load runs."""
    readers = [lab.reader_for(f"{cid}-{n}") for n in (1, 2)]
    for reader in readers:
        reader.password = PASSWORD
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for reader in readers:
            (lag,) = sql(
                reader,
                "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)",
            )[0]
            samples.append(float(lag))
        time.sleep(0.1)
    print(
        f"  replica lag under the load: median {statistics.median(samples) * 1000:.0f} ms, "
        f"max {max(samples) * 1000:.0f} ms ({len(samples)} samples)"
    )


def failovers(lab: Any, cid: str, count: int, ids: Path) -> None:
    from snapmigrate.loadgen import LoadOptions
    from snapmigrate_lab import load as labload

    rds = lab.client("rds")
    endpoint = wait(rds, cid)["Endpoint"]
    target = labload.target(lab, name=endpoint, user="postgres", database="app")
    stop = threading.Event()
    reports: list[Any] = []
    options = LoadOptions(workers=2, rate_per_worker=0, connect_timeout=2, retry_pause_s=0.02)
    loader = threading.Thread(
        target=lambda: reports.append(labload.run(target, options, ids_file=ids, stop=stop))
    )
    loader.start()
    try:
        time.sleep(1)
        lag_under_load(lab, cid)
        lrt_lag(rds, cid)
        for _ in range(count):
            rds.failover_db_cluster(DBClusterIdentifier=cid)
            time.sleep(0.2)
            wait(rds, cid)
            time.sleep(1.5)
    finally:
        stop.set()
        loader.join(120)
    (report,) = reports
    for found in lab.state.notes["postgres"]["failovers"]:
        if found["cluster_id"] == cid:
            print(
                f"  failover {found['old_writer']} -> {found['new_writer']}: writes refused "
                f"{found['writes_blocked_s']:.3f} s, done in {found['elapsed_s']:.3f} s "
                f"{found['error'] or ''}"
            )
    result = report.result
    windows = sorted((w.seconds for w in result.windows), reverse=True)
    check = labload.check(target, ids)
    print(
        f"  the load: {len(result.committed)} commits, {result.errors} errors, longest waits "
        f"between commits {', '.join(f'{s:.3f}' for s in windows[:count])} s; "
        f"lost {check.check.lost} of {check.check.committed}"
    )


def lrt_lag(rds: Any, cid: str, samples: int = 20) -> None:
    """How far LatestRestorableTime trails the present while the cluster is written."""
    lags = []
    for _ in range(samples):
        latest = rds.describe_db_clusters(DBClusterIdentifier=cid)["DBClusters"][0][
            "LatestRestorableTime"
        ]
        lags.append((datetime.now(UTC) - latest).total_seconds())
        time.sleep(0.25)
    print(
        f"  LatestRestorableTime behind the present while written: median "
        f"{statistics.median(lags):.2f} s, max {max(lags):.2f} s ({samples} describes)"
    )


def restores(lab: Any, cid: str, gap_ms: float, count: int = 3) -> None:
    rds = lab.client("rds")
    writer = lab.server_for(cid)
    writer.password = PASSWORD
    sql(writer, "CREATE TABLE IF NOT EXISTS marks (id int, at timestamptz)")
    for n in range(count):
        sql(writer, "INSERT INTO marks VALUES (%s, clock_timestamp())", (2 * n,))
        time.sleep(gap_ms / 2000)
        between = datetime.now(UTC)
        time.sleep(gap_ms / 2000)
        sql(writer, "INSERT INTO marks VALUES (%s, clock_timestamp())", (2 * n + 1,))
        copy = f"{cid}-pitr{n}"
        started = time.monotonic()
        rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier=copy, SourceDBClusterIdentifier=cid, RestoreToTime=between
        )
        answered = time.monotonic() - started
        wait(rds, copy)
        took = time.monotonic() - started
        restored = lab.server_for(copy)
        restored.password = PASSWORD
        ids = [r[0] for r in sql(restored, "SELECT id FROM marks WHERE id >= %s", (2 * n,))]
        pair = [2 * n, 2 * n + 1]
        first, second = sql(writer, "SELECT at FROM marks WHERE id = ANY(%s) ORDER BY id", (pair,))
        print(
            f"  restore to a time {gap_ms:g} ms after a commit and before the next "
            f"({(second[0] - first[0]).total_seconds() * 1000:.1f} ms apart): holds {ids} "
            f"(first only: {ids == [2 * n]}); answered in {answered:.2f} s, available "
            f"after {took:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="/tmp/rb")
    parser.add_argument("--versions", nargs="+", default=["13.12", "16.4"])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--gap-ms", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from snapmigrate_lab import Lab

    lab = Lab(args.dir)
    lab.up()
    try:
        for version in args.versions:
            cid = f"rb-{version.replace('.', '-')}"
            cluster_with_readers(lab, cid, version, args.scale)
            failovers(lab, cid, args.failovers, Path(args.dir) / f"{cid}-ids.txt")
            restores(lab, cid, args.gap_ms)
    finally:
        if not args.keep:
            lab.down()


if __name__ == "__main__":
    main()
