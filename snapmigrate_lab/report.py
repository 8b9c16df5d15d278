"""The lab's results as human text: what runs where, how to point tools at it."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from snapmigrate.errors import EXIT_INTERRUPTED
from snapmigrate.report import format_table, heading

if TYPE_CHECKING:
    from snapmigrate_lab import DownResult, UpResult
    from snapmigrate_lab.demo_runner import DemoResult
    from snapmigrate_lab.load import CheckReport, LoadReport
    from snapmigrate_lab.realism import FailRule, Knobs


def env_lines(env: Mapping[str, str]) -> str:
    """``export`` lines for a POSIX shell (``eval "$(snapmigrate lab env)"``)."""
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


def up_table(result: UpResult) -> str:
    st = result.state
    verb = "already running" if result.already_running else "up"
    lines = [f"Lab {verb} in {st.dir} (pid {st.pid}), AWS API on {st.endpoint_url}"]
    if result.postgres_warning:
        lines.append(f"WARNING: {result.postgres_warning}")
    if st.servers:
        lines.append(heading("Servers"))
        rows = [
            (s.cluster_id, s.region, s.version or "-", f"127.0.0.1:{s.endpoint_port or s.port}",
             str(s.port), s.datadir)
            for s in st.servers
        ] + [  # a reader instance's replica: its cluster, then its instance
            (f"{s.cluster_id} (reader {s.instance_id})", s.region, s.version or "-",
             f"127.0.0.1:{s.endpoint_port or s.port}", str(s.port), s.datadir)
            for s in st.readers
        ]  # fmt: skip
        headers = ["cluster", "region", "postgres", "endpoint (TLS)", "server port", "data"]
        lines.append(format_table(headers, rows))
    if result.seed:
        seed = result.seed
        lines.append(
            heading(f"Seeded {seed.kind} cluster {seed.cluster_id} in {seed.elapsed_s:.1f} s")
        )
        lines.append(
            format_table(
                ["what", "value"],
                [
                    (
                        "engine",
                        f"aurora-postgresql {seed.engine_version} ({seed.engine_mode}), "
                        f"PostgreSQL {seed.server_version or '?'}",
                    ),
                    ("endpoint", f"{seed.endpoint}:{seed.port}"),
                    ("database", f"{seed.database} (user {seed.user}; password in {st.pgpass})"),
                    ("rows", ", ".join(f"{t} {n:,}" for t, n in seed.tables.items())),
                    (
                        "dns",
                        f"{seed.dns_record} CNAME -> writer endpoint (zone {seed.dns_zone_id})",
                    ),
                ],
            )
        )
        if seed.postgres_warning:
            lines.append(f"WARNING: {seed.postgres_warning}")
    lines.append(heading("Point boto3, the aws CLI and snapmigrate at it:"))
    lines.append(f'  eval "$(snapmigrate lab env --dir {shlex.quote(st.dir)})"')
    lines.append(f"\nReady in {result.elapsed_s:.1f} s.")
    return "\n".join(lines)


def down_table(result: DownResult) -> str:
    if not result.daemon_stopped and not result.servers_stopped and not result.removed:
        return f"No lab was running in {result.dir}; nothing to do."
    parts = []
    if result.daemon_stopped:
        parts.append("stopped the lab daemon and its servers")
    if result.servers_stopped:
        parts.append(f"stopped {result.servers_stopped} leftover server(s)")
    parts.append(f"removed {result.dir}" if result.removed else f"kept {result.dir}")
    return "Lab down: " + "; ".join(parts) + "."


def knobs_table(knobs: Knobs) -> str:
    rows = [
        ("delay_polls", str(knobs.delay_polls)),
        ("delay_seconds", f"{knobs.delay_seconds:g}"),
        ("throttle_rate", f"{knobs.throttle_rate:g}"),
        ("error_rate", f"{knobs.error_rate:g}"),
        ("seed", str(knobs.seed)),
        ("rename_dns_delay_s", f"{knobs.rename_dns_delay_s:g}"),
        ("fail", "; ".join(_rule(r) for r in knobs.fail) or "-"),
    ]
    return format_table(["knob", "value"], rows)


def _rule(rule: FailRule) -> str:
    if rule.state:
        return f"{rule.action} -> ends {rule.state} x{rule.times}"
    return f"{rule.action} -> {rule.code}{' (after)' if rule.after else ''} x{rule.times}"


STAGE_MARKS = {"done": "done", "skipped": "SKIPPED", "failed": "FAILED", "not run": "-"}


def demo_table(result: DemoResult) -> str:
    """The demo's closing summary: stages, what was created, the verdict, where to look next."""
    rows = [
        (
            n,
            s.name,
            STAGE_MARKS.get(s.state, s.state),
            "-" if s.state == "not run" else f"{s.elapsed_s:.1f} s",
            s.summary,
        )
        for n, s in enumerate(result.stages, 1)
    ]
    lines = [
        heading("Summary"),
        format_table(["#", "STAGE", "RESULT", "TIME", "WHAT HAPPENED"], rows),
    ]
    created = result.created
    if created is not None:
        made = []
        if created.snapshot:
            made.append(("snapshot", created.snapshot, f"manual, tagged with run {result.run_id}"))
        made.append(
            (
                "cluster",
                created.cluster,
                f"{created.status}, {created.engine_mode} + Serverless v2 {created.scaling}, "
                f"aurora-postgresql {created.engine_version}",
            )
        )
        made += [
            (i.role, i.identifier, f"{i.instance_class}, {i.status}") for i in created.instances
        ]
        lines += [
            heading("Created in the lab's AWS"),
            format_table(["WHAT", "ID", "DETAILS"], made),
        ]
    facts = []
    if result.run is not None:
        facts.append(
            f"Run {result.run.run_id}: {result.run.record.state} (journal in {result.state_dir})"
        )
    if result.verification is not None:
        v = result.verification
        rows_compared = sum(t.source_rows or 0 for t in v.tables)
        verdict = "equal" if v.equal else "DIFFERENT"
        facts.append(
            f"Verification: {verdict}: "
            f"{len(v.tables)} tables, {rows_compared:,} rows, {v.mode} mode"
        )
    if facts:
        lines += ["", *facts]
    lines += ["", *_look_around(result)]
    if result.ok:
        lines.append(f"\nDemo finished in {result.elapsed_s:.1f} s.")
    else:
        failed = next((s.name for s in result.stages if s.state == "failed"), "?")
        code = result.error.exit_code if result.error else 1
        verdict = "interrupted" if code == EXIT_INTERRUPTED else "FAILED"
        lines.append(
            f"\nDemo {verdict} in stage {failed} (exit {code}) "
            f"after {result.elapsed_s:.1f} s: {result.error}"
        )
    return "\n".join(lines)


def _look_around(result: DemoResult) -> list[str]:
    """Commands to explore a kept lab, or how to keep one."""
    where = shlex.quote(result.dir)
    if not result.kept:
        return ["The lab is gone. To look around afterwards, run: snapmigrate lab demo --keep"]
    lines = [
        "The lab is still running. Look around:",
        f'  eval "$(snapmigrate lab env --dir {where})"',
    ]
    if result.run_id:
        lines.append(
            f"  snapmigrate status {result.run_id} --state-dir {shlex.quote(result.state_dir)}"
        )
    if result.source and result.created is not None:
        lines.append(f"  snapmigrate verify --source {result.source} --target {result.target}")
    lines += [
        f"  snapmigrate lab load --dir {where} --duration 10",
        f"  snapmigrate lab down --dir {where}",
    ]
    return lines


def load_table(report: LoadReport) -> str:
    """What a load saw: commits, errors, how long writes were unavailable, where the ids are."""
    t, r, o = report.target, report.result, report.options
    until = {"duration": "its duration", "interrupted": "Ctrl-C", "stopped": "a stop signal"}.get(
        report.stopped_by, report.stopped_by
    )
    lines = [
        f"Load on {t.endpoint.host}:{t.endpoint.port}/{t.database} as {t.endpoint.user} "
        f"(table {t.table}): {o.workers} worker(s) x {o.rate_per_worker:g}/s "
        f"for {r.elapsed_s:.1f} s, ended by {until}",
        format_table(
            ["WHAT", "VALUE"],
            [
                ("committed", f"{len(r.committed):,} ({report.rate:.1f}/s)"),
                (
                    "in doubt",
                    f"{len(r.in_doubt):,}"
                    + (
                        " (COMMIT sent, answer lost: may or may not be there)" if r.in_doubt else ""
                    ),
                ),
                ("errors", f"{r.errors:,}"),
                ("longest unavailability", f"{r.longest_unavailability_s:.3f} s"),
                ("unavailability windows", str(len(r.windows))),
                (
                    "ids file",
                    f"{report.ids_file} ({len(r.committed):,} ids)"
                    if report.ids_file
                    else "- (no --ids-file)",
                ),
            ],
        ),
    ]
    if r.windows:
        rows = [
            (f"+{at:.1f} s", f"{w.seconds:.3f}", str(w.errors))
            for w, at in zip(r.windows, report.window_offsets_s, strict=False)
        ]
        lines += [
            heading("Windows without a commit (errors seen)"),
            format_table(["AT", "SECONDS", "ERRORS"], rows),
        ]
    if r.error_samples:
        lines += [heading("Errors (samples)"), *(f"  {e}" for e in r.error_samples)]
    if report.ids_file:
        lines.append(
            f"\nCheck later: snapmigrate lab load --check --ids-file {shlex.quote(report.ids_file)}"
            + (f" --name {t.endpoint.host}" if t.endpoint.host else "")
        )
    return "\n".join(lines)


def check_table(report: CheckReport) -> str:
    """Which committed ids the database behind the name holds now."""
    t, c = report.target, report.check
    lines = [
        f"Check of {c.committed:,} ids from {report.ids_file} "
        f"on {t.endpoint.host}:{t.endpoint.port}/{t.database} "
        f"(now leads to {report.dials}), table {t.table}",
        format_table(["WHAT", "COUNT"], [("present", f"{c.present:,}"), ("lost", f"{c.lost:,}")]),
    ]
    if report.table_missing:
        lines.append(f"\nThe table {t.table} does not exist on the database the name reaches now.")
    if c.lost:
        sample = ", ".join(str(i) for i in c.missing[:5]) + (", ..." if c.lost > 5 else "")
        lines.append(f"\nLOST {c.lost:,} of {c.committed:,} committed ids (e.g. {sample}).")
    else:
        lines.append(f"\nAll {c.committed:,} committed ids are there.")
    return "\n".join(lines)
