"""``snapmigrate iac RUN_ID --format terraform|cloudformation``: the cluster a run left,
as code to adopt without replacing it."""

from __future__ import annotations

from pathlib import Path

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, global_options
from snapmigrate.cli.options import state_dir_option
from snapmigrate.report import iac as iac_report


@click.command(short_help="The cluster a run left, as Terraform or CloudFormation to adopt.")
@click.argument("run_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terraform", "cloudformation"]),
    required=True,
    help="terraform: HCL with import blocks; cloudformation: a template for resource import.",
)
@click.option(
    "--notes",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the steps to adopt the code here (default: stderr).",
)
@state_dir_option
@global_options
def iac(run_id: str, fmt: str, notes: str | None, state_dir: str | None) -> None:
    """Print the cluster run RUN_ID left (in place or by snapshot), read from AWS, as
    code that adopts it without replacing it: Terraform resources with import blocks
    (and the 'terraform state rm' commands for the old resources, as comments), or a
    CloudFormation template with DeletionPolicy Retain (its import steps on stderr or
    in --notes). Changes nothing. Exit 0, or 2 on bad input (a run not done)."""
    app = app_context()
    configure_logging(app)
    cluster = commands.iac(app.config(state_dir), run_id, fmt)
    if fmt == "terraform":
        code, steps = iac_report.terraform(cluster), iac_report.TERRAFORM_STEPS
    else:
        code, steps = iac_report.cloudformation(cluster)
    click.echo(code, nl=False)
    if notes:
        Path(notes).write_text(steps, encoding="utf-8")
        click.echo(f"the steps to adopt it are in {notes}", err=True)
    else:
        click.echo(steps, err=True, nl=False)
