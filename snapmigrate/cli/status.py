"""``snapmigrate status [RUN_ID]``: a run's journal, or the runs."""

from __future__ import annotations

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import state_dir_option
from snapmigrate.report import clone as clone_report
from snapmigrate.report import run as run_report


@click.command(short_help="Show a run's journal, or list the runs.")
@click.argument("run_id", required=False)
@state_dir_option
@global_options
def status(run_id: str | None, state_dir: str | None) -> None:
    """Show the journal of RUN_ID (its steps, times, AWS ids, outcome), or,
    without RUN_ID, list the runs in --state-dir -- and the clones made from
    there ('snapmigrate clone'). Reads the journals only -- but a run with
    --catch-up logical is measured (lag, the source's WAL its slots hold), and
    its catch-up is ended past --max-retained-wal-gb."""
    app = app_context()
    configure_logging(app)
    config = app.config(state_dir)
    found = commands.status(config, run_id)
    if not isinstance(found, list):
        emit(app, run_report.status_dict(found), lambda: clone_report.any_run_table(found))
        return
    where = str(config.journal().directory)
    clones = commands.clone_runs(config)
    data = {**run_report.runs_dict(found, where), **clone_report.runs_dict(clones)}

    def text() -> str:
        shown = run_report.runs_table(found, where)
        return shown + ("\n\n" + clone_report.runs_table(clones) if clones else "")

    emit(app, data, text)
