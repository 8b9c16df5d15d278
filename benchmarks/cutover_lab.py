"""Rehearse the zero-loss cutover in the lab, both modes, under a write load,
and print what it measured: write unavailability (the cutover's own figure,
freeze -> the name clients use takes writes on the target, and the load's
longest gap between commits) and lost transactions.

    python benchmarks/cutover_lab.py [--runs 3] [--scale 1]

Each run: a fresh v1 source seeded in one lab, a load of 2 workers x 50
commits/s through the name clients use, ``migrate --freeze-before-snapshot``
then ``cutover`` (dns, then rename), the load checked for loss, a rollback.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def rehearse(lab: Any, base: Path, n: int, mode: str, scale: int) -> dict[str, Any]:
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
    from snapmigrate_lab.seed import point_record

    source = f"bench-{mode}-{n}"
    endpoint = lab.seed("v1", cluster_id=source, scale=scale, dns=False).endpoint
    record = f"db.{source}.test"
    zone = point_record(lab, endpoint, zone=f"{source}.test", record=record, ttl=5)
    cmap = ConnectMap.load(lab.connect_map_path)
    app = Endpoint("app", record if mode == "dns" else endpoint, 5432, user="postgres")
    loadgen.ensure_table(app, "app", connect_map=cmap)
    load = loadgen.LoadRun(
        app, "app", loadgen.LoadOptions(workers=2, rate_per_worker=50), connect_map=cmap
    ).start()
    time.sleep(1.0)
    journal = Journal(base / source)
    settings = RunSettings(
        connect=True,
        connect_map=str(lab.connect_map_path),
        first_delay_s=0.1,
        max_delay_s=0.5,
        freeze_before_snapshot=True,
    )
    started = time.monotonic()
    run = Runner(lab.clients(), journal, settings=settings, freezer=SourceFreezer()).start(
        make_plan(lab.clients(), source, PlanOptions(target=f"{source}-v2", readers=1))
    )
    migrated = time.monotonic()
    options = (
        CutoverOptions(mode="dns", zone_id=zone, record_name=record)
        if mode == "dns"
        else CutoverOptions(mode="rename")
    )
    cut = Cutover(lab.clients(), journal, connect_map=str(lab.connect_map_path))
    result = cut.run(run.run_id, options)
    finished = time.monotonic()
    time.sleep(1.0)
    seen = load.stop_and_collect()
    check = loadgen.check_committed(
        app, "app", seen.committed, connect_map=ConnectMap.load(lab.connect_map_path)
    )
    cut.rollback(run.run_id)
    return {
        "mode": mode,
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
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    from snapmigrate_lab import Lab

    with tempfile.TemporaryDirectory(prefix="snapmigrate-bench-") as tmp:
        lab = Lab(Path(tmp) / "lab")
        lab.up()
        try:
            for key, value in lab.env().items():
                import os

                os.environ[key] = value
            rows = [
                rehearse(lab, Path(tmp), n, mode, args.scale)
                for n in range(args.runs)
                for mode in ("dns", "rename")
            ]
        finally:
            lab.down()
    print(
        f"{'mode':8} {'unavail s':>10} {'load gap s':>11} {'migrate s':>10} {'cutover s':>10} "
        f"{'committed':>10} {'lost':>5}"
    )
    for r in rows:
        print(
            f"{r['mode']:8} {r['unavailable_s']:10.2f} {r['load_gap_s']:11.2f} "
            f"{r['migrate_s']:10.2f} {r['cutover_s']:10.2f} {r['committed']:10d} {r['lost']:5d}"
        )
    for mode in ("dns", "rename"):
        mine = [r for r in rows if r["mode"] == mode]
        print(
            f"{mode}: median "
            f"unavailability {statistics.median(r['unavailable_s'] for r in mine):.2f} s, "
            f"median load gap {statistics.median(r['load_gap_s'] for r in mine):.2f} s, "
            f"lost {sum(r['lost'] for r in mine)} of {sum(r['committed'] for r in mine)}"
        )
    return 1 if any(r["lost"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
