"""``snapmigrate lab knobs``: show or change a running lab's realism knobs and
make its next calls of an AWS action fail."""

from __future__ import annotations

from typing import Any

import click

from snapmigrate.cli import app_context, emit, global_options
from snapmigrate.errors import BadInput
from snapmigrate_lab.cli.options import dir_option, knob_options, knob_values


@click.command(short_help="Show or change the realism knobs of a running lab.")
@dir_option
@knob_options
@click.option("--reset", is_flag=True, help="Back to the knobs the lab started with.")
@click.option(
    "--fail",
    "fail",
    metavar="ACTION[:CODE]",
    multiple=True,
    help="Make the next ACTION call fail (repeatable).",
)
@click.option(
    "--fail-into",
    "fail_into",
    metavar="ACTION:STATE",
    multiple=True,
    help="Let the next ACTION (a cluster restore or create, CreateDBInstance) end in failure "
    "STATE, e.g. RestoreDBClusterFromSnapshot:migration-failed (repeatable).",
)
@global_options
def knobs(
    directory: str, reset: bool, fail: tuple[str, ...], fail_into: tuple[str, ...], **kwargs: Any
) -> None:
    """Show the knobs; with options, change them first (the others stay)."""
    from snapmigrate_lab import Lab, report

    app = app_context()
    target = Lab(directory)
    current = target.reset_knobs() if reset else target.knobs()
    changes = knob_values(kwargs)
    if changes:
        current = target.set_knobs(**changes)
    for item in fail:
        action, _, code = item.partition(":")
        current = target.fail_once(action, code or "InternalFailure")
    for item in fail_into:
        action, _, state = item.partition(":")
        if not state:
            raise BadInput(
                f"--fail-into {item}: give ACTION:STATE, e.g. "
                "RestoreDBClusterFromSnapshot:migration-failed"
            )
        current = target.fail_once(action, state=state)
    emit(app, current.to_dict(), lambda: report.knobs_table(current))
