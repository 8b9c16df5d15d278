"""``snapmigrate cutover RUN_ID`` and ``snapmigrate rollback RUN_ID``."""

from __future__ import annotations

import sys
from typing import Any

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cli.migrate import state_dir_option
from snapmigrate.cutover.swap import MODES


def _asker(yes: bool, what: str) -> Any:
    """Ask on the terminal; without one, only --yes will do (checked before any change)."""
    from snapmigrate.errors import BadInput

    if yes:
        return None
    if not sys.stdin.isatty():
        raise BadInput(f"{what} asks first, but there is no terminal to ask on: pass --yes; nothing was changed")
    return lambda question: click.confirm(question, default=False, err=True)


def _runner(run_id: str, state_dir: str | None, report: str | None, confirm: Any) -> tuple[Any, Any]:
    """(the app context, a Cutover): the run id, connect map and report path checked first."""
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.cutover import Cutover
    from snapmigrate.report import cutover as cutover_report
    from snapmigrate.waiting import progress_for
    from snapmigrate.workflow.journal import Journal, check_run_id

    app = app_context()
    configure_logging(app)
    check_run_id(run_id)
    ConnectMap.load(app.connect_map)
    if report:
        cutover_report.check_report_path(report)
    return app, Cutover(app.clients(), Journal(state_dir), connect_map=app.connect_map,
                        progress=progress_for(quiet=app.quiet), confirm=confirm)


def _finish(app: Any, result: Any, report: str | None) -> None:
    from snapmigrate.report import cutover as cutover_report

    data = result.to_dict()
    if report:
        cutover_report.write(data, report)
        click.echo(f"report written to {report}", err=True)
    emit(app, data, lambda: cutover_report.table(data))


@click.command(short_help="Freeze the source, verify, swap DNS or names, prove -- with automatic rollback.")
@click.argument("run_id")
@click.option("--mode", type=click.Choice(MODES), help="Swap a Route 53 record, or rename clusters (default: the plan's).")
@click.option("--dns-zone-id", help="Hosted zone of the record clients use (--mode dns).")
@click.option("--dns-name", help="The record clients use (--mode dns).")
@click.option("--reader-dns-name", help="Also point this record at the target's reader endpoint.")
@click.option("--set-identifier", help="Which member of a weighted record set to swap.")
@click.option("--verify", "verify_mode", type=click.Choice(["checksum", "counts"]), default="checksum", show_default=True, help="The final verification (counts is faster).")
@click.option("--accept-drift", is_flag=True, help="Cut over even if the source changed after the snapshot (those writes are lost; recorded).")
@click.option("--postpone-flag", type=click.Path(dir_okay=False), help="While this file exists, wait before freezing.")
@click.option("--timeout", "timeout_min", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="Minutes after the freeze before rolling back.")
@click.option("--long-transaction-seconds", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True, help="Guardrail: no source transaction open longer than this.")
@click.option("--prepare", is_flag=True, help="Only lower the record's TTL (--ttl) and wait one old TTL; change nothing else.")
@click.option("--ttl", type=click.IntRange(0, 86400), default=5, show_default=True, help="The TTL --prepare sets.")
@click.option("--report", type=click.Path(dir_okay=False), help="Also write the report here (.md or .json).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@state_dir_option
@global_options
def cutover(run_id: str, mode: str | None, dns_zone_id: str | None, dns_name: str | None, reader_dns_name: str | None,
            set_identifier: str | None, verify_mode: str, accept_drift: bool, postpone_flag: str | None, timeout_min: float,
            long_transaction_seconds: float, prepare: bool, ttl: int, report: str | None, yes: bool, state_dir: str | None) -> None:
    """Cut the clients of migration run RUN_ID over to its target: guardrails,
    freeze the source, check nothing was written since the snapshot, verify,
    swap (DNS record or cluster names), prove the name clients use reaches the
    target and takes writes. A failure or --timeout after the freeze rolls back.
    Re-running continues an interrupted cutover.

    Exit 0 cut over, 1 failed (rolled back), 2 bad input (nothing changed),
    3 the copy differs or is stale (rolled back), 4 a guardrail failed, 130 interrupted.
    """
    from snapmigrate.cutover import CutoverOptions, prepare_dns

    app, runner = _runner(run_id, state_dir, report, None if prepare else _asker(yes, "cutover"))
    options = CutoverOptions(
        mode=mode or "", zone_id=dns_zone_id, record_name=dns_name, reader_record_name=reader_dns_name,
        set_identifier=set_identifier, verify_mode=verify_mode, accept_drift=accept_drift, postpone_flag=postpone_flag,
        timeout_s=timeout_min * 60, long_transaction_s=long_transaction_seconds,
    )
    if prepare:
        done = prepare_dns(runner, run_id, options, ttl)
        emit(app, done.to_dict(), lambda: f"{done.record}: TTL {done.old_ttl} s -> {done.new_ttl} s; " + "; ".join(done.notes))
        return
    _finish(app, runner.run(run_id, options), report)


@click.command(short_help="Undo a cutover: swap back, unfreeze the source.")
@click.argument("run_id")
@click.option("--report", type=click.Path(dir_okay=False), help="Also write the report here (.md or .json).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@state_dir_option
@global_options
def rollback(run_id: str, report: str | None, yes: bool, state_dir: str | None) -> None:
    """Undo the cutover of RUN_ID: point the DNS record back (or rename the
    clusters back) and unfreeze the source. Writes that landed on the new
    cluster since the cutover are counted and NOT copied back. Idempotent.
    Also lifts a freeze made by 'migrate --freeze-before-snapshot'.
    """
    app, runner = _runner(run_id, state_dir, report, _asker(yes, "rollback"))
    _finish(app, runner.rollback(run_id), report)
