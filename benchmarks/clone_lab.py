"""Time ``snapmigrate clone create`` and ``clone reset`` in the lab, the way a user
runs them (the real CLI in a subprocess, ``-o json --yes``), and print the
medians and the clone's own timings (seconds from the restore request).

    python benchmarks/clone_lab.py [--scale 20] [--runs 3] [--keep]

One lab, a provisioned source seeded at ``--scale`` (pgbench: 100,000 accounts
per unit), then per run: ``clone create`` (copy-on-write, no masking), ``clone
reset``, ``clone destroy``; then once ``clone create --mask`` with a rule hashing
every ``pgbench_accounts.filler`` (``--scale`` x 100,000 rows masked, VACUUM
FULL, proven) and its destroy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RULES = """
[[mask]]
table = "public.pgbench_accounts"
column = "filler"
strategy = "hash"
"""


def cli(env: dict[str, str], *args: str) -> tuple[float, dict[str, Any]]:
    """Run ``snapmigrate ARGS -o json --yes``: wall time and the JSON it printed."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "snapmigrate", "-o", "json", *args, "--yes"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"snapmigrate {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return took, json.loads(done.stdout)


def show(label: str, samples: list[float]) -> None:
    runs = " ".join(f"{s:.1f}" for s in samples)
    print(f"  {label:<44} median {statistics.median(samples):6.1f} s  runs {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()

    from snapmigrate_lab import Lab

    base = Path(tempfile.mkdtemp(prefix="clone-bench-"))
    lab = Lab(base / "lab")
    started = time.monotonic()
    lab.up(knobs={})
    try:
        seeded = lab.seed("provisioned", cluster_id="bench-src", scale=args.scale, dns=False)
        print(f"lab up and seeded at scale {args.scale} in {time.monotonic() - started:.1f} s")
        print(f"  source rows: {sum(seeded.tables.values()):,}")
        env = {**os.environ, **lab.env(), "SNAPMIGRATE_STATE_DIR": str(base / "state")}
        create: list[float] = []
        reset: list[float] = []
        destroy: list[float] = []
        inner: dict[str, list[float]] = {}
        for n in range(args.runs):
            name = f"bench-{n}"
            took, made = cli(env, "clone", "create", "bench-src", "--name", name)
            create.append(took)
            for key, value in made["timings"].items():
                if value is not None:
                    inner.setdefault(f"create {key}", []).append(value)
            took, again = cli(env, "clone", "reset", name)
            reset.append(took)
            assert again["clone"]["endpoint"] == made["clone"]["endpoint"]
            for key, value in again["timings"].items():
                if value is not None:
                    inner.setdefault(f"reset {key}", []).append(value)
            destroy.append(cli(env, "clone", "destroy", name)[0])
        rules = base / "rules.toml"
        rules.write_text(RULES)
        masked_took, masked = cli(
            env, "clone", "create", "bench-src", "--name", "bench-masked", "--mask", str(rules)
        )
        cli(env, "clone", "destroy", "bench-masked")
        print(f"\nclone lifecycle in the lab, scale {args.scale}, {args.runs} run(s):")
        show("clone create (cow), whole command", create)
        show("clone reset, whole command", reset)
        show("clone destroy, whole command", destroy)
        print("the clone's own timings (seconds from the restore request):")
        for label, samples in inner.items():
            show(label, samples)
        proof = masked["mask"]["proof"]
        rows = sum(t["rows"] for t in proof["tables"])
        print(
            f"\nclone create --mask (hash of pgbench_accounts.filler, {rows:,} rows): "
            f"{masked_took:.1f} s whole command; masked "
            f"{masked['timings']['masked_s']:.1f} s and proven (clean={proof['clean']}, rest "
            f"verified in {proof['verify']['elapsed_s']} s) {masked['timings']['total_s']:.1f} s "
            "after the request"
        )
    finally:
        if not args.keep:
            lab.down()


if __name__ == "__main__":
    main()
