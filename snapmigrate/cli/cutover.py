"""``snapmigrate cutover RUN_ID`` (and ``--prepare``) and ``snapmigrate rollback RUN_ID``."""

from __future__ import annotations

import click

from snapmigrate import commands
from snapmigrate.cli import AppContext, app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import state_dir_option, terminal_asker, yes_option
from snapmigrate.cutover import CutoverOptions, CutoverResult
from snapmigrate.cutover.swap import MODES
from snapmigrate.report import cutover as cutover_report


def _report_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--report",
        type=click.Path(dir_okay=False),
        help="Also write the report here (.md or .json).",
    )(f)


def _finish(app: AppContext, result: CutoverResult, report: str | None) -> None:
    data = result.to_dict()
    if report:
        cutover_report.write(data, report)
        click.echo(f"report written to {report}", err=True)
    emit(app, data, lambda: cutover_report.table(data))


@click.command(
    short_help="Freeze the source, verify, swap DNS or names, prove -- with automatic rollback."
)
@click.argument("run_id")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="Swap a Route 53 record, or rename clusters (default: the plan's).",
)
@click.option("--dns-zone-id", help="Hosted zone of the record clients use (--mode dns).")
@click.option("--dns-name", help="The record clients use (--mode dns).")
@click.option("--reader-dns-name", help="Also point this record at the target's reader endpoint.")
@click.option("--set-identifier", help="Which member of a weighted record set to swap.")
@click.option(
    "--verify",
    "verify_mode",
    type=click.Choice(["checksum", "counts"]),
    default="checksum",
    show_default=True,
    help="The final verification (counts is faster).",
)
@click.option(
    "--accept-drift",
    is_flag=True,
    help="Cut over even if the source changed after the snapshot (those writes are lost; "
    "recorded).",
)
@click.option(
    "--postpone-flag",
    type=click.Path(dir_okay=False),
    help="While this file exists, wait before freezing.",
)
@click.option(
    "--timeout",
    "timeout_min",
    type=click.FloatRange(min=0, min_open=True),
    help="Minutes after the freeze before rolling back (default 10; rename: 15, room for "
    "the proof window).",
)
@click.option(
    "--prove-timeout",
    "prove_min",
    type=click.FloatRange(min=0, min_open=True),
    help="Minutes the name clients use may take to reach the target (default: dns 2, or the "
    "record's TTL + 30 s; rename 10: new cluster names take minutes to resolve).",
)
@click.option(
    "--long-transaction-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Guardrail: no source transaction open longer than this.",
)
@click.option(
    "--prepare",
    is_flag=True,
    help="Only lower the record's TTL (--ttl) and wait one old TTL; change nothing else.",
)
@click.option(
    "--ttl",
    type=click.IntRange(0, 86400),
    default=5,
    show_default=True,
    help="The TTL --prepare sets.",
)
@_report_option
@yes_option
@state_dir_option
@global_options
def cutover(
    run_id: str,
    mode: str | None,
    dns_zone_id: str | None,
    dns_name: str | None,
    reader_dns_name: str | None,
    set_identifier: str | None,
    verify_mode: str,
    accept_drift: bool,
    postpone_flag: str | None,
    timeout_min: float | None,
    prove_min: float | None,
    long_transaction_seconds: float,
    prepare: bool,
    ttl: int,
    report: str | None,
    yes: bool,
    state_dir: str | None,
) -> None:
    """Cut the clients of migration run RUN_ID over to its target: guardrails,
    freeze the source, check nothing was written since the snapshot, verify,
    swap (DNS record or cluster names), prove the name clients use reaches the
    target and takes writes. A failure or --timeout after the freeze rolls back.
    Re-running continues an interrupted cutover.

    Exit 0 cut over, 1 failed (rolled back), 2 bad input (nothing changed),
    3 the copy differs or is stale (rolled back), 4 a guardrail failed, 130 interrupted.
    """
    confirm = None if prepare else terminal_asker(yes, "cutover", now=True)
    app = app_context()
    configure_logging(app)
    if report:
        cutover_report.check_report_path(report)
    options = CutoverOptions(
        mode=mode or "",
        zone_id=dns_zone_id,
        record_name=dns_name,
        reader_record_name=reader_dns_name,
        set_identifier=set_identifier,
        verify_mode=verify_mode,
        accept_drift=accept_drift,
        postpone_flag=postpone_flag,
        timeout_s=timeout_min * 60 if timeout_min else None,
        long_transaction_s=long_transaction_seconds,
        prove_timeout_s=prove_min * 60 if prove_min else None,
    )
    config = app.config(state_dir)
    if prepare:
        done = commands.prepare(config, run_id, options, ttl)
        notes = "; ".join(done.notes)
        emit(
            app,
            done.to_dict(),
            lambda: f"{done.record}: TTL {done.old_ttl} s -> {done.new_ttl} s; {notes}",
        )
        return
    _finish(app, commands.cutover(config, run_id, options, confirm=confirm), report)


@click.command(short_help="Undo a cutover: swap back, unfreeze the source.")
@click.argument("run_id")
@_report_option
@yes_option
@state_dir_option
@global_options
def rollback(run_id: str, report: str | None, yes: bool, state_dir: str | None) -> None:
    """Undo the cutover of RUN_ID: point the DNS record back (or rename the
    clusters back) and unfreeze the source. Writes that landed on the new
    cluster since the cutover are counted and NOT copied back. Idempotent.
    Also lifts a freeze made by 'migrate --freeze-before-snapshot'.
    """
    confirm = terminal_asker(yes, "rollback", now=True)
    app = app_context()
    configure_logging(app)
    if report:
        cutover_report.check_report_path(report)
    _finish(app, commands.rollback(app.config(state_dir), run_id, confirm=confirm), report)
