"""``snapmigrate cleanup RUN_ID``: delete what a run created (by its tags), nothing else."""

from __future__ import annotations

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import state_dir_option, terminal_asker, yes_option
from snapmigrate.report import run as run_report


@click.command(short_help="Delete what a run created: instances, cluster, snapshot (by tag).")
@click.argument("run_id")
@click.option("--keep-snapshot", is_flag=True, help="Keep the run's snapshot.")
@click.option(
    "--skip-final-snapshot",
    is_flag=True,
    help="Delete the cluster without a final snapshot (default: take <cluster>-final-<run>).",
)
@yes_option
@click.option(
    "--timeout-minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up waiting for deletions after this long.",
)
@state_dir_option
@global_options
def cleanup(
    run_id: str,
    keep_snapshot: bool,
    skip_final_snapshot: bool,
    yes: bool,
    timeout_minutes: float | None,
    state_dir: str | None,
) -> None:
    """Delete the instances, the cluster and the snapshot that run RUN_ID
    created -- only resources carrying its snapmigrate:run-id tag; a planned
    name held by anything else stops it before any deletion. The cluster goes
    after a final snapshot (<cluster>-final-<run>) unless --skip-final-snapshot.
    A run that was cut over and not rolled back is refused (exit 2): its target
    is live. The source is never touched.
    """
    app = app_context()
    configure_logging(app)
    result = commands.cleanup(
        app.config(state_dir),
        run_id,
        keep_snapshot=keep_snapshot,
        skip_final_snapshot=skip_final_snapshot,
        timeout_minutes=timeout_minutes,
        confirm=terminal_asker(yes, "cleanup deletes AWS resources and"),
    )
    emit(app, result.to_dict(), lambda: run_report.cleanup_table(result))
