"""``snapmigrate cleanup RUN_ID``: delete what a run created (by its tags), nothing else."""

from __future__ import annotations

import sys

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cli.migrate import state_dir_option


@click.command(short_help="Delete what a run created: instances, cluster, snapshot (by tag).")
@click.argument("run_id")
@click.option("--keep-snapshot", is_flag=True, help="Keep the run's snapshot.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@click.option("--timeout-minutes", type=click.FloatRange(min=0, min_open=True), help="Give up waiting for deletions after this long.")
@state_dir_option
@global_options
def cleanup(run_id: str, keep_snapshot: bool, yes: bool, timeout_minutes: float | None, state_dir: str | None) -> None:
    """Delete the instances, the cluster (no final snapshot) and the snapshot
    that run RUN_ID created -- only resources carrying its snapmigrate:run-id
    tag; a planned name held by anything else stops it before any deletion.
    The source is never touched. For clones and rehearsals, or to start over.
    """
    from snapmigrate.errors import BadInput
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.report import run as run_report
    from snapmigrate.waiting import progress_for
    from snapmigrate.workflow.journal import Journal, check_run_id

    app = app_context()
    configure_logging(app)
    journal = Journal(state_dir)
    record = journal.load(check_run_id(run_id))
    if not yes:
        if not sys.stdin.isatty():
            raise BadInput("cleanup deletes AWS resources and asks first, but there is no terminal to ask on: pass --yes; nothing was changed")
        keep = " (keeping its snapshot)" if keep_snapshot else " and its snapshot"
        if not click.confirm(f"Delete {record.target}, its instances{keep}, created by run {run_id}?", default=False, err=True):
            raise BadInput("not cleaned: nothing was changed")
    timeouts = {"cleanup": timeout_minutes * 60} if timeout_minutes else {}
    runner = Runner(app.clients(), journal, settings=RunSettings(connect=False, timeouts=timeouts), progress=progress_for(quiet=app.quiet))
    result = runner.cleanup(run_id, keep_snapshot=keep_snapshot)
    emit(app, result.to_dict(), lambda: run_report.cleanup_table(result))
