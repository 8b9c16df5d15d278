"""Rehearse the zero-loss cutover in the lab, both modes, under a write load,
and print what it measured: write unavailability (the cutover's own figure,
freeze -> the name clients use takes writes on the target, and the load's
longest gap between commits) and lost transactions.

    python benchmarks/cutover_lab.py [--runs 3] [--scale 1] [--catch-up]

Each run: a fresh source seeded in one lab, a load of 2 workers x 50 commits/s
through the name clients use, then ``cutover`` (dns, then rename), the load
checked for loss, a rollback. Without ``--catch-up``: a v1 source and
``migrate --freeze-before-snapshot``. With it: a provisioned source made to
publish first (as an operator would, before the load), ``migrate --catch-up
logical --replica-identity-full`` while the load writes (the source is never
frozen before the cutover: the load's errors before it are counted and must be
0), and the cutover drains, sets sequences and verifies only what changed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def prepare(lab: Any, source: str) -> None:
    """The source made to publish before the load starts (its reboot is an outage)."""
    rds = lab.client("rds")
    group = f"{source}-logical"
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName=group,
        DBParameterGroupFamily="aurora-postgresql15",
        Description="logical replication",
    )
    rds.modify_db_cluster_parameter_group(
        DBClusterParameterGroupName=group,
        Parameters=[
            {
                "ParameterName": "rds.logical_replication",
                "ParameterValue": "1",
                "ApplyMethod": "pending-reboot",
            }
        ],
    )
    rds.modify_db_cluster(
        DBClusterIdentifier=source, DBClusterParameterGroupName=group, ApplyImmediately=True
    )
    for _ in range(600):
        instance = rds.describe_db_instances(DBInstanceIdentifier=f"{source}-1")["DBInstances"][0]
        cluster = rds.describe_db_clusters(DBClusterIdentifier=source)["DBClusters"][0]
        if instance["DBInstanceStatus"] == cluster["Status"] == "available":
            break
        time.sleep(0.1)
    rds.reboot_db_instance(DBInstanceIdentifier=f"{source}-1")
    for _ in range(600):
        instance = rds.describe_db_instances(DBInstanceIdentifier=f"{source}-1")["DBInstances"][0]
        if instance["DBInstanceStatus"] == "available":
            return
        time.sleep(0.1)


@dataclass
class Source:
    """A seeded source with a DNS record clients use."""

    cluster_id: str
    endpoint: str
    zone: str
    record: str


def seed(lab: Any, name: str, scale: int, catch_up: bool) -> Source:
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint
    from snapmigrate_lab.seed import point_record

    kind = "provisioned" if catch_up else "v1"
    endpoint = lab.seed(kind, cluster_id=name, scale=scale, dns=False).endpoint
    if catch_up:
        prepare(lab, name)
    record = f"db.{name}.test"
    zone = point_record(lab, endpoint, zone=f"{name}.test", record=record, ttl=5)
    app = Endpoint("app", record, 5432, user="postgres")
    loadgen.ensure_table(app, "app", connect_map=ConnectMap.load(lab.connect_map_path))
    return Source(name, endpoint, zone, record)


def rehearse(
    lab: Any, base: Path, source: Source, n: int, mode: str, scale: int, catch_up: bool = False
) -> dict[str, Any]:
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.cutover import Cutover, CutoverOptions
    from snapmigrate.db.connect import Endpoint
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.freeze import SourceFreezer
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.plan import make_plan
    from snapmigrate.plan.options import PlanOptions
    from snapmigrate.workflow.journal import Journal

    cmap = ConnectMap.load(lab.connect_map_path)
    app = Endpoint(
        "app", source.record if mode == "dns" else source.endpoint, 5432, user="postgres"
    )
    load = loadgen.LoadRun(
        app, "app", loadgen.LoadOptions(workers=2, rate_per_worker=50), connect_map=cmap
    ).start()
    time.sleep(1.0)
    target = f"{source.cluster_id}-v2-{mode}-{n}"
    journal = Journal(base / target)
    settings = RunSettings(
        connect=True,
        connect_map=str(lab.connect_map_path),
        first_delay_s=0.1,
        max_delay_s=0.5,
        freeze_before_snapshot=not catch_up,
    )
    started = time.monotonic()
    options = PlanOptions(target=target, readers=1)
    if catch_up:
        options = PlanOptions(
            target=target, readers=1, catch_up="logical", replica_identity_full=True
        )
    freezer = None if catch_up else SourceFreezer()
    runner = Runner(lab.clients(), journal, settings=settings, freezer=freezer)
    run = runner.start(make_plan(lab.clients(), source.cluster_id, options))
    migrated = time.monotonic()
    errors_before_cutover = load.result.errors
    cutover_options = (
        CutoverOptions(mode="dns", zone_id=source.zone, record_name=source.record)
        if mode == "dns"
        else CutoverOptions(mode="rename")
    )
    cut = Cutover(lab.clients(), journal, connect_map=str(lab.connect_map_path))
    result = cut.run(run.run_id, cutover_options)
    finished = time.monotonic()
    time.sleep(1.0)
    seen = load.stop_and_collect()
    check = loadgen.check_committed(
        app, "app", seen.committed, connect_map=ConnectMap.load(lab.connect_map_path)
    )
    cut.rollback(run.run_id)
    if catch_up:  # the source serves the next run: this one's copy goes
        runner.cleanup(run.run_id)
    phases = {p["name"]: p.get("took_s") for p in result.to_dict()["phases"]}
    return {
        "mode": mode,
        "scale": scale,
        "catch_up": catch_up,
        "errors_before_cutover": errors_before_cutover,
        "drain_s": phases.get("drain"),
        "verify_s": phases.get("verify-changes", phases.get("verify")),
        "unavailable_s": result.record.cutover["unavailable_s"],
        "load_gap_s": seen.longest_unavailability_s,
        "migrate_s": migrated - started,
        "cutover_s": finished - migrated,
        "committed": len(seen.committed),
        "lost": check.lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, nargs="+", default=[1])
    parser.add_argument("--catch-up", action="store_true", help="--catch-up logical runs")
    args = parser.parse_args()
    from snapmigrate_lab import Lab

    with tempfile.TemporaryDirectory(prefix="snapmigrate-bench-") as tmp:
        lab = Lab(Path(tmp) / "lab")
        lab.up()
        try:
            for key, value in lab.env().items():
                import os

                os.environ[key] = value
            rows = []
            for scale in args.scale:
                shared = seed(lab, f"bench-cu-{scale}", scale, True) if args.catch_up else None
                for n in range(args.runs):
                    for mode in ("dns", "rename"):
                        source = shared or seed(lab, f"bench-{mode}-{scale}-{n}", scale, False)
                        rows.append(rehearse(lab, Path(tmp), source, n, mode, scale, args.catch_up))
        finally:
            lab.down()
    print(
        f"{'mode':8} {'scale':>5} {'unavail s':>10} {'load gap s':>11} {'drain s':>8} "
        f"{'verify s':>9} {'migrate s':>10} {'cutover s':>10} {'errors before':>14} "
        f"{'committed':>10} {'lost':>5}"
    )
    for r in rows:
        print(
            f"{r['mode']:8} {r['scale']:5d} {r['unavailable_s']:10.2f} {r['load_gap_s']:11.2f} "
            f"{r['drain_s'] or 0:8.2f} {r['verify_s'] or 0:9.2f} {r['migrate_s']:10.2f} "
            f"{r['cutover_s']:10.2f} {r['errors_before_cutover']:14d} {r['committed']:10d} "
            f"{r['lost']:5d}"
        )
    for scale in args.scale:
        for mode in ("dns", "rename"):
            mine = [r for r in rows if r["mode"] == mode and r["scale"] == scale]
            print(
                f"{mode} scale {scale}: median "
                f"unavailability {statistics.median(r['unavailable_s'] for r in mine):.2f} s, "
                f"median load gap {statistics.median(r['load_gap_s'] for r in mine):.2f} s, "
                f"lost {sum(r['lost'] for r in mine)} of {sum(r['committed'] for r in mine)}, "
                f"load errors before the cutover {sum(r['errors_before_cutover'] for r in mine)}"
            )
    bad = any(r["lost"] for r in rows)
    if args.catch_up:
        bad = bad or any(r["errors_before_cutover"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
