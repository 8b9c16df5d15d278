"""``snapmigrate drill run|heartbeat|history``: disaster-recovery rehearsals.
Thin: parse, call one command of :mod:`snapmigrate.commands.drill`, render with
:mod:`snapmigrate.report.drill`."""

from __future__ import annotations

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import state_dir_option, terminal_asker, yes_option
from snapmigrate.commands import CloneSettings
from snapmigrate.errors import EXIT_BLOCKED, BadInput
from snapmigrate.report import drill as rendering


@click.group(short_help="DR rehearsals: restore, measure RTO/RPO, check, tear down.")
@global_options
def drill() -> None:
    """Disaster-recovery drills: restore SOURCE's recovery point as a Serverless v2
    copy, measure RTO (until a canary transaction commits) and RPO (from metadata,
    and from a heartbeat table's newest row), check the data against the source,
    keep the evidence, delete the copy (disposable: no final snapshot).

    Exit 0 passed, 1 failed while running, 2 bad input (nothing changed), 3 a check
    failed or a target was missed, 130 interrupted (the copy is torn down).
    """


@drill.command(short_help="Run one drill (asks first), or --resume one.")
@click.argument("source", required=False)
@click.option(
    "--resume", metavar="ID", help="Finish drill ID whose process died (its own options)."
)
@click.option(
    "--from",
    "from_",
    default="latest-snapshot",
    show_default=True,
    metavar="latest-snapshot|snapshot:ID|pitr:latest|pitr:ISO8601",
    help="The recovery point to restore.",
)
@click.option("--rpo-target", metavar="DURATION", help="Miss it: exit 3 (e.g. 15m).")
@click.option("--rto-target", metavar="DURATION", help="Miss it: exit 3 (e.g. 30m).")
@click.option(
    "--check",
    default="schema,counts,checksum",
    show_default=True,
    metavar="schema,counts,checksum,sql:FILE",
    help="What to check on the copy against the source.",
)
@click.option("--heartbeat", metavar="TABLE", help="The heartbeat table (schema.table).")
@click.option(
    "--database", default="postgres", show_default=True, help="Where the heartbeat, the "
    "canary and sql:FILE checks run.",
)  # fmt: skip
@click.option(
    "--inject",
    type=click.Choice(["corrupt-row", "missing-table", "stale-snapshot"]),
    help="Damage the copy (never the source) so that the drill must fail.",
)
@click.option("--keep", metavar="DURATION", help="Keep the copy this long (then 'clone gc').")
@click.option(
    "--report", metavar="FILE.md|.html|.json", type=click.Path(dir_okay=False),
    help="Write the evidence report here.",
)  # fmt: skip
@click.option("--to-region", metavar="REGION", help="Restore in this region (a copy first).")
@click.option("--kms-key", metavar="KEY", help="The destination region's KMS key.")
@click.option(
    "--timeout-minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up waiting after this long, for every wait (default 8 h).",
)
@yes_option
@state_dir_option
@global_options
def run(
    source: str | None,
    resume: str | None,
    from_: str,
    rpo_target: str | None,
    rto_target: str | None,
    check: str,
    heartbeat: str | None,
    database: str,
    inject: str | None,
    keep: str | None,
    report: str | None,
    to_region: str | None,
    kms_key: str | None,
    timeout_minutes: float | None,
    yes: bool,
    state_dir: str | None,
) -> None:
    """Read the recovery point, declare t0, restore it as Serverless v2 with a writer,
    wait for a canary transaction (RTO), measure RPO, run the checks, write the
    evidence, tear the copy down (unless --keep)."""
    app = app_context()
    configure_logging(app)
    settings = CloneSettings(timeout_s=timeout_minutes * 60) if timeout_minutes else None
    if resume and source:
        raise BadInput("give SOURCE or --resume ID, not both: a resumed drill keeps its options")
    if resume:
        result = commands.drill_resume(app.config(state_dir), resume, settings=settings)
    elif not source:
        raise BadInput("give SOURCE (the cluster to drill) or --resume ID")
    else:
        result = commands.drill_run(
            app.config(state_dir),
            source,
            from_=from_,
            check=check,
            heartbeat=heartbeat,
            database=database,
            inject=inject,
            rpo_target=rpo_target,
            rto_target=rto_target,
            keep=keep,
            report=report,
            to_region=to_region,
            kms_key=kms_key,
            settings=settings,
            confirm=terminal_asker(yes, "drill run creates AWS resources and"),
        )
    if result.report_path:
        rendering.write_report(result.report_path, result)
    emit(app, result.to_dict(), lambda: rendering.table(result))
    if result.exit_code:
        click.get_current_context().exit(result.exit_code)


@drill.command(short_help="Write heartbeat rows into SOURCE.")
@click.argument("source")
@click.option(
    "--table", metavar="TABLE", help="schema.table (default public.snapmigrate_heartbeat)."
)
@click.option("--database", default="postgres", show_default=True)
@click.option("--every", default="5s", show_default=True, metavar="DURATION")
@click.option("--duration", metavar="DURATION", help="Stop after this long (default: Ctrl-C).")
@state_dir_option
@global_options
def heartbeat(
    source: str,
    table: str | None,
    database: str,
    every: str,
    duration: str | None,
    state_dir: str | None,
) -> None:
    """A beat every --every: the time and SOURCE's per-table write counters."""
    app = app_context()
    configure_logging(app)
    result = commands.drill_heartbeat(
        app.config(state_dir), source, table=table, database=database, every=every,
        duration=duration,
    )  # fmt: skip
    emit(app, result.to_dict(), lambda: "\n".join(f"{k}: {v}" for k, v in result.to_dict().items()))


@drill.command(short_help="Past drills, with RTO/RPO trends.")
@click.option("--source", metavar="SOURCE", help="Only drills of this cluster.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Write an HTML report.")
@state_dir_option
@global_options
def history(source: str | None, html_file: str | None, state_dir: str | None) -> None:
    """The drills in the evidence file (<state-dir>/drills/evidence.jsonl), oldest first."""
    app = app_context()
    configure_logging(app)
    drills = commands.drill_history(app.config(state_dir), source)
    if html_file:
        rendering.write_history(html_file, drills)
    emit(app, {"drills": drills}, lambda: rendering.history_table(drills))


@drill.command(short_help="Readiness for a recovery, without restoring anything.")
@click.argument("source")
@click.option("--to-region", metavar="REGION", help="The DR region: copies there, its key.")
@click.option("--kms-key", metavar="KEY", help="The DR region's KMS key (encrypted sources).")
@state_dir_option
@global_options
def audit(source: str, to_region: str | None, kms_key: str | None, state_dir: str | None) -> None:
    """Backup retention, newest automated and manual snapshots, copies in the DR
    region and their age, its KMS key, snapshot and copy quotas, deletion protection.
    Creates nothing. Exit 0, or 4 when a finding blocks a recovery (as plan)."""
    app = app_context()
    configure_logging(app)
    result = commands.drill_audit(
        app.config(state_dir), source, to_region=to_region, kms_key=kms_key
    )
    emit(app, result.to_dict(), lambda: rendering.audit_table(result))
    if result.blocked:
        click.get_current_context().exit(EXIT_BLOCKED)
