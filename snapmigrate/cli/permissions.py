"""``snapmigrate permissions``: the least-privilege IAM policy for the commands you run."""

from __future__ import annotations

import json

import click

from snapmigrate.cli import app_context, emit, global_options


@click.command(short_help="Print the least-privilege IAM policy snapmigrate needs.")
@click.option(
    "--command",
    "commands",
    multiple=True,
    type=click.Choice(["plan", "migrate", "cleanup", "cutover", "rollback", "verify"]),
    help="Only what these commands need (repeatable; default: all).",
)
@global_options
def permissions(commands: tuple[str, ...]) -> None:
    """Print the IAM actions each step needs and the policy document that
    grants exactly those (with -o json: the policy document alone, ready for
    'aws iam create-policy --policy-document file://...')."""
    from snapmigrate import permissions as perms
    from snapmigrate.report import format_table

    app = app_context()
    wanted = commands or perms.COMMANDS
    document = perms.policy(wanted)

    def text() -> str:
        rows = [(g.command, g.part, ", ".join(g.actions)) for g in perms.grants(wanted)]
        return (
            format_table(["COMMAND", "STEP", "IAM ACTIONS"], rows)
            + "\n\nPolicy document:\n"
            + json.dumps(document, indent=2)
        )

    emit(app, document, text)
