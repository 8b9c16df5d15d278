"""Run the in-place path in the lab under a write load, a Serverless v1 cluster and a
provisioned one per run, and print the write outages it measured: the probe's (the
run's ``outages``), the lab's own (``writes refused``: the old writer's stop until
the promotion), and the load's longest gap between commits; and lost transactions.

    python benchmarks/inplace_lab.py [--runs 3] [--scale 1]

Each run: a fresh seeded source (``lab.seed``), a load of 2 workers x 50 commits/s
through the cluster endpoint, ``migrate --path in-place``, the load checked for loss.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def rehearse(lab: Any, base: Path, n: int, kind: str, scale: int) -> dict[str, Any]:
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.plan import make_plan
    from snapmigrate.plan.options import PlanOptions
    from snapmigrate.workflow.journal import Journal

    source = f"ip-{kind}-{n}"
    endpoint = lab.seed(kind, cluster_id=source, scale=scale, dns=False).endpoint
    cmap = ConnectMap.load(lab.connect_map_path)
    app = Endpoint("app", endpoint, 5432, user="postgres")
    loadgen.ensure_table(app, "app", connect_map=cmap)
    load = loadgen.LoadRun(
        app, "app", loadgen.LoadOptions(workers=2, rate_per_worker=50), connect_map=cmap
    ).start()
    time.sleep(1.0)
    settings = RunSettings(
        connect=True, connect_map=str(lab.connect_map_path), first_delay_s=0.1, max_delay_s=0.5
    )
    started = time.monotonic()
    plan = make_plan(lab.clients(), source, PlanOptions(path="in-place"))
    run = Runner(lab.clients(), Journal(base / source), settings=settings).start(plan)
    took = time.monotonic() - started
    time.sleep(1.0)
    seen = load.stop_and_collect()
    check = loadgen.check_committed(app, "app", seen.committed, connect_map=cmap.reload())
    refused = [
        f["writes_blocked_s"]
        for f in lab.state.notes["postgres"]["failovers"]
        if f["cluster_id"] == source
    ]
    return {
        "kind": kind,
        "outages": {o["step"]: o["write_unavailable_s"] for o in run.to_dict()["outages"]},
        "refused": refused,
        "load_gap_s": seen.longest_unavailability_s,
        "took_s": took,
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
            os.environ.update(lab.env())
            rows = [
                rehearse(lab, Path(tmp), n, kind, args.scale)
                for n in range(args.runs)
                for kind in ("v1", "provisioned")
            ]
        finally:
            lab.down()
    for r in rows:
        probe = ", ".join(f"{step} {s:.3f} s" for step, s in r["outages"].items())
        refused = ", ".join(f"{s:.3f}" for s in r["refused"])
        print(
            f"{r['kind']:12} probe: {probe}; lab refused writes {refused} s; load gap "
            f"{r['load_gap_s']:.3f} s; run {r['took_s']:.1f} s; lost {r['lost']} of "
            f"{r['committed']}"
        )
    for step in ("convert", "failover"):
        seen = [r["outages"][step] for r in rows if step in r["outages"]]
        if seen:
            print(
                f"{step}: probe outage median {statistics.median(seen):.3f} s, "
                f"range {min(seen):.3f}-{max(seen):.3f} s ({len(seen)} runs)"
            )
    return 1 if any(r["lost"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
