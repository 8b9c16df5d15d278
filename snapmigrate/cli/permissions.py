"""``snapmigrate permissions``: the least-privilege IAM policy for the commands you run."""

from __future__ import annotations

import json

import click

from snapmigrate import commands as run
from snapmigrate.cli import app_context, emit, global_options
from snapmigrate.permissions import COMMANDS
from snapmigrate.report import format_table


@click.command(short_help="Print the least-privilege IAM policy snapmigrate needs.")
@click.option(
    "--command",
    "commands",
    multiple=True,
    type=click.Choice(COMMANDS),
    help="Only what these commands need (repeatable; default: all).",
)
@global_options
def permissions(commands: tuple[str, ...]) -> None:
    """Print the IAM actions each step needs and the policy document that
    grants exactly those (with -o json: the policy document alone, ready for
    'aws iam create-policy --policy-document file://...')."""
    app = app_context()
    policy = run.permissions(commands or COMMANDS)

    def text() -> str:
        rows = [(g.command, g.part, ", ".join(g.actions)) for g in policy.grants]
        return (
            format_table(["COMMAND", "STEP", "IAM ACTIONS"], rows)
            + "\n\nPolicy document:\n"
            + json.dumps(policy.document, indent=2)
        )

    emit(app, policy.document, text)
