"""``snapmigrate permissions``: the least-privilege IAM policy for the commands you run."""

from __future__ import annotations

import json

import click

from snapmigrate import commands as run
from snapmigrate.cli import app_context, emit, global_options
from snapmigrate.permissions import CHOICES, COMMANDS
from snapmigrate.report import format_table


@click.command(short_help="Print the least-privilege IAM policy snapmigrate needs.")
@click.option(
    "--command",
    "commands",
    multiple=True,
    type=click.Choice(CHOICES),
    help=(
        "Only what these commands need (repeatable; default: all but in-place, which "
        "changes the source: name it, or give an in-place --plan-file)."
    ),
)
@click.option("--source", help="Name the source cluster in the policy.")
@click.option("--target", help="Name the target cluster (and its instances) in the policy.")
@click.option("--dns-zone-id", help="Name the Route 53 hosted zone of a DNS cutover.")
@click.option("--kms-key-id", help="Name the KMS key (id or ARN) the restore uses.")
@click.option("--iam-auth", is_flag=True, help="Add rds-db:connect (IAM database auth).")
@click.option(
    "--plan-file",
    type=click.Path(dir_okay=False),
    help="Take every name (and the account and Region) from this plan.",
)
@global_options
def permissions(
    commands: tuple[str, ...],
    source: str | None,
    target: str | None,
    dns_zone_id: str | None,
    kms_key_id: str | None,
    iam_auth: bool,
    plan_file: str | None,
) -> None:
    """Print the IAM actions each step needs and the policy document that
    grants exactly those (with -o json: the policy document alone, ready for
    'aws iam create-policy --policy-document file://...'). Reads are granted on
    "*"; every action that changes something only on what it touches: the
    names given (or the plan's), else the tool's naming patterns and its
    snapmigrate:run-id tag. Reads no AWS.
    """
    app = app_context()
    names = run.PolicyNames(source, target, dns_zone_id, kms_key_id, iam_auth, plan_file)
    policy = run.permissions(app.config(), commands or COMMANDS, names)

    def text() -> str:
        rows = [(g.command, g.part, ", ".join(g.actions)) for g in policy.grants]
        wider = "".join(f"\n  - {note}" for note in policy.notes)
        return (
            format_table(["COMMAND", "STEP", "IAM ACTIONS"], rows)
            + (f"\n\nWider than it would be with names:{wider}" if wider else "")
            + "\n\nPolicy document:\n"
            + json.dumps(policy.document, indent=2)
        )

    emit(app, policy.document, text)
